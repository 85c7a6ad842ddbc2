/** out (N, C) = inp (N, C) / sqrt(mean(inp^2) + eps) * weight (C). CPU twin of kernels/rmsnorm.ts. */
export function rmsnormForward(out: Float32Array, inp: Float32Array, weight: Float32Array, N: number, C: number, eps: number): void {
  for (let n = 0; n < N; n++) {
    const base = n * C;
    let sum = 0;
    for (let c = 0; c < C; c++) sum += inp[base + c] * inp[base + c];
    const rstd = 1 / Math.sqrt(sum / C + eps);
    for (let c = 0; c < C; c++) out[base + c] = inp[base + c] * rstd * weight[c];
  }
}
