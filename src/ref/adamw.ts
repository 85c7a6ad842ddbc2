// CPU twins of kernels/adamw.ts.

/** out (1) += sum(grads (N)^2). */
export function globalNormSquared(out: Float32Array, grads: Float32Array, N: number): void {
  let sum = 0;
  for (let i = 0; i < N; i++) sum += grads[i] * grads[i];
  out[0] += sum;
}

/**
 * One AdamW step (PyTorch semantics: decoupled weight decay, bias correction) of params (N) with moments
 * m, v (N) and grads (N) clipped by min(1, maxNorm / (sqrt(normSq[0]) + 1e-6)); maxNorm Infinity or 0 disables
 * clipping. step counts from 1.
 */
export function adamwStep(
  params: Float32Array,
  m: Float32Array,
  v: Float32Array,
  grads: Float32Array,
  normSq: Float32Array,
  N: number,
  lr: number,
  beta1: number,
  beta2: number,
  eps: number,
  weightDecay: number,
  step: number,
  maxNorm: number,
): void {
  const clip = Number.isFinite(maxNorm) && maxNorm > 0 ? Math.min(1, maxNorm / (Math.sqrt(normSq[0]) + 1e-6)) : 1;
  const stepSize = lr / (1 - beta1 ** step);
  const bc2Sqrt = Math.sqrt(1 - beta2 ** step);
  for (let i = 0; i < N; i++) {
    const g = grads[i] * clip;
    m[i] = beta1 * m[i] + (1 - beta1) * g;
    v[i] = beta2 * v[i] + (1 - beta2) * g * g;
    params[i] = params[i] * (1 - lr * weightDecay) - (stepSize * m[i]) / (Math.sqrt(v[i]) / bc2Sqrt + eps);
  }
}
