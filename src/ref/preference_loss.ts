// CPU twins of kernels/preference_loss.ts: losses[p] = -log sigmoid(z[p]) with
// z[p] = beta * ((values[p] - values[P + p]) - (reference[p] - reference[P + p])) - margins[p].

function margin(values: Float32Array, reference: Float32Array, margins: Float32Array, beta: number, P: number, p: number): number {
  return beta * ((values[p] - values[P + p]) - (reference[p] - reference[P + p])) - margins[p];
}

/** losses (P) = softplus(-z) for values (2P), reference (2P), margins (P); no exp overflows for large |z|. */
export function preferenceLossForward(losses: Float32Array, values: Float32Array, reference: Float32Array, margins: Float32Array, beta: number, P: number): void {
  for (let p = 0; p < P; p++) {
    const z = margin(values, reference, margins, beta, P, p);
    losses[p] = Math.max(-z, 0) + Math.log1p(Math.exp(-Math.abs(z)));
  }
}

/** dvalues (2P) = gradient of scale * sum(losses): -beta * sigmoid(-z) * scale chosen, the negation rejected (overwrites). */
export function preferenceLossBackward(dvalues: Float32Array, values: Float32Array, reference: Float32Array, margins: Float32Array, beta: number, scale: number, P: number): void {
  for (let p = 0; p < P; p++) {
    const z = margin(values, reference, margins, beta, P, p);
    const e = Math.exp(-Math.abs(z));
    const g = beta * (z >= 0 ? e / (1 + e) : 1 / (1 + e)) * scale;
    dvalues[p] = -g;
    dvalues[P + p] = g;
  }
}
