/** out (N) += inp (N). CPU twin of kernels/residual.ts. */
export function residualForward(out: Float32Array, inp: Float32Array, N: number): void {
  for (let i = 0; i < N; i++) out[i] += inp[i];
}
