/** out (N, OC) = inp (N, C) @ weight (OC, C)^T + bias (OC) | null, added to out with `accumulate`. CPU twin of kernels/matmul.ts. */
export function matmulForward(
  out: Float32Array,
  inp: Float32Array,
  weight: Float32Array,
  bias: Float32Array | null,
  N: number,
  C: number,
  OC: number,
  accumulate = false,
): void {
  for (let n = 0; n < N; n++) {
    for (let o = 0; o < OC; o++) {
      let sum = bias ? bias[o] : 0;
      for (let c = 0; c < C; c++) sum += inp[n * C + c] * weight[o * C + c];
      out[n * OC + o] = accumulate ? out[n * OC + o] + sum : sum;
    }
  }
}
