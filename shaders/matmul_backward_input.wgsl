// matmul_backward_input: dinp += dout @ weight, the input gradient of out = inp @ weight^T + bias.
// Also the LM head's backward with the tied embedding as weight. The weight is frozen and may be f16: the
// wrapper swaps the `alias WT` line below for `enable f16; alias WT = f16;`.
// Reads dout, weight; accumulates into dinp. Each workgroup owns a 64x64 tile of dinp (one owner per
// element); 256 threads each keep a 4x4 block of sums. Dispatch: (ceil(C / 64), ceil(N / 64)).
alias WT = f32;
@group(0) @binding(0) var<storage, read_write> dinp: array<f32>; // (N, C)
@group(0) @binding(1) var<storage, read> dout: array<f32>;       // (N, OC)
@group(0) @binding(2) var<storage, read> weight: array<WT>;      // (OC, C)
struct Params { N: u32, C: u32, OC: u32 }
@group(0) @binding(3) var<uniform> p: Params;

const TILE = 64u; // rows (n) and columns (c) of the output tile
const TK = 16u;   // reduction (oc) slice held in workgroup memory
var<workgroup> doutTile: array<f32, 1024>;   // [k][n], TK x TILE
var<workgroup> weightTile: array<f32, 1024>; // [k][c], TK x TILE

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let n0 = wid.y * TILE;
  let c0 = wid.x * TILE;
  // Thread (tx, ty) owns rows ty + 16i and columns tx + 16j: neighbouring threads touch neighbouring columns.
  let tx = lid % 16u;
  let ty = lid / 16u;
  var acc: array<vec4<f32>, 4>;
  for (var k0 = 0u; k0 < p.OC; k0 += TK) {
    for (var r = 0u; r < 4u; r++) {
      let e = lid + 256u * r;
      // dout rows are contiguous along k: load with k fastest.
      let dk = e % TK;
      let dn = e / TK;
      var d = 0.0;
      if (n0 + dn < p.N && k0 + dk < p.OC) { d = dout[(n0 + dn) * p.OC + k0 + dk]; }
      doutTile[dk * TILE + dn] = d;
      // weight rows are contiguous along c: load with c fastest.
      let wc = e % TILE;
      let wk = e / TILE;
      var w = 0.0;
      if (k0 + wk < p.OC && c0 + wc < p.C) { w = f32(weight[(k0 + wk) * p.C + c0 + wc]); }
      weightTile[wk * TILE + wc] = w;
    }
    workgroupBarrier();
    for (var k = 0u; k < TK; k++) {
      let b = vec4<f32>(weightTile[k * TILE + tx], weightTile[k * TILE + tx + 16u],
                        weightTile[k * TILE + tx + 32u], weightTile[k * TILE + tx + 48u]);
      for (var i = 0u; i < 4u; i++) {
        acc[i] += doutTile[k * TILE + ty + 16u * i] * b;
      }
    }
    workgroupBarrier();
  }
  for (var i = 0u; i < 4u; i++) {
    let n = n0 + ty + 16u * i;
    for (var j = 0u; j < 4u; j++) {
      let c = c0 + tx + 16u * j;
      if (n < p.N && c < p.C) { dinp[n * p.C + c] += acc[i][j]; }
    }
  }
}
