// matmul_forward: out (N, OC) = inp (N, C) @ weight (OC, C)^T + bias (OC), tiled and register-blocked:
// each workgroup computes a 64 x 64 output tile, each invocation a 4 x 4 block, over C in chunks of 16
// staged in workgroup memory. f32 accumulation; WT is the weight type (f16 variant made by the wrapper).
// Reads inp, weight, bias (when hasBias); writes out (no accumulation).
alias WT = f32;
@group(0) @binding(0) var<storage, read_write> out: array<f32>; // (N, OC)
@group(0) @binding(1) var<storage, read> inp: array<f32>;       // (N, C)
@group(0) @binding(2) var<storage, read> weight: array<WT>;     // (OC, C)
@group(0) @binding(3) var<storage, read> bias: array<f32>;      // (OC), or a zero buffer when !hasBias
struct Params { N: u32, C: u32, OC: u32, hasBias: u32 }
@group(0) @binding(4) var<uniform> p: Params;

const TILE = 64u;
const TK = 16u;
var<workgroup> aTile: array<f32, 1024>; // (TILE rows of inp, TK)
var<workgroup> wTile: array<f32, 1024>; // (TILE rows of weight, TK)

// Dispatch: (ceil(OC / 64), ceil(N / 64)) workgroups of 16 x 16.
@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
        @builtin(local_invocation_index) tid: u32) {
  let row0 = wid.y * TILE;
  let col0 = wid.x * TILE;
  var acc: array<array<f32, 4>, 4>;
  for (var k0 = 0u; k0 < p.C; k0 += TK) {
    // 256 invocations stage 1024 values of each tile: 4 apiece.
    for (var e = tid; e < TILE * TK; e += 256u) {
      let r = e / TK;
      let k = k0 + e % TK;
      let n = row0 + r;
      let o = col0 + r;
      aTile[e] = select(0.0, inp[n * p.C + k], n < p.N && k < p.C);
      wTile[e] = select(0.0, f32(weight[o * p.C + k]), o < p.OC && k < p.C);
    }
    workgroupBarrier();
    for (var k = 0u; k < TK; k++) {
      var a: array<f32, 4>;
      var w: array<f32, 4>;
      for (var i = 0u; i < 4u; i++) {
        a[i] = aTile[(lid.y * 4u + i) * TK + k];
        w[i] = wTile[(lid.x * 4u + i) * TK + k];
      }
      for (var i = 0u; i < 4u; i++) {
        for (var j = 0u; j < 4u; j++) { acc[i][j] += a[i] * w[j]; }
      }
    }
    workgroupBarrier();
  }
  for (var i = 0u; i < 4u; i++) {
    let n = row0 + lid.y * 4u + i;
    for (var j = 0u; j < 4u; j++) {
      let o = col0 + lid.x * 4u + j;
      if (n < p.N && o < p.OC) {
        out[n * p.OC + o] = acc[i][j] + select(0.0, bias[o], p.hasBias == 1u);
      }
    }
  }
}
