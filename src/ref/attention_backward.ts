/**
 * dq (B, T, NH*HS), dk and dv (B, T, NKV*HS) += the gradients of causal self-attention (keys 0..t, scale
 * 1 / sqrt(HS), query head h reading key/value head h / (NH / NKV)) for dout (B, T, NH*HS), given q, k, v.
 * stats (B, NH, T, 2) receives each query row's logsumexp and D = sum(P * dP).
 * CPU twin of kernels/attention_backward.ts.
 */
export function attentionBackward(
  dq: Float32Array,
  dk: Float32Array,
  dv: Float32Array,
  stats: Float32Array,
  dout: Float32Array,
  q: Float32Array,
  k: Float32Array,
  v: Float32Array,
  B: number,
  T: number,
  NH: number,
  NKV: number,
  HS: number,
): void {
  const scale = 1 / Math.sqrt(HS);
  const group = NH / NKV;
  const probs = new Float64Array(T);
  const dScores = new Float64Array(T);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < NH; h++) {
      const kvh = Math.floor(h / group);
      for (let t = 0; t < T; t++) {
        const qa = (b * T + t) * NH * HS + h * HS;
        const kvAt = (s: number) => (b * T + s) * NKV * HS + kvh * HS;
        let max = -Infinity;
        for (let s = 0; s <= t; s++) {
          let score = 0;
          for (let d = 0; d < HS; d++) score += q[qa + d] * k[kvAt(s) + d];
          probs[s] = score * scale;
          max = Math.max(max, probs[s]);
        }
        let sum = 0;
        for (let s = 0; s <= t; s++) sum += Math.exp(probs[s] - max);
        let D = 0;
        for (let s = 0; s <= t; s++) {
          probs[s] = Math.exp(probs[s] - max) / sum;
          let dp = 0;
          for (let d = 0; d < HS; d++) dp += dout[qa + d] * v[kvAt(s) + d];
          dScores[s] = dp;
          D += probs[s] * dp;
        }
        const at = ((b * NH + h) * T + t) * 2;
        stats[at] = max + Math.log(sum);
        stats[at + 1] = D;
        for (let s = 0; s <= t; s++) {
          const ds = probs[s] * (dScores[s] - D);
          for (let d = 0; d < HS; d++) {
            dq[qa + d] += scale * ds * k[kvAt(s) + d];
            dk[kvAt(s) + d] += scale * ds * q[qa + d];
            dv[kvAt(s) + d] += probs[s] * dout[qa + d];
          }
        }
      }
    }
  }
}
