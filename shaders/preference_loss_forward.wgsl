// preference_loss_forward: the pairwise loss of the reward model and of DPO,
//   z[p] = beta * ((values[p] - values[P + p]) - (reference[p] - reference[P + p])) - margins[p]
//   losses[p] = -log sigmoid(z[p]) = softplus(-z[p]),
// computed as max(-z, 0) + log(1 + exp(-|z|)) so that no exp overflows for large |z|.
// values and reference hold the chosen sequences at [0, P) and the rejected ones at [P, 2P). The reward model
// binds a zero buffer as reference and beta = 1; DPO binds zero margins.
// Reads values, reference, margins; writes losses (no accumulation).
@group(0) @binding(0) var<storage, read_write> losses: array<f32>; // (P)
@group(0) @binding(1) var<storage, read> values: array<f32>;       // (2P)
@group(0) @binding(2) var<storage, read> reference: array<f32>;    // (2P)
@group(0) @binding(3) var<storage, read> margins: array<f32>;      // (P)
struct Params { P: u32, beta: f32 }
@group(0) @binding(4) var<uniform> p: Params;

// Dispatch: grid2(ceil(P / 256)) workgroups of 256, one pair per invocation.
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.y * nwg.x * 256u + gid.x;
  if (i >= p.P) { return; }
  let z = p.beta * ((values[i] - values[p.P + i]) - (reference[i] - reference[p.P + i])) - margins[i];
  losses[i] = max(-z, 0.0) + log(1.0 + exp(-abs(z)));
}
