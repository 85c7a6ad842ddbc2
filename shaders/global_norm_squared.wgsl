// global_norm_squared: out[0] += sum(grads^2), the squared L2 norm for global-norm clipping. Accumulates, so
// gradients kept in several buffers add into one total; the caller zeroes out first.
// Reads grads; accumulates into out. Dispatch: ONE workgroup of 256 (a single owner of out[0]).
@group(0) @binding(0) var<storage, read_write> out: array<f32>; // (1)
@group(0) @binding(1) var<storage, read> grads: array<f32>;     // (N)
struct Params { N: u32 }
@group(0) @binding(2) var<uniform> p: Params;

const WG = 256u;
var<workgroup> partial: array<f32, WG>;

@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) lid: u32) {
  var sum = 0.0;
  for (var i = lid; i < p.N; i += WG) {
    let g = grads[i];
    sum += g * g;
  }
  partial[lid] = sum;
  for (var stride = WG / 2u; stride > 0u; stride >>= 1u) {
    workgroupBarrier();
    if (lid < stride) { partial[lid] += partial[lid + stride]; }
  }
  if (lid == 0u) { out[0] += partial[0]; }
}
