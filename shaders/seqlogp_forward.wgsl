// seqlogp_forward: logps[s] = -sum(losses[starts[s] .. starts[s + 1])), each sequence's log-probability of its
// labelled tokens from the per-token cross-entropy losses (crossentropy_forward over the trained positions,
// grouped by sequence in order). An empty range gives 0.
// Reads losses, starts; writes logps (no accumulation).
@group(0) @binding(0) var<storage, read_write> logps: array<f32>; // (S)
@group(0) @binding(1) var<storage, read> losses: array<f32>;      // (M)
@group(0) @binding(2) var<storage, read> starts: array<u32>;      // (S + 1), nondecreasing, starts[S] <= M
struct Params { S: u32 }
@group(0) @binding(3) var<uniform> p: Params;

const WG = 256u;
var<workgroup> partial: array<f32, WG>;

// Dispatch: grid2(S) workgroups of 256, one per sequence.
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let s = wid.y * nwg.x + wid.x;
  if (s >= p.S) { return; }
  let end = starts[s + 1u];
  var sum = 0.0;
  for (var m = starts[s] + lid; m < end; m += WG) {
    sum += losses[m];
  }
  partial[lid] = sum;
  for (var stride = WG / 2u; stride > 0u; stride >>= 1u) {
    workgroupBarrier();
    if (lid < stride) { partial[lid] += partial[lid + stride]; }
  }
  if (lid == 0u) { logps[s] = -partial[0]; }
}
