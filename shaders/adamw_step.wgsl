// adamw_step: one AdamW update (PyTorch semantics: decoupled weight decay, bias correction) of every
// parameter, with the gradient first clipped by the global norm read from normSq on the GPU, so no readback:
//   g = grad * min(1, maxNorm / (sqrt(normSq) + 1e-6))   (maxNorm 0: no clipping)
//   param *= 1 - lr * weightDecay;  m = beta1 * m + (1 - beta1) * g;  v = beta2 * v + (1 - beta2) * g^2
//   param -= stepSize * m / (sqrt(v) / bc2Sqrt + eps),  stepSize = lr / (1 - beta1^step), bc2Sqrt = sqrt(1 - beta2^step)
// Reads grads, normSq; read-writes params, m, v. Dispatch: grid2(ceil(N / 256)) workgroups of 256.
@group(0) @binding(0) var<storage, read_write> params: array<f32>; // (N)
@group(0) @binding(1) var<storage, read_write> m: array<f32>;      // (N) first moment
@group(0) @binding(2) var<storage, read_write> v: array<f32>;      // (N) second moment
@group(0) @binding(3) var<storage, read> grads: array<f32>;        // (N)
@group(0) @binding(4) var<storage, read> normSq: array<f32>;       // (1) squared global gradient norm
struct Params { N: u32, beta1: f32, beta2: f32, eps: f32, decay: f32, stepSize: f32, bc2Sqrt: f32, maxNorm: f32 }
@group(0) @binding(5) var<uniform> p: Params;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let i = (wid.y * nwg.x + wid.x) * 256u + lid;
  if (i >= p.N) { return; }
  // The host passes 0 for "no clipping" rather than infinity, which WGSL arithmetic need not honour.
  let clip = select(1.0, min(1.0, p.maxNorm / (sqrt(normSq[0]) + 1e-6)), p.maxNorm > 0.0);
  let g = grads[i] * clip;
  let mi = p.beta1 * m[i] + (1.0 - p.beta1) * g;
  let vi = p.beta2 * v[i] + (1.0 - p.beta2) * g * g;
  m[i] = mi;
  v[i] = vi;
  params[i] = params[i] * p.decay - p.stepSize * mi / (sqrt(vi) / p.bc2Sqrt + p.eps);
}
