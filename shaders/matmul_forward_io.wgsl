// matmul_forward_io: the bindings of the row-major forward matmuls (direct, vector and subgroup; their wrapper
// appends this file to each, as WGSL has no includes and module-scope declarations may come in any order) and
// the 4-column weight and sum helpers of the direct and subgroup kernels.
alias WT = f32;
@group(0) @binding(0) var<storage, read_write> out: array<f32>;   // (N, OC)
@group(0) @binding(1) var<storage, read> inp: array<vec4<f32>>;   // (N, C/4)
@group(0) @binding(2) var<storage, read> weight: array<vec4<WT>>; // (OC, C/4)
@group(0) @binding(3) var<storage, read> bias: array<f32>;        // (OC), or a zero buffer when !hasBias
struct Params { N: u32, C: u32, OC: u32, hasBias: u32, accumulate: u32 }
@group(0) @binding(4) var<uniform> p: Params;

// The weights of 4 columns at vec4 k4 of C, transposed: column g holds the 4 columns' weights at k = 4 k4 + g.
fn weightsAt(k4: u32, cols: vec4<u32>) -> mat4x4<f32> {
  let w0 = vec4<f32>(weight[cols.x + k4]);
  let w1 = vec4<f32>(weight[cols.y + k4]);
  let w2 = vec4<f32>(weight[cols.z + k4]);
  let w3 = vec4<f32>(weight[cols.w + k4]);
  return mat4x4(vec4(w0.x, w1.x, w2.x, w3.x), vec4(w0.y, w1.y, w2.y, w3.y), vec4(w0.z, w1.z, w2.z, w3.z), vec4(w0.w, w1.w, w2.w, w3.w));
}

// One row's 4 column sums carried over the 4 k of one vec4 of input, in k order.
fn fmaRow(sum: vec4<f32>, a: vec4<f32>, w: mat4x4<f32>) -> vec4<f32> {
  var s = fma(vec4(a.x), w[0], sum);
  s = fma(vec4(a.y), w[1], s);
  s = fma(vec4(a.z), w[2], s);
  return fma(vec4(a.w), w[3], s);
}
