// CPU twins of kernels/crossentropy.ts. Targets are already shifted (targets[n] = labels[n + 1]); -100 masks.

export const IGNORE_INDEX = -100;

function checkTarget(target: number, V: number, n: number): boolean {
  if (target === IGNORE_INDEX) return false;
  if (!(Number.isInteger(target) && target >= 0 && target < V)) {
    throw new RangeError(`target ${target} at row ${n} is outside the vocabulary [0, ${V}); use -100 to mask a position`);
  }
  return true;
}

function logSumExp(logits: Float32Array, row: number, V: number): number {
  let max = -Infinity;
  for (let v = 0; v < V; v++) max = Math.max(max, logits[row + v]);
  let sum = 0;
  for (let v = 0; v < V; v++) sum += Math.exp(logits[row + v] - max);
  return max + Math.log(sum);
}

/** losses (N) = -log softmax(logits (N, V))[targets (N)]; 0 where targets[n] == -100. */
export function crossentropyForward(losses: Float32Array, logits: Float32Array, targets: Int32Array, N: number, V: number): void {
  for (let n = 0; n < N; n++) {
    const row = n * V;
    losses[n] = checkTarget(targets[n], V, n) ? logSumExp(logits, row, V) - logits[row + targets[n]] : 0;
  }
}

/** dlogits (N, V) = (softmax(logits) - onehot(targets)) * dlosses (N) per row on trained rows, 0 on masked rows (overwrites). */
export function crossentropyBackward(dlogits: Float32Array, logits: Float32Array, targets: Int32Array, dlosses: Float32Array, N: number, V: number): void {
  for (let n = 0; n < N; n++) {
    const row = n * V;
    if (!checkTarget(targets[n], V, n)) {
      dlogits.fill(0, row, row + V);
      continue;
    }
    const lse = logSumExp(logits, row, V);
    for (let v = 0; v < V; v++) dlogits[row + v] = (Math.exp(logits[row + v] - lse) - (v === targets[n] ? 1 : 0)) * dlosses[n];
  }
}
