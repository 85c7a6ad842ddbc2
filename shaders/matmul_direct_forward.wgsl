// matmul_direct_forward: out (N, OC) = inp (N, C) @ weight (OC, C)^T + bias (OC), C a multiple of 4, both operands
// read straight from storage with vec4 loads: no workgroup staging and no barriers. One source for every launch
// shape, fixed by module constants (specializedPipeline): a workgroup of WX x WY invocations, each owning RB rows x
// 4 columns, so a workgroup covers (WY * RB) rows x (WX * 4) columns.
//   WX 16, WY 16, RB 4: 64 x 64 tiles, for many rows where the reduction is narrow enough to sit in cache;
//   WX 64, WY 1, RB 1..8: one row block of RB rows, a matrix-vector product for decode (the weight read once for
//   all rows, with no barrier inside the reduction, which an emulated GPU pays dearly for);
//   WX 16, WY 16, RB 1: 16-row tiles, for training and prefill rows that would fill a quarter of a 64-row tile.
// One row and four rows per invocation take straight-line paths that keep every sum in registers (an emulated
// GPU spills a private array that is indexed in a loop to memory); other row counts take the general loop.
// Reduction order, shared with matmul_forward and matmul_vector_forward so that an output row has the same bits
// whatever N and whichever kernel ran: C in chunks of 16 (the last one zero-padded), each chunk summed from 0
// by fma in k order, the chunk sums added in chunk order, then the bias added. f32 accumulation; WT is the
// weight type (the wrapper makes the f16 variant).
// Reads inp, weight, bias (when hasBias); writes out, or adds to it when accumulate (a residual stream).
// The bindings (and weightsAt, fmaRow) are matmul_forward_io.wgsl's, appended by the wrapper.

const WX = 16u; // invocations across columns
const WY = 16u; // invocations across rows
const RB = 4u;  // rows per invocation
const WG = 256u; // WX * WY

// Chunk sums of one row (row: its offset in inp), then of 4 rows (a column of sums each): vec4s k4 .. k4 + n - 1.
fn chunk1(row: u32, k4: u32, n: u32, cols: vec4<u32>) -> vec4<f32> {
  var s = vec4(0.0);
  for (var g = 0u; g < n; g++) { s = fmaRow(s, inp[row + k4 + g], weightsAt(k4 + g, cols)); }
  return s;
}

fn chunk4(rows: vec4<u32>, k4: u32, n: u32, cols: vec4<u32>) -> mat4x4<f32> {
  var s = mat4x4<f32>();
  for (var g = 0u; g < n; g++) {
    let k = k4 + g;
    let w = weightsAt(k, cols);
    s = mat4x4(fmaRow(s[0], inp[rows.x + k], w), fmaRow(s[1], inp[rows.y + k], w), fmaRow(s[2], inp[rows.z + k], w), fmaRow(s[3], inp[rows.w + k], w));
  }
  return s;
}

// Writes row n's sums of the 4 columns col0 + WX j that exist (the bias and the residual added).
fn store(n: u32, col0: u32, sums: vec4<f32>) {
  if (n >= p.N) { return; }
  for (var j = 0u; j < 4u; j++) {
    let o = col0 + WX * j;
    if (o < p.OC) {
      var v = sums[j];
      if (p.hasBias == 1u) { v += bias[o]; }
      if (p.accumulate == 1u) { v += out[n * p.OC + o]; }
      out[n * p.OC + o] = v;
    }
  }
}

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
  let colIds = col0 + WX * vec4(0u, 1u, 2u, 3u);
  let cols = select(vec4(0u), colIds, colIds < vec4(p.OC)) * C4;
  let rowOf = (row0 + WY * vec4(0u, 1u, 2u, 3u));
  // C in 16-wide chunks (4 vec4s), the last one shorter; each chunk summed from 0, the sums added in order.
  if (RB == 1u) {
    var total = vec4(0.0);
    for (var k4 = 0u; k4 < C4; k4 += 4u) { total += chunk1(row0 * C4, k4, min(C4 - k4, 4u), cols); }
    store(row0, col0, total);
    return;
  }
  if (RB == 4u) {
    let rows = select(vec4(0u), rowOf, rowOf < vec4(p.N)) * C4;
    var total = mat4x4<f32>();
    for (var k4 = 0u; k4 < C4; k4 += 4u) { total += chunk4(rows, k4, min(C4 - k4, 4u), cols); }
    for (var i = 0u; i < 4u; i++) { store(rowOf[i], col0, total[i]); }
    return;
  }
  var rows: array<u32, RB>;
  for (var i = 0u; i < RB; i++) { rows[i] = select(0u, row0 + WY * i, row0 + WY * i < p.N) * C4; }
  var total: array<vec4<f32>, RB>;
  for (var k4 = 0u; k4 < C4; k4 += 4u) {
    // This chunk's sums, from 0 (explicitly: SwiftShader keeps a loop-scoped var's value across iterations).
    var chunk = array<vec4<f32>, RB>();
    for (var g = 0u; g < min(C4 - k4, 4u); g++) {
      let w = weightsAt(k4 + g, cols);
      for (var i = 0u; i < RB; i++) { chunk[i] = fmaRow(chunk[i], inp[rows[i] + k4 + g], w); }
    }
    for (var i = 0u; i < RB; i++) { total[i] += chunk[i]; }
  }
  for (var i = 0u; i < RB; i++) { store(row0 + WY * i, col0, total[i]); }
}
