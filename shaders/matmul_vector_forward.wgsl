// matmul_vector_forward: out (N, OC) = inp (N, C) @ weight (OC, C)^T + bias (OC) for few rows (N <= 8: decode
// steps), reading each weight row once for all rows. One workgroup per output column: invocations stride
// over C, then a tree reduction. The sum order depends on C only, never on N, so a row gives the same bits
// alone or in a batch. f32 accumulation; WT is the weight type (f16 variant made by the wrapper).
// Reads inp, weight, bias (when hasBias); writes out (no accumulation).
alias WT = f32;
@group(0) @binding(0) var<storage, read_write> out: array<f32>; // (N, OC)
@group(0) @binding(1) var<storage, read> inp: array<f32>;       // (N, C)
@group(0) @binding(2) var<storage, read> weight: array<WT>;     // (OC, C)
@group(0) @binding(3) var<storage, read> bias: array<f32>;      // (OC), or a zero buffer when !hasBias
struct Params { N: u32, C: u32, OC: u32, hasBias: u32 }
@group(0) @binding(4) var<uniform> p: Params;

const WG = 128u;
const MAX_ROWS = 8u;
var<workgroup> partial: array<array<f32, WG>, MAX_ROWS>;

// Dispatch: grid2(OC) workgroups of 128.
@compute @workgroup_size(128)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) tid: u32) {
  let o = wid.y * nwg.x + wid.x;
  if (o >= p.OC) { return; }
  var acc: array<f32, MAX_ROWS>;
  for (var c = tid; c < p.C; c += WG) {
    let w = f32(weight[o * p.C + c]);
    for (var n = 0u; n < p.N; n++) { acc[n] += inp[n * p.C + c] * w; }
  }
  for (var n = 0u; n < p.N; n++) { partial[n][tid] = acc[n]; }
  for (var stride = WG / 2u; stride > 0u; stride >>= 1u) {
    workgroupBarrier();
    if (tid < stride) {
      for (var n = 0u; n < p.N; n++) { partial[n][tid] += partial[n][tid + stride]; }
    }
  }
  workgroupBarrier();
  if (tid < p.N) {
    out[tid * p.OC + o] = partial[tid][0] + select(0.0, bias[o], p.hasBias == 1u);
  }
}
