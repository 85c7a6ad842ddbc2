// CPU twins of kernels/reward.ts: the reward head rewards = hidden @ score. Both backward passes accumulate.

/** rewards (M) = hidden (M, C) @ score (C). */
export function rewardForward(rewards: Float32Array, hidden: Float32Array, score: Float32Array, M: number, C: number): void {
  for (let m = 0; m < M; m++) {
    let sum = 0;
    for (let c = 0; c < C; c++) sum += hidden[m * C + c] * score[c];
    rewards[m] = sum;
  }
}

/** dhidden (M, C) += drewards (M) outer score (C). */
export function rewardBackwardInput(dhidden: Float32Array, drewards: Float32Array, score: Float32Array, M: number, C: number): void {
  for (let m = 0; m < M; m++) {
    for (let c = 0; c < C; c++) dhidden[m * C + c] += drewards[m] * score[c];
  }
}

/** dscore (C) += drewards (M) @ hidden (M, C). */
export function rewardBackwardWeight(dscore: Float32Array, drewards: Float32Array, hidden: Float32Array, M: number, C: number): void {
  for (let c = 0; c < C; c++) {
    let sum = 0;
    for (let m = 0; m < M; m++) sum += drewards[m] * hidden[m * C + c];
    dscore[c] += sum;
  }
}
