/**
 * inv_freq (HS/2) = 1 / theta^(2i/HS), rounded to f32 step by step as Hugging Face computes it in f32.
 * Shared by the kernel (uploaded once per context) and the twin, so both rotate by the same angles.
 */
export function ropeInvFreq(HS: number, theta: number): Float32Array {
  const f = Math.fround;
  const out = new Float32Array(HS / 2);
  for (let i = 0; i < HS / 2; i++) out[i] = f(1 / f(theta ** f((2 * i) / HS)));
  return out;
}

/**
 * Rotate-half RoPE in place on x (N, NH, HS): for i < HS/2, angle = positions[n] * inv_freq[i] (in f32),
 * x[i] = x1 cos - x2 sin, x[i + HS/2] = x2 cos + x1 sin. positions (N). CPU twin of kernels/rope.ts.
 */
export function ropeForward(x: Float32Array, positions: Uint32Array, N: number, NH: number, HS: number, theta: number): void {
  const half = HS / 2;
  const invFreq = ropeInvFreq(HS, theta);
  for (let n = 0; n < N; n++) {
    for (let i = 0; i < half; i++) {
      const angle = Math.fround(positions[n] * invFreq[i]);
      const c = Math.cos(angle), s = Math.sin(angle);
      for (let h = 0; h < NH; h++) {
        const at = (n * NH + h) * HS + i;
        const x1 = x[at], x2 = x[at + half];
        x[at] = x1 * c - x2 * s;
        x[at + half] = x2 * c + x1 * s;
      }
    }
  }
}
