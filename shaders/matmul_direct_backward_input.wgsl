// matmul_direct_backward_input: dinp += dout @ weight, the input gradient of out = inp @ weight^T + bias, for C and
// OC multiples of 4. Each invocation owns RB rows x 4 adjacent columns of dinp (one owner per element) and reads
// both operands straight from storage with vec4 loads, with no workgroup staging and no barriers (see
// matmul_direct_forward). One source for every launch shape, fixed by module constants (specializedPipeline): a
// workgroup of WX x WY invocations covers (WY * RB) rows x (WX * 4) columns. The weight is frozen and may be f16
// (the wrapper makes the variant from the WT alias).
// Reads dout, weight; accumulates into dinp. Dispatch: (ceil(C / (4 * WX)), ceil(N / (WY * RB))) workgroups of WG.
alias WT = f32;
@group(0) @binding(0) var<storage, read_write> dinp: array<vec4<f32>>; // (N, C/4)
@group(0) @binding(1) var<storage, read> dout: array<vec4<f32>>;       // (N, OC/4)
@group(0) @binding(2) var<storage, read> weight: array<vec4<WT>>;      // (OC, C/4)
struct Params { N: u32, C: u32, OC: u32 }
@group(0) @binding(3) var<uniform> p: Params;

const WX = 16u; // invocations across column quads
const WY = 16u; // invocations across rows
const RB = 4u;  // rows per invocation
const WG = 256u; // WX * WY

// The 4 weight rows 4 k4 .. 4 k4 + 3 at column quad `quad`: row g of the weight is column g of the result.
fn weightsAt(k4: u32, quad: u32, C4: u32) -> mat4x4<f32> {
  let k = k4 * 4u;
  return mat4x4(vec4<f32>(weight[k * C4 + quad]), vec4<f32>(weight[(k + 1u) * C4 + quad]), vec4<f32>(weight[(k + 2u) * C4 + quad]), vec4<f32>(weight[(k + 3u) * C4 + quad]));
}

// One row's 4 column sums carried over the 4 k of one vec4 of dout, in k order.
fn fmaRow(sum: vec4<f32>, d: vec4<f32>, w: mat4x4<f32>) -> vec4<f32> {
  var s = fma(vec4(d.x), w[0], sum);
  s = fma(vec4(d.y), w[1], s);
  s = fma(vec4(d.z), w[2], s);
  return fma(vec4(d.w), w[3], s);
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  // Invocation (tx, ty) owns rows ty + WY i and the 4 columns of quad tx: neighbours touch neighbouring quads.
  let tx = lid % WX;
  let ty = lid / WX;
  let C4 = p.C / 4u;
  let OC4 = p.OC / 4u;
  let quad = wid.x * WX + tx;
  let row0 = wid.y * WY * RB + ty;
  if (quad >= C4 || row0 >= p.N) { return; }
  // Out-of-range rows read row 0 (always present) and are not written.
  let rowOf = row0 + WY * vec4(0u, 1u, 2u, 3u);
  if (RB == 4u) {
    // Four rows take a straight-line path with every sum in registers (an emulated GPU spills a private array
    // indexed in a loop to memory).
    let rows = select(vec4(0u), rowOf, rowOf < vec4(p.N)) * OC4;
    var acc = mat4x4<f32>();
    for (var k4 = 0u; k4 < OC4; k4++) {
      let w = weightsAt(k4, quad, C4);
      acc = mat4x4(fmaRow(acc[0], dout[rows.x + k4], w), fmaRow(acc[1], dout[rows.y + k4], w), fmaRow(acc[2], dout[rows.z + k4], w), fmaRow(acc[3], dout[rows.w + k4], w));
    }
    for (var i = 0u; i < 4u; i++) {
      if (rowOf[i] < p.N) { dinp[rowOf[i] * C4 + quad] += acc[i]; }
    }
    return;
  }
  var rows: array<u32, RB>;
  for (var i = 0u; i < RB; i++) { rows[i] = select(0u, row0 + WY * i, row0 + WY * i < p.N) * OC4; }
  var acc: array<vec4<f32>, RB>;
  for (var k4 = 0u; k4 < OC4; k4++) {
    let w = weightsAt(k4, quad, C4);
    for (var i = 0u; i < RB; i++) { acc[i] = fmaRow(acc[i], dout[rows[i] + k4], w); }
  }
  for (var i = 0u; i < RB; i++) {
    let n = row0 + WY * i;
    if (n < p.N) { dinp[n * C4 + quad] += acc[i]; }
  }
}
