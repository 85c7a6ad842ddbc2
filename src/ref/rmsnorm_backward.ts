/**
 * dinp (N, C) += the input gradient of out = inp * rstd * weight, rstd = 1 / sqrt(mean(inp^2) + eps), for
 * dout (N, C), inp (N, C), weight (C). Weight frozen. CPU twin of kernels/rmsnorm_backward.ts.
 */
export function rmsnormBackward(dinp: Float32Array, dout: Float32Array, inp: Float32Array, weight: Float32Array, N: number, C: number, eps: number): void {
  for (let n = 0; n < N; n++) {
    const base = n * C;
    let sq = 0;
    let dot = 0;
    for (let c = 0; c < C; c++) {
      sq += inp[base + c] * inp[base + c];
      dot += weight[c] * dout[base + c] * inp[base + c];
    }
    const rstd = 1 / Math.sqrt(sq / C + eps);
    const k = (rstd * rstd * rstd * dot) / C;
    for (let c = 0; c < C; c++) dinp[base + c] += rstd * weight[c] * dout[base + c] - inp[base + c] * k;
  }
}
