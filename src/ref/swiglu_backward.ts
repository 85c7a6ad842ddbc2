/** dgate (N, H) and dup (N, H) += the gradients of out = silu(gate) * up for dout (N, H). CPU twin of kernels/swiglu_backward.ts. */
export function swigluBackward(dgate: Float32Array, dup: Float32Array, dout: Float32Array, gate: Float32Array, up: Float32Array, N: number, H: number): void {
  for (let i = 0; i < N * H; i++) {
    const g = gate[i];
    const s = 1 / (1 + Math.exp(-g));
    dgate[i] += dout[i] * up[i] * s * (1 + g * (1 - s));
    dup[i] += dout[i] * g * s;
  }
}
