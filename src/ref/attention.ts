/**
 * out (B, T, NH*HS) = causal attention of q (B, T, NH*HS) over kCache, vCache (B, S, NKV*HS): query t of row b
 * sits in slot start+t and attends slots [validFrom[b], start+t]. CPU twin of kernels/attention.ts.
 */
export function attentionForward(
  out: Float32Array,
  q: Float32Array,
  kCache: Float32Array,
  vCache: Float32Array,
  validFrom: Uint32Array,
  B: number,
  T: number,
  NH: number,
  NKV: number,
  HS: number,
  S: number,
  start: number,
): void {
  const KV = NKV * HS;
  const scale = 1 / Math.sqrt(HS);
  const scores = new Float64Array(S);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      for (let h = 0; h < NH; h++) {
        const kvh = Math.floor(h / (NH / NKV));
        const qBase = ((b * T + t) * NH + h) * HS;
        const first = validFrom[b];
        const last = start + t;
        let max = -Infinity;
        for (let s = first; s <= last; s++) {
          let dot = 0;
          for (let d = 0; d < HS; d++) dot += q[qBase + d] * kCache[(b * S + s) * KV + kvh * HS + d];
          scores[s] = dot * scale;
          max = Math.max(max, scores[s]);
        }
        let sum = 0;
        for (let s = first; s <= last; s++) sum += (scores[s] = Math.exp(scores[s] - max));
        for (let d = 0; d < HS; d++) {
          let acc = 0;
          for (let s = first; s <= last; s++) acc += scores[s] * vCache[(b * S + s) * KV + kvh * HS + d];
          out[qBase + d] = sum > 0 ? acc / sum : 0;
        }
      }
    }
  }
}
