// The LoRA dropout mask as a counter-based hash of (seed, element index): no mask buffer, the same bits in
// every shader that needs them (forward, dInput, dA) and in the CPU twins. The WGSL copy of `hash32` lives in
// shaders/lora_dropout.wgsl and must stay identical to this one.

/** lowbias32, a 32-bit integer finalizer with good avalanche. */
export function hash32(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  x ^= x >>> 16;
  return x >>> 0;
}

/** Elements whose hash is below this are dropped; p in [0, 1). p = 0 keeps everything. */
export function dropoutThreshold(p: number): number {
  if (!(p >= 0 && p < 1)) throw new RangeError(`dropout probability ${p} is outside [0, 1); pass a value like 0.05`);
  return Math.min(Math.floor(p * 2 ** 32), 2 ** 32 - 1);
}

/** Whether element `index` (row * C + col, modulo 2^32 as in the shaders) survives dropout. */
export function dropoutKeep(seed: number, index: number, threshold: number): boolean {
  return hash32((index ^ hash32(seed >>> 0)) >>> 0) >= threshold;
}

/** The multiplier of kept elements, 1 / (1 - p), so the expected input is unchanged. */
export function dropoutScale(p: number): number {
  return 1 / (1 - p);
}
