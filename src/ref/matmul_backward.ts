// CPU twins of kernels/matmul_backward.ts: gradients of out = inp @ weight^T + bias. Both accumulate.

/** dinp (N, C) += dout (N, OC) @ weight (OC, C). */
export function matmulBackwardInput(dinp: Float32Array, dout: Float32Array, weight: Float32Array, N: number, C: number, OC: number): void {
  const row = new Float64Array(C);
  for (let n = 0; n < N; n++) {
    row.fill(0);
    for (let o = 0; o < OC; o++) {
      const d = dout[n * OC + o];
      for (let c = 0; c < C; c++) row[c] += d * weight[o * C + c];
    }
    for (let c = 0; c < C; c++) dinp[n * C + c] += row[c];
  }
}

/** dweight (OC, C) += dout (N, OC)^T @ inp (N, C). */
export function matmulBackwardWeight(dweight: Float32Array, dout: Float32Array, inp: Float32Array, N: number, C: number, OC: number): void {
  const row = new Float64Array(C);
  for (let o = 0; o < OC; o++) {
    row.fill(0);
    for (let n = 0; n < N; n++) {
      const d = dout[n * OC + o];
      for (let c = 0; c < C; c++) row[c] += d * inp[n * C + c];
    }
    for (let c = 0; c < C; c++) dweight[o * C + c] += row[c];
  }
}
