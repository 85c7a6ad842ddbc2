/** out (N, H) = silu(gate (N, H)) * up (N, H), silu(x) = x / (1 + exp(-x)). CPU twin of kernels/swiglu.ts. */
export function swigluForward(out: Float32Array, gate: Float32Array, up: Float32Array, N: number, H: number): void {
  for (let i = 0; i < N * H; i++) out[i] = (gate[i] / (1 + Math.exp(-gate[i]))) * up[i];
}
