// rmsnorm_backward: the input gradient of out = inp * rstd * weight, rstd = 1 / sqrt(mean(inp^2) + eps):
//   dinp += rstd * (weight * dout) - inp * rstd^3 / C * sum(weight * dout * inp)
// The weight is frozen (no dweight). Reads dout, inp, weight; accumulates into dinp.
// Dispatch: one workgroup of WG lanes per row, grid2(N) (256 as written; the wrapper sizes it to C, a power of two).
@group(0) @binding(0) var<storage, read_write> dinp: array<f32>; // (N, C)
@group(0) @binding(1) var<storage, read> dout: array<f32>;       // (N, C)
@group(0) @binding(2) var<storage, read> inp: array<f32>;        // (N, C)
@group(0) @binding(3) var<storage, read> weight: array<f32>;     // (C)
struct Params { N: u32, C: u32, eps: f32 }
@group(0) @binding(4) var<uniform> p: Params;

const WG = 256u;
var<workgroup> squares: array<f32, WG>; // partial sums of inp^2
var<workgroup> dots: array<f32, WG>;    // partial sums of weight * dout * inp

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let row = wid.y * nwg.x + wid.x;
  if (row >= p.N) { return; }
  let base = row * p.C;
  var sq = 0.0;
  var wdx = 0.0;
  for (var c = lid; c < p.C; c += WG) {
    let x = inp[base + c];
    sq += x * x;
    wdx += weight[c] * dout[base + c] * x;
  }
  squares[lid] = sq;
  dots[lid] = wdx;
  for (var stride = WG / 2u; stride > 0u; stride >>= 1u) {
    workgroupBarrier();
    if (lid < stride) {
      squares[lid] += squares[lid + stride];
      dots[lid] += dots[lid + stride];
    }
  }
  workgroupBarrier();
  let rstd = inverseSqrt(squares[0] / f32(p.C) + p.eps);
  let k = rstd * rstd * rstd * dots[0] / f32(p.C);
  for (var c = lid; c < p.C; c += WG) {
    dinp[base + c] += rstd * weight[c] * dout[base + c] - inp[base + c] * k;
  }
}
