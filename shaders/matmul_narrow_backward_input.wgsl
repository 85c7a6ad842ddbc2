// matmul_narrow_backward_input: dinp += dout @ weight, the input gradient of out = inp @ weight^T + bias, for C
// and OC multiples of 4 and a narrow reduction over OC (at most NARROW_MAX_C in the wrapper). Each invocation
// owns 4 rows x 4 adjacent columns of dinp (one owner per element) and reads both operands straight from storage
// with vec4 loads, with no workgroup staging and no barriers (see matmul_narrow_forward). The weight is frozen
// and may be f16 (the wrapper makes the variant from the WT alias).
// Reads dout, weight; accumulates into dinp. Dispatch: (ceil(C / 64), ceil(N / 64)) workgroups of 256.
alias WT = f32;
@group(0) @binding(0) var<storage, read_write> dinp: array<vec4<f32>>; // (N, C/4)
@group(0) @binding(1) var<storage, read> dout: array<vec4<f32>>;       // (N, OC/4)
@group(0) @binding(2) var<storage, read> weight: array<vec4<WT>>;      // (OC, C/4)
struct Params { N: u32, C: u32, OC: u32 }
@group(0) @binding(3) var<uniform> p: Params;

const TILE = 64u;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  // Invocation (tx, ty) owns rows ty + 16i and the 4 columns of quad tx: neighbours touch neighbouring quads.
  let tx = lid % 16u;
  let ty = lid / 16u;
  let C4 = p.C / 4u;
  let OC4 = p.OC / 4u;
  let quad = wid.x * 16u + tx;
  let row0 = wid.y * TILE + ty;
  if (quad >= C4 || row0 >= p.N) { return; }
  // Out-of-range rows read row 0 (always present) and are not written.
  var rows: array<u32, 4>;
  for (var i = 0u; i < 4u; i++) { rows[i] = select(0u, row0 + 16u * i, row0 + 16u * i < p.N) * OC4; }
  var acc: array<vec4<f32>, 4>;
  for (var k4 = 0u; k4 < OC4; k4++) {
    let k = k4 * 4u;
    let w0 = vec4<f32>(weight[k * C4 + quad]);
    let w1 = vec4<f32>(weight[(k + 1u) * C4 + quad]);
    let w2 = vec4<f32>(weight[(k + 2u) * C4 + quad]);
    let w3 = vec4<f32>(weight[(k + 3u) * C4 + quad]);
    for (var i = 0u; i < 4u; i++) {
      let d = dout[rows[i] + k4];
      var s = acc[i];
      s = fma(vec4(d.x), w0, s);
      s = fma(vec4(d.y), w1, s);
      s = fma(vec4(d.z), w2, s);
      s = fma(vec4(d.w), w3, s);
      acc[i] = s;
    }
  }
  for (var i = 0u; i < 4u; i++) {
    let n = row0 + 16u * i;
    if (n < p.N) { dinp[n * C4 + quad] += acc[i]; }
  }
}
