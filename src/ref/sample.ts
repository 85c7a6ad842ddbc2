// CPU twin of kernels/sample.ts. It repeats the shader's f32 operations in the shader's order (strided
// per-invocation partial sums, the same reduction tree, chunked prefix sums, Math.fround after each step),
// so it picks the same token as the GPU except where exp() rounds differently near a boundary.
import { NON_FINITE_LOGITS } from '../kernels/sample';

const WG = 256; // invocations per row in the shader
const f = Math.fround;
const bits = new Uint32Array(1);
const floats = new Float32Array(bits.buffer);

/** The PCG hash of the sampling draw; identical bit for bit to the shader's. */
export function pcg(v: number): number {
  const state = (Math.imul(v >>> 0, 747796405) + 2891336453) >>> 0;
  const word = Math.imul(((state >>> ((state >>> 28) + 4)) ^ state) >>> 0, 277803737) >>> 0;
  return ((word >>> 22) ^ word) >>> 0;
}

/** The uniform draw in [0, 1) for a row's seed at a decoding step. */
export function sampleUniform(seed: number, step: number): number {
  return (pcg((seed ^ pcg(step)) >>> 0) >>> 8) / 16777216;
}

/** Order-preserving u32 key of an f32, as in the shader. */
function key(x: number): number {
  floats[0] = x;
  const b = bits[0];
  return (b >>> 31 ? ~b : b | 0x80000000) >>> 0;
}

interface Split {
  count: number;
  mass: number;
  minKept: number;
  maxDropped: number;
}

/** The shader's split(): kept = key >= threshold, mass summed per invocation, then the reduction tree. */
function split(keys: Uint32Array, w: Float32Array, threshold: number): Split {
  const V = keys.length;
  const mass = new Float32Array(WG);
  let count = 0, minKept = 0xffffffff, maxDropped = 0;
  for (let t = 0; t < WG; t++) {
    let m = 0;
    for (let i = t; i < V; i += WG) {
      if (keys[i] >= threshold) {
        count++;
        m = f(m + w[i]);
        minKept = Math.min(minKept, keys[i]);
      } else {
        maxDropped = Math.max(maxDropped, keys[i]);
      }
    }
    mass[t] = m;
  }
  for (let stride = WG / 2; stride > 0; stride >>= 1) for (let t = 0; t < stride; t++) mass[t] = mass[t] + mass[t + stride];
  return { count, mass: mass[0], minKept, maxDropped };
}

/** The shader's search(): bisection on the key range, snapping each moved bound to the nearest logit. */
function search(keys: Uint32Array, w: Float32Array, lo: number, hi: number, topK: number, target: number | null): number {
  while (hi - lo > 1) {
    const mid = lo + Math.floor((hi - lo) / 2);
    const s = split(keys, w, mid);
    if (target === null ? s.count >= topK : s.mass >= target) {
      lo = s.minKept;
      if (target === null && s.count === topK) break;
    } else {
      hi = s.maxDropped + 1;
    }
  }
  return lo;
}

/**
 * One token per row of logits (B, V) into outIds (B); seeds (B). temperature 0 is greedy (lowest index on
 * ties); topK keeps the topK largest logits (ties kept), topP then keeps the fewest highest-logit tokens
 * reaching topP of the top-k mass; the draw picks where the kept mass in index order first passes u * kept.
 * A row with a NaN or infinite logit gets NON_FINITE_LOGITS.
 */
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
  const invT = temperature <= 0 ? 0 : f(1 / temperature);
  for (let b = 0; b < B; b++) {
    const row = logits.subarray(b * V, (b + 1) * V);
    if (!row.every(Number.isFinite)) {
      outIds[b] = NON_FINITE_LOGITS;
      continue;
    }
    let top = 0;
    for (let i = 1; i < V; i++) if (row[i] > row[top]) top = i;
    if (temperature <= 0) {
      outIds[b] = top;
      continue;
    }
    const rowMax = row[top];
    const keys = Uint32Array.from(row, key);
    const w = Float32Array.from(row, (l) => Math.exp(f(f(l - rowMax) * invT)));
    const hiKey = keys[top] + 1;
    let threshold = 0;
    if (topK > 0 && topK < V) threshold = search(keys, w, 0, hiKey, topK, null);
    if (topP < 1) threshold = search(keys, w, threshold, hiKey, topK, f(f(topP) * split(keys, w, threshold).mass));

    const chunk = Math.ceil(V / WG);
    const kept = new Float32Array(WG);
    for (let t = 0; t < WG; t++) {
      for (let i = Math.min(t * chunk, V); i < Math.min(t * chunk + chunk, V); i++) if (keys[i] >= threshold) kept[t] = kept[t] + w[i];
    }
    let total = 0;
    for (let t = 0; t < WG; t++) total = f(total + kept[t]);
    const goal = f(sampleUniform(seeds[b], step) * total);
    let pick = 0xffffffff;
    let before = 0;
    for (let t = 0; t < WG && pick === 0xffffffff; t++) {
      const end = f(before + kept[t]);
      if (kept[t] > 0 && goal >= before && (goal < end || end >= total)) {
        let run = before;
        for (let i = t * chunk; i < Math.min(t * chunk + chunk, V); i++) {
          if (keys[i] >= threshold && w[i] > 0) {
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
