// Learning-rate schedule: Hugging Face's get_cosine_schedule_with_warmup (half a cosine), with the Trainer's
// warmup steps = ceil(warmupRatio * totalSteps).

/**
 * The learning rate of the optimizer step taken after `step` steps (0-based): linear warmup from 0, then a
 * cosine decay to 0 at totalSteps. As in Hugging Face, the first step of a warmed-up run has learning rate 0.
 */
export function learningRate(step: number, totalSteps: number, baseLr: number, warmupRatio: number): number {
  if (!Number.isSafeInteger(totalSteps) || totalSteps < 1) throw new RangeError(`totalSteps must be a positive integer, got ${totalSteps}`);
  if (!Number.isSafeInteger(step) || step < 0) throw new RangeError(`step must be a non-negative integer, got ${step}`);
  if (!(warmupRatio >= 0 && warmupRatio <= 1)) throw new RangeError(`warmupRatio must be between 0 and 1, got ${warmupRatio}`);
  if (!(baseLr >= 0 && Number.isFinite(baseLr))) throw new RangeError(`the learning rate must be a non-negative number, got ${baseLr}`);
  const warmup = Math.ceil(warmupRatio * totalSteps);
  if (step < warmup) return (baseLr * step) / Math.max(1, warmup);
  const progress = (step - warmup) / Math.max(1, totalSteps - warmup);
  return baseLr * Math.max(0, 0.5 * (1 + Math.cos(Math.PI * progress)));
}
