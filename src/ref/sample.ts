// CPU twin of kernels/sample.ts: the same chunked, bisection-based algorithm in f32 (Math.fround), with the
// workgroup reductions' pairing order, so it picks the same token except where exp() rounding differs.
const WG = 256;
const BISECTIONS = 40;
const f = Math.fround;

/** The PCG hash used for the sampling draw; identical bit for bit to the shader's. */
export function pcg(v: number): number {
  const state = (Math.imul(v >>> 0, 747796405) + 2891336453) >>> 0;
  const word = Math.imul(((state >>> ((state >>> 28) + 4)) ^ state) >>> 0, 277803737) >>> 0;
  return ((word >>> 22) ^ word) >>> 0;
}

/** The uniform draw in [0, 1) for a row's seed at a decoding step. */
export function sampleUniform(seed: number, step: number): number {
  return f((pcg((seed ^ pcg(step)) >>> 0) >>> 8) / 16777216);
}

function treeSum(parts: number[]): number {
  const r = parts.slice();
  for (let s = WG / 2; s > 0; s >>= 1) for (let t = 0; t < s; t++) r[t] = f(r[t] + r[t + s]);
  return r[0];
}

/** One token per row of logits (B, V) into outIds (B); seeds (B). */
export function sampleForward(
  outIds: Uint32Array,
  logits: Float32Array,
  seeds: Uint32Array,
  B: number,
  V: number,
  step: number,
  temperature: number,
  topK: number,
  topP: number,
): void {
  const chunk = Math.ceil(V / WG);
  const chunks = Array.from({ length: WG }, (_, t) => [Math.min(t * chunk, V), Math.min(t * chunk + chunk, V)]);
  for (let b = 0; b < B; b++) {
    const row = logits.subarray(b * V, (b + 1) * V);
    let rowMax = -Infinity;
    let argmax = 0;
    for (let i = 0; i < V; i++) if (row[i] > rowMax) [rowMax, argmax] = [row[i], i];
    if (temperature <= 0) {
      outIds[b] = argmax;
      continue;
    }
    const invT = f(1 / temperature);
    const w = Float32Array.from(row, (x) => Math.exp(f(f(x - rowMax) * invT)));
    const chunkSum = (keep: (x: number) => boolean) =>
      treeSum(chunks.map(([lo, hi]) => {
        let s = 0;
        for (let i = lo; i < hi; i++) if (keep(w[i])) s = f(s + w[i]);
        return s;
      }));
    const total = chunkSum(() => true);
    let threshold = 0;
    if (topK > 0 && topK < V) {
      let low = 0, high = 1;
      for (let it = 0; it < BISECTIONS; it++) {
        const mid = f(0.5 * f(low + high));
        let count = 0;
        for (let i = 0; i < V; i++) if (w[i] >= mid) count++;
        if (count >= topK) low = mid;
        else high = mid;
      }
      threshold = low;
    }
    if (topP < 1) {
      let low = threshold, high = 1;
      for (let it = 0; it < BISECTIONS; it++) {
        const mid = f(0.5 * f(low + high));
        if (chunkSum((x) => x >= mid) >= f(f(topP) * total)) low = mid;
        else high = mid;
      }
      threshold = low;
    }
    const kept = chunks.map(([lo, hi]) => {
      let s = 0;
      for (let i = lo; i < hi; i++) if (w[i] >= threshold) s = f(s + w[i]);
      return s;
    });
    const keptMass = kept.reduce((a, m) => f(a + m), 0);
    const goal = f(sampleUniform(seeds[b], step) * keptMass);
    let before = 0;
    let pick = -1;
    for (let t = 0; t < WG && pick < 0; t++) {
      const end = f(before + kept[t]);
      if (kept[t] > 0 && goal >= before && (goal < end || end >= keptMass)) {
        let run = before;
        for (let i = chunks[t][0]; i < chunks[t][1]; i++) {
          if (w[i] >= threshold) {
            pick = i;
            run = f(run + w[i]);
            if (run > goal) break;
          }
        }
      }
      before = end;
    }
    outIds[b] = pick;
  }
}
