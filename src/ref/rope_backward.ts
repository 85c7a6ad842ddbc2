import { ropeInvFreq } from './rope';

/**
 * dx (N, NH, HS), in place: the gradient of ropeForward, which rotates (x[i], x[i + HS/2]) by
 * positions[n] * inv_freq[i]; the transpose rotates by the negative angle. CPU twin of kernels/rope_backward.ts.
 */
export function ropeBackward(dx: Float32Array, positions: Uint32Array, N: number, NH: number, HS: number, theta: number): void {
  const half = HS / 2;
  const invFreq = ropeInvFreq(HS, theta);
  for (let n = 0; n < N; n++) {
    for (let i = 0; i < half; i++) {
      const angle = Math.fround(positions[n] * invFreq[i]); // f32, as ropeForward computes it
      const c = Math.cos(angle), s = Math.sin(angle);
      for (let h = 0; h < NH; h++) {
        const at = (n * NH + h) * HS + i;
        const d1 = dx[at], d2 = dx[at + half];
        dx[at] = d1 * c + d2 * s;
        dx[at + half] = d2 * c - d1 * s;
      }
    }
  }
}
