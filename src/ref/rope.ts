/** Rotates x (N, NH, HS) in place by positions (N), Hugging Face rotate-half. CPU twin of kernels/rope.ts. */
export function ropeForward(x: Float32Array, positions: Uint32Array, N: number, NH: number, HS: number, theta: number): void {
  const half = HS / 2;
  for (let n = 0; n < N; n++) {
    for (let h = 0; h < NH; h++) {
      const base = (n * NH + h) * HS;
      for (let i = 0; i < half; i++) {
        // f32 angle, as the shader computes it
        const angle = Math.fround(positions[n] * Math.fround(theta ** (-(2 * i) / HS)));
        const c = Math.cos(angle);
        const s = Math.sin(angle);
        const x1 = x[base + i];
        const x2 = x[base + i + half];
        x[base + i] = x1 * c - x2 * s;
        x[base + i + half] = x2 * c + x1 * s;
      }
    }
  }
}
