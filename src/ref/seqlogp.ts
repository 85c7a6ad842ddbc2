// CPU twins of kernels/seqlogp.ts: sequence s owns the loss rows [starts[s], starts[s + 1]).

function checkStarts(starts: Uint32Array, S: number, M: number): void {
  for (let s = 0; s < S; s++) {
    if (starts[s] > starts[s + 1]) throw new RangeError(`starts[${s}] = ${starts[s]} exceeds starts[${s + 1}] = ${starts[s + 1]}: ranges must be in order`);
  }
  if (starts[S] > M) throw new RangeError(`starts[${S}] = ${starts[S]} is past the ${M} loss rows`);
}

/** logps (S) = -sum of losses (M) over each range of starts (S + 1); 0 for an empty range. */
export function seqlogpForward(logps: Float32Array, losses: Float32Array, starts: Uint32Array, S: number): void {
  checkStarts(starts, S, losses.length);
  for (let s = 0; s < S; s++) {
    let sum = 0;
    for (let m = starts[s]; m < starts[s + 1]; m++) sum += losses[m];
    logps[s] = -sum;
  }
}

/** dlosses (M) = -dlogps (S)[s] on the rows of sequence s, 0 outside every range (overwrites). */
export function seqlogpBackward(dlosses: Float32Array, dlogps: Float32Array, starts: Uint32Array, M: number, S: number): void {
  checkStarts(starts, S, M);
  dlosses.fill(0, 0, M);
  for (let s = 0; s < S; s++) dlosses.fill(-dlogps[s], starts[s], starts[s + 1]);
}
