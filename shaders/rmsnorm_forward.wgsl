// rmsnorm_forward: out (N, C) = inp / sqrt(mean(inp^2) + eps) * weight, one workgroup per row.
// Reads inp, weight; writes out (no accumulation).
@group(0) @binding(0) var<storage, read_write> out: array<f32>; // (N, C)
@group(0) @binding(1) var<storage, read> inp: array<f32>;       // (N, C)
@group(0) @binding(2) var<storage, read> weight: array<f32>;    // (C)
struct Params { N: u32, C: u32, eps: f32 }
@group(0) @binding(3) var<uniform> p: Params;

const WG = 256u;
var<workgroup> partial: array<f32, WG>;

// Dispatch: grid2(N) workgroups of WG lanes (256 as written; the wrapper sizes it to C, a power of two).
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) tid: u32) {
  let row = wid.y * nwg.x + wid.x;
  if (row >= p.N) { return; }
  let base = row * p.C;
  var sum = 0.0;
  for (var c = tid; c < p.C; c += WG) {
    let x = inp[base + c];
    sum += x * x;
  }
  partial[tid] = sum;
  for (var stride = WG / 2u; stride > 0u; stride >>= 1u) {
    workgroupBarrier();
    if (tid < stride) { partial[tid] += partial[tid + stride]; }
  }
  let rstd = inverseSqrt(workgroupUniformLoad(&partial[0]) / f32(p.C) + p.eps);
  for (var c = tid; c < p.C; c += WG) {
    out[base + c] = inp[base + c] * rstd * weight[c];
  }
}
