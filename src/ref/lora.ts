// CPU twins of kernels/lora.ts: LoRA on a frozen projection, out += scale * dropout(inp) @ A^T @ B^T.
import { dropoutKeep, dropoutScale, dropoutThreshold } from '../kernels/dropout';

/** dropout(inp)[n, c] as the shaders compute it. */
function dropped(inp: Float32Array, n: number, c: number, C: number, seed: number, threshold: number, keepScale: number): number {
  const x = inp[n * C + c];
  if (threshold === 0) return x;
  return dropoutKeep(seed, (Math.imul(n, C) + c) >>> 0, threshold) ? x * keepScale : 0;
}

/** u (N, R) = dropout(inp (N, C)) @ A (R, C)^T; out (N, OC) += scale * u @ Bw (OC, R)^T. */
export function loraForward(
  out: Float32Array,
  u: Float32Array,
  inp: Float32Array,
  A: Float32Array,
  Bw: Float32Array,
  scale: number,
  N: number,
  C: number,
  R: number,
  OC: number,
  dropout = 0,
  seed = 0,
): void {
  const threshold = dropoutThreshold(dropout), keepScale = dropoutScale(dropout);
  for (let n = 0; n < N; n++) {
    for (let r = 0; r < R; r++) {
      let sum = 0;
      for (let c = 0; c < C; c++) sum += dropped(inp, n, c, C, seed, threshold, keepScale) * A[r * C + c];
      u[n * R + r] = sum;
    }
    for (let o = 0; o < OC; o++) {
      let acc = 0;
      for (let r = 0; r < R; r++) acc += u[n * R + r] * Bw[o * R + r];
      out[n * OC + o] += scale * acc;
    }
  }
}

/**
 * du (N, R) = scale * dout (N, OC) @ Bw (overwritten); dinp (N, C) += dropout'(du @ A);
 * dA (R, C) += du^T @ dropout(inp); dB (OC, R) += scale * dout^T @ u.
 */
export function loraBackward(
  dinp: Float32Array,
  dA: Float32Array,
  dB: Float32Array,
  du: Float32Array,
  dout: Float32Array,
  inp: Float32Array,
  u: Float32Array,
  A: Float32Array,
  Bw: Float32Array,
  scale: number,
  N: number,
  C: number,
  R: number,
  OC: number,
  dropout = 0,
  seed = 0,
): void {
  const threshold = dropoutThreshold(dropout), keepScale = dropoutScale(dropout);
  for (let n = 0; n < N; n++) {
    for (let r = 0; r < R; r++) {
      let sum = 0;
      for (let o = 0; o < OC; o++) sum += dout[n * OC + o] * Bw[o * R + r];
      du[n * R + r] = scale * sum;
    }
    for (let c = 0; c < C; c++) {
      let acc = 0;
      for (let r = 0; r < R; r++) acc += du[n * R + r] * A[r * C + c];
      const kept = threshold === 0 || dropoutKeep(seed, (Math.imul(n, C) + c) >>> 0, threshold);
      dinp[n * C + c] += kept ? acc * keepScale : 0;
    }
  }
  for (let r = 0; r < R; r++) {
    for (let c = 0; c < C; c++) {
      let sum = 0;
      for (let n = 0; n < N; n++) sum += du[n * R + r] * dropped(inp, n, c, C, seed, threshold, keepScale);
      dA[r * C + c] += sum;
    }
  }
  for (let o = 0; o < OC; o++) {
    for (let r = 0; r < R; r++) {
      let sum = 0;
      for (let n = 0; n < N; n++) sum += dout[n * OC + o] * u[n * R + r];
      dB[o * R + r] += scale * sum;
    }
  }
}
