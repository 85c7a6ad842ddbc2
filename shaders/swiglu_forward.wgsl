// swiglu_forward: out (N, H) = silu(gate) * up, silu(x) = x / (1 + exp(-x)), elementwise.
// Reads gate, up; writes out (no accumulation).
@group(0) @binding(0) var<storage, read_write> out: array<f32>; // (N, H)
@group(0) @binding(1) var<storage, read> gate: array<f32>;      // (N, H)
@group(0) @binding(2) var<storage, read> up: array<f32>;        // (N, H)
struct Params { count: u32 } // N * H
@group(0) @binding(3) var<uniform> p: Params;

// Dispatch: grid2(ceil(N * H / 256)) workgroups of 256.
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.y * nwg.x * 256u + gid.x;
  if (i >= p.count) { return; }
  let g = gate[i];
  // exp(-g) overflows to +inf for g < -88, and g / inf is the right limit (0).
  out[i] = g / (1.0 + exp(-g)) * up[i];
}
