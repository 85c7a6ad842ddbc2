// preference_loss_backward: the gradient of scale * sum_p losses[p] (preference_loss_forward) w.r.t. values:
//   dvalues[p] = -beta * sigmoid(-z[p]) * scale,  dvalues[P + p] = +beta * sigmoid(-z[p]) * scale,
// with sigmoid(-z) from exp(-|z|) so that no exp overflows for large |z| (WGSL does not promise an overflowing
// exp gives inf, which 1 / (1 + exp(z)) would rely on). scale = 1 / P gives the mean loss.
// OVERWRITES dvalues, unlike most backward passes: it is the first gradient of the step.
// Reads values, reference, margins; writes dvalues (one invocation owns a pair's two elements).
@group(0) @binding(0) var<storage, read_write> dvalues: array<f32>; // (2P)
@group(0) @binding(1) var<storage, read> values: array<f32>;        // (2P)
@group(0) @binding(2) var<storage, read> reference: array<f32>;     // (2P)
@group(0) @binding(3) var<storage, read> margins: array<f32>;       // (P)
struct Params { P: u32, beta: f32, scale: f32 }
@group(0) @binding(4) var<uniform> p: Params;

// Dispatch: grid2(ceil(P / 256)) workgroups of 256, one pair per invocation.
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.y * nwg.x * 256u + gid.x;
  if (i >= p.P) { return; }
  let z = p.beta * ((values[i] - values[p.P + i]) - (reference[i] - reference[p.P + i])) - margins[i];
  let e = exp(-abs(z));
  let sigmoidNegZ = select(1.0 / (1.0 + e), e / (1.0 + e), z >= 0.0);
  let g = p.beta * sigmoidNegZ * p.scale;
  dvalues[i] = -g;
  dvalues[p.P + i] = g;
}
