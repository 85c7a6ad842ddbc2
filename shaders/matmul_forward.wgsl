// matmul_forward: out (N, OC) = inp (N, C) @ weight (OC, C)^T + bias (OC), tiled and register-blocked for
// many rows (prefill): each workgroup computes a 64 x 64 output tile, each invocation a 4 x 4 block.
// Reduction order, shared with matmul_vector_forward so that an output row has the same bits whatever N and
// whichever kernel ran: C in chunks of 16 (the last one zero-padded), each chunk summed from 0 by fma in k
// order, the chunk sums added in chunk order, then the bias added. f32 accumulation; WT is the weight type
// (the wrapper makes the f16 variant).
// Reads inp, weight, bias (when hasBias); writes out, or adds to it when accumulate (a residual stream).
alias WT = f32;
@group(0) @binding(0) var<storage, read_write> out: array<f32>; // (N, OC)
@group(0) @binding(1) var<storage, read> inp: array<f32>;       // (N, C)
@group(0) @binding(2) var<storage, read> weight: array<WT>;     // (OC, C)
@group(0) @binding(3) var<storage, read> bias: array<f32>;      // (OC), or a zero buffer when !hasBias
struct Params { N: u32, C: u32, OC: u32, hasBias: u32, accumulate: u32 }
@group(0) @binding(4) var<uniform> p: Params;

const TILE = 64u;
const KC = 16u;     // reduction chunk, staged in workgroup memory per step
const STRIDE = 65u; // padded tile row: the staging stores (k fastest) then hit distinct banks
var<workgroup> aTile: array<f32, 1040>; // [k][row of inp], KC x STRIDE
var<workgroup> wTile: array<f32, 1040>; // [k][row of weight], KC x STRIDE

// Dispatch: (ceil(OC / 64), ceil(N / 64)) workgroups of 256.
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) tid: u32) {
  let row0 = wid.y * TILE;
  let col0 = wid.x * TILE;
  // Invocation (tx, ty) owns rows ty + 16i and columns tx + 16j: neighbours read neighbouring columns.
  let tx = tid % 16u;
  let ty = tid / 16u;
  var total: array<vec4<f32>, 4>; // total[i][j] for row ty + 16i, column tx + 16j
  for (var k0 = 0u; k0 < p.C; k0 += KC) {
    // 256 invocations stage 64 x 16 values of each operand, 4 apiece, reading rows along k.
    for (var r = 0u; r < 4u; r++) {
      let e = tid + 256u * r;
      let kk = e % KC;
      let rr = e / KC;
      let k = k0 + kk;
      var a = 0.0;
      if (row0 + rr < p.N && k < p.C) { a = inp[(row0 + rr) * p.C + k]; }
      var w = 0.0;
      if (col0 + rr < p.OC && k < p.C) { w = f32(weight[(col0 + rr) * p.C + k]); }
      aTile[kk * STRIDE + rr] = a;
      wTile[kk * STRIDE + rr] = w;
    }
    workgroupBarrier();
    // This chunk's sums, from 0 (explicitly: SwiftShader keeps a loop-scoped var's value across iterations).
    var chunk = array<vec4<f32>, 4>();
    for (var kk = 0u; kk < KC; kk++) {
      let at = kk * STRIDE;
      let w = vec4(wTile[at + tx], wTile[at + tx + 16u], wTile[at + tx + 32u], wTile[at + tx + 48u]);
      for (var i = 0u; i < 4u; i++) {
        chunk[i] = fma(vec4(aTile[at + ty + 16u * i]), w, chunk[i]);
      }
    }
    for (var i = 0u; i < 4u; i++) { total[i] += chunk[i]; }
    workgroupBarrier(); // the tiles are restaged next step
  }
  for (var i = 0u; i < 4u; i++) {
    let n = row0 + ty + 16u * i;
    for (var j = 0u; j < 4u; j++) {
      let o = col0 + tx + 16u * j;
      if (n < p.N && o < p.OC) {
        var v = total[i][j];
        if (p.hasBias == 1u) { v += bias[o]; }
        if (p.accumulate == 1u) { v += out[n * p.OC + o]; }
        out[n * p.OC + o] = v;
      }
    }
  }
}
