/** out[rows[m]] (C) = src[m] for m < M; rows (M) distinct. CPU twin of kernels/scatter.ts. */
export function scatterRows(out: Float32Array, src: Float32Array, rows: Uint32Array, M: number, C: number): void {
  for (let m = 0; m < M; m++) out.set(src.subarray(m * C, m * C + C), rows[m] * C);
}
