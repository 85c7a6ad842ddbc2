// seqlogp_backward: dlosses[m] = -dlogps[s] for the sequence s whose range [starts[s], starts[s + 1]) holds m,
// found by binary search over starts; 0 for a row outside every range. The gradient of seqlogp_forward, to
// chain into crossentropy_backward as its per-row upstream gradient.
// OVERWRITES dlosses (crossentropy_backward's input, not a gradient accumulated over passes).
// Reads dlogps, starts; writes dlosses (one invocation owns one element).
@group(0) @binding(0) var<storage, read_write> dlosses: array<f32>; // (M)
@group(0) @binding(1) var<storage, read> dlogps: array<f32>;        // (S)
@group(0) @binding(2) var<storage, read> starts: array<u32>;        // (S + 1), nondecreasing, starts[S] <= M
struct Params { M: u32, S: u32 }
@group(0) @binding(3) var<uniform> p: Params;

// Dispatch: grid2(ceil(M / 256)) workgroups of 256, one row per invocation.
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let m = gid.y * nwg.x * 256u + gid.x;
  if (m >= p.M) { return; }
  if (m < starts[0] || m >= starts[p.S]) {
    dlosses[m] = 0.0;
    return;
  }
  // Invariant starts[lo] <= m < starts[hi]; it ends at the last s with starts[s] <= m, which skips the
  // empty ranges that start at m as well.
  var lo = 0u;
  var hi = p.S;
  while (hi - lo > 1u) {
    let mid = (lo + hi) / 2u;
    if (starts[mid] <= m) { lo = mid; } else { hi = mid; }
  }
  dlosses[m] = -dlogps[lo];
}
