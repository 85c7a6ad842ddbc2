// swiglu_backward: gradients of out = silu(gate) * up, silu(x) = x * sigmoid(x):
//   dgate += dout * up * sigmoid(gate) * (1 + gate * (1 - sigmoid(gate))),  dup += dout * silu(gate)
// Reads dout, gate, up; accumulates into dgate and dup. Dispatch: grid2(ceil(N*H / 256)) workgroups of 256.
@group(0) @binding(0) var<storage, read_write> dgate: array<f32>; // (N, H)
@group(0) @binding(1) var<storage, read_write> dup: array<f32>;   // (N, H)
@group(0) @binding(2) var<storage, read> dout: array<f32>;        // (N, H)
@group(0) @binding(3) var<storage, read> gate: array<f32>;        // (N, H)
@group(0) @binding(4) var<storage, read> up: array<f32>;          // (N, H)
struct Params { count: u32 } // N * H
@group(0) @binding(5) var<uniform> p: Params;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let i = (wid.y * nwg.x + wid.x) * 256u + lid;
  if (i >= p.count) { return; }
  let g = gate[i];
  let s = 1.0 / (1.0 + exp(-g));
  let d = dout[i];
  dgate[i] += d * up[i] * s * (1.0 + g * (1.0 - s));
  dup[i] += d * g * s;
}
