// matmul_direct_forward: out (N, OC) = inp (N, C) @ weight (OC, C)^T + bias (OC), C a multiple of 4, both operands
// read straight from storage with vec4 loads: no workgroup staging and no barriers. One source for every launch
// shape, fixed by module constants (specializedPipeline): a workgroup of WX x WY invocations, each owning RB rows x
// 4 columns, so a workgroup covers (WY * RB) rows x (WX * 4) columns.
//   WX 16, WY 16, RB 4: 64 x 64 tiles, for many rows where the reduction is narrow enough to sit in cache;
//   WX 64, WY 1, RB 1..8: one row block of RB rows, a matrix-vector product for decode (the weight read once for
//   all rows, with no barrier inside the reduction, which an emulated GPU pays dearly for);
//   WX 16, WY 16, RB 1: 16-row tiles, for training and prefill rows that would fill a quarter of a 64-row tile.
// Reduction order, shared with matmul_forward and matmul_vector_forward so that an output row has the same bits
// whatever N and whichever kernel ran: C in chunks of 16 (the last one zero-padded), each chunk summed from 0
// by fma in k order, the chunk sums added in chunk order, then the bias added. f32 accumulation; WT is the
// weight type (the wrapper makes the f16 variant).
// Reads inp, weight, bias (when hasBias); writes out, or adds to it when accumulate (a residual stream).
alias WT = f32;
@group(0) @binding(0) var<storage, read_write> out: array<f32>;   // (N, OC)
@group(0) @binding(1) var<storage, read> inp: array<vec4<f32>>;   // (N, C/4)
@group(0) @binding(2) var<storage, read> weight: array<vec4<WT>>; // (OC, C/4)
@group(0) @binding(3) var<storage, read> bias: array<f32>;        // (OC), or a zero buffer when !hasBias
struct Params { N: u32, C: u32, OC: u32, hasBias: u32, accumulate: u32 }
@group(0) @binding(4) var<uniform> p: Params;

const WX = 16u; // invocations across columns
const WY = 16u; // invocations across rows
const RB = 4u;  // rows per invocation
const WG = 256u; // WX * WY

// Dispatch: (ceil(OC / (4 * WX)), ceil(N / (WY * RB))) workgroups of WG.
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) tid: u32) {
  // Invocation (tx, ty) owns rows ty + WY i and columns tx + WX j of the tile: neighbours read neighbouring rows
  // of the weight and write neighbouring columns.
  let tx = tid % WX;
  let ty = tid / WX;
  let row0 = wid.y * WY * RB + ty;
  let col0 = wid.x * WX * 4u + tx;
  if (row0 >= p.N || col0 >= p.OC) { return; }
  let C4 = p.C / 4u;
  // Out-of-range rows and columns read row 0 (always present) and are not written.
  var rows: array<u32, RB>;
  var cols: array<u32, 4>;
  for (var i = 0u; i < RB; i++) { rows[i] = select(0u, row0 + WY * i, row0 + WY * i < p.N) * C4; }
  for (var j = 0u; j < 4u; j++) { cols[j] = select(0u, col0 + WX * j, col0 + WX * j < p.OC) * C4; }
  var total: array<vec4<f32>, RB>; // total[i][j] for row i, column j
  for (var k0 = 0u; k0 < C4; k0 += 4u) {
    // This 16-wide chunk's sums, from 0 (explicitly: SwiftShader keeps a loop-scoped var's value across iterations).
    var chunk = array<vec4<f32>, RB>();
    for (var g = 0u; g < 4u; g++) {
      let k4 = k0 + g;
      var w0 = vec4(0.0);
      var w1 = vec4(0.0);
      var w2 = vec4(0.0);
      var w3 = vec4(0.0);
      if (k4 < C4) {
        w0 = vec4<f32>(weight[cols[0] + k4]);
        w1 = vec4<f32>(weight[cols[1] + k4]);
        w2 = vec4<f32>(weight[cols[2] + k4]);
        w3 = vec4<f32>(weight[cols[3] + k4]);
      }
      // Each k of the 4 in order: the weights of the 4 columns at k, against each row's input at k.
      let wx = vec4(w0.x, w1.x, w2.x, w3.x);
      let wy = vec4(w0.y, w1.y, w2.y, w3.y);
      let wz = vec4(w0.z, w1.z, w2.z, w3.z);
      let ww = vec4(w0.w, w1.w, w2.w, w3.w);
      for (var i = 0u; i < RB; i++) {
        var a = vec4(0.0);
        if (k4 < C4) { a = inp[rows[i] + k4]; }
        var s = chunk[i];
        s = fma(vec4(a.x), wx, s);
        s = fma(vec4(a.y), wy, s);
        s = fma(vec4(a.z), wz, s);
        s = fma(vec4(a.w), ww, s);
        chunk[i] = s;
      }
    }
    for (var i = 0u; i < RB; i++) { total[i] += chunk[i]; }
  }
  for (var i = 0u; i < RB; i++) {
    let n = row0 + WY * i;
    for (var j = 0u; j < 4u; j++) {
      let o = col0 + WX * j;
      if (n < p.N && o < p.OC) {
        var v = total[i][j];
        if (p.hasBias == 1u) { v += bias[o]; }
        if (p.accumulate == 1u) { v += out[n * p.OC + o]; }
        out[n * p.OC + o] = v;
      }
    }
  }
}
