// Golden parity through the real worker: the page's console API (window.studioEngine) returns the logits of
// stories260K, compared with numbers from an independent PyTorch implementation.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { openStudio, type Studio } from './harness';
import { goldens, loadStoriesFromFiles } from './ui';

describe('studioEngine.logits in the browser', () => {
  let studio: Studio;

  beforeAll(async () => {
    studio = await openStudio();
    await studio.open('playground');
    await loadStoriesFromFiles(studio.page);
  });

  afterAll(async () => {
    await studio?.close();
  });

  test('matches the goldens: first-5 logits, argmax and mean next-token NLL', async () => {
    const ids = goldens.input_ids;
    const { logits, T, V, isF32 } = await studio.page.evaluate(async (ids) => {
      const result = await window.studioEngine.logits(ids);
      return { logits: Array.from(result.logits), T: result.T, V: result.V, isF32: result.logits instanceof Float32Array };
    }, ids);
    expect(isF32).toBe(true);
    expect(T).toBe(ids.length);
    expect(V).toBe(512);
    expect(logits).toHaveLength(T * V);

    const rows = Array.from({ length: T }, (_, t) => logits.slice(t * V, (t + 1) * V));
    rows.forEach((row, t) => {
      goldens.logits_first5_per_position[t].forEach((want, v) => {
        expect(Math.abs(row[v] - want), `logit [${t}, ${v}] = ${row[v]}, golden ${want}`).toBeLessThanOrEqual(1e-4);
      });
    });
    expect(rows.map(argmax)).toEqual(goldens.argmax_per_position);
    const nll = rows.slice(0, -1).map((row, t) => logsumexp(row) - row[ids[t + 1]]);
    const meanNll = nll.reduce((a, b) => a + b, 0) / nll.length;
    expect(Math.abs(meanNll - goldens.mean_next_token_nll)).toBeLessThanOrEqual(1e-4);
    expect(studio.errors).toEqual([]);
  });
});

function argmax(row: number[]): number {
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i] > row[best]) best = i;
  return best;
}

function logsumexp(row: number[]): number {
  const max = Math.max(...row);
  return max + Math.log(row.reduce((a, x) => a + Math.exp(x - max), 0));
}
