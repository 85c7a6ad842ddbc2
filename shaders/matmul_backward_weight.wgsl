// matmul_backward_weight: dweight += dout^T @ inp, the weight gradient of out = inp @ weight^T (trainable
// weights only; the frozen base weights get none). The reduction runs over the N token rows.
// Reads dout, inp; accumulates into dweight. Each workgroup owns a 64x64 tile of dweight (one owner per
// element); 256 threads each keep a 4x4 block of sums. Dispatch: (ceil(C / 64), ceil(OC / 64)).
@group(0) @binding(0) var<storage, read_write> dweight: array<f32>; // (OC, C)
@group(0) @binding(1) var<storage, read> dout: array<f32>;          // (N, OC)
@group(0) @binding(2) var<storage, read> inp: array<f32>;           // (N, C)
struct Params { N: u32, C: u32, OC: u32 }
@group(0) @binding(3) var<uniform> p: Params;

const TILE = 64u; // rows (oc) and columns (c) of the output tile
const TK = 16u;   // reduction (n) slice held in workgroup memory
var<workgroup> doutTile: array<f32, 1024>; // [k][oc], TK x TILE
var<workgroup> inpTile: array<f32, 1024>;  // [k][c], TK x TILE

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let o0 = wid.y * TILE;
  let c0 = wid.x * TILE;
  let tx = lid % 16u;
  let ty = lid / 16u;
  var acc: array<vec4<f32>, 4>;
  for (var k0 = 0u; k0 < p.N; k0 += TK) {
    for (var r = 0u; r < 4u; r++) {
      let e = lid + 256u * r;
      // Both operands are contiguous along their tile columns: load with the column fastest.
      let col = e % TILE;
      let k = e / TILE;
      var d = 0.0;
      if (k0 + k < p.N && o0 + col < p.OC) { d = dout[(k0 + k) * p.OC + o0 + col]; }
      doutTile[k * TILE + col] = d;
      var x = 0.0;
      if (k0 + k < p.N && c0 + col < p.C) { x = inp[(k0 + k) * p.C + c0 + col]; }
      inpTile[k * TILE + col] = x;
    }
    workgroupBarrier();
    for (var k = 0u; k < TK; k++) {
      let b = vec4<f32>(inpTile[k * TILE + tx], inpTile[k * TILE + tx + 16u],
                        inpTile[k * TILE + tx + 32u], inpTile[k * TILE + tx + 48u]);
      for (var i = 0u; i < 4u; i++) {
        acc[i] += doutTile[k * TILE + ty + 16u * i] * b;
      }
    }
    workgroupBarrier();
  }
  for (var i = 0u; i < 4u; i++) {
    let o = o0 + ty + 16u * i;
    for (var j = 0u; j < 4u; j++) {
      let c = c0 + tx + 16u * j;
      if (o < p.OC && c < p.C) { dweight[o * p.C + c] += acc[i][j]; }
    }
  }
}
