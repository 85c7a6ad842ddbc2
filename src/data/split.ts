// Train/validation split: a seeded shuffle, so the same seed always gives the same split.

/** mulberry32: a small, fast, seedable PRNG returning floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface Split {
  /** Row indices in the original order. */
  train: number[];
  validation: number[];
}

/** Picks round(n * fraction) rows for validation at random (seeded); both lists keep file order. */
export function splitIndices(n: number, validationFraction: number, seed: number): Split {
  if (!(validationFraction >= 0 && validationFraction <= 1)) {
    throw new RangeError(`validation fraction must be between 0 and 1, got ${validationFraction}`);
  }
  const order = Array.from({ length: n }, (_, i) => i);
  const rand = mulberry32(seed);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  const nVal = Math.round(n * validationFraction);
  const isVal = new Uint8Array(n);
  for (let k = 0; k < nVal; k++) isVal[order[k]] = 1;
  const train: number[] = [], validation: number[] = [];
  for (let i = 0; i < n; i++) (isVal[i] ? validation : train).push(i);
  return { train, validation };
}
