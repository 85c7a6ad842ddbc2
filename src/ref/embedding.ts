/** out (N, C) = wte[ids[n]]; ids (N), wte (V, C) (f16 tables as their f32 values). CPU twin of kernels/embedding.ts. */
export function embeddingForward(out: Float32Array, ids: Uint32Array, wte: Float32Array, N: number, C: number): void {
  for (let n = 0; n < N; n++) out.set(wte.subarray(ids[n] * C, ids[n] * C + C), n * C);
}
