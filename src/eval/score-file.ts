// The paper's score file, gpt4_llm_cmp_data_scores.json from the GPT-4-LLM plots: GPT-4's feedback score (0-10)
// for each response of each model, `{ "<model>": [score, ...] }`, no texts. Reports draws it as the share of
// responses at each score per model, the distribution the paper plots.

export const SCORE_VALUES = Array.from({ length: 11 }, (_, i) => i);

export interface ScoreDistribution {
  model: string;
  /** Responses scored. */
  n: number;
  mean: number;
  /** counts[s]: responses whose score rounds to s, s = 0..10. */
  counts: number[];
}

export class ScoreFileError extends Error {}

/** True for a parsed JSON value shaped like a score file: an object of number arrays. */
export function looksLikeScoreFile(value: unknown): value is Record<string, unknown[]> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const entries = Object.values(value);
  return entries.length > 0 && entries.every((v) => Array.isArray(v) && (v.length === 0 || typeof v[0] === 'number'));
}

export function scoreDistribution(model: string, scores: readonly number[]): ScoreDistribution {
  const counts = SCORE_VALUES.map(() => 0);
  let sum = 0;
  for (const s of scores) {
    counts[Math.round(s)]++;
    sum += s;
  }
  return { model, n: scores.length, mean: scores.length ? sum / scores.length : 0, counts };
}

/** The distribution per model of a score file's text; a message naming the model and item when it is not one. */
export function parseScoreFile(text: string): ScoreDistribution[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new ScoreFileError(`not JSON: ${(e as Error).message}`);
  }
  if (!looksLikeScoreFile(value)) {
    throw new ScoreFileError('expected a score file: an object of score lists per model, e.g. {"gpt4": [9, 8, ...], "text-davinci-003": [...]}');
  }
  return Object.entries(value).map(([model, scores]) => {
    const bad = scores.findIndex((s) => typeof s !== 'number' || !Number.isFinite(s) || s < 0 || s > 10);
    if (bad >= 0) throw new ScoreFileError(`${model}, score ${bad + 1}: ${JSON.stringify(scores[bad])} is not a score from 0 to 10`);
    if (!scores.length) throw new ScoreFileError(`${model} has no scores`);
    return scoreDistribution(model, scores as number[]);
  });
}

/** One line per model and score: model, score, count, share. */
export function scoreFileCsv(models: readonly ScoreDistribution[]): string {
  const lines = ['model,score,count,share'];
  for (const m of models) {
    for (const s of SCORE_VALUES) lines.push(`${JSON.stringify(m.model)},${s},${m.counts[s]},${(m.counts[s] / m.n).toFixed(6)}`);
  }
  return `${lines.join('\n')}\n`;
}
