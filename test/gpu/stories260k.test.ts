// End-to-end parity of the engine with stories260K goldens from an independent PyTorch implementation,
// through the CLI contract (`logits`, `generate`) on Node's WebGPU.
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import goldens from '../fixtures/stories260K/goldens.json';
import { cli } from './cli';

const model = 'test/fixtures/stories260K';
const V = 512;

describe('stories260K through the CLI', () => {
  test('logits match the goldens: first-5 logits within 1e-4, argmax exact, mean NLL within 1e-4', async () => {
    const out = path.join(await mkdtemp(path.join(tmpdir(), 'logits-')), 'logits.f32');
    const summary = JSON.parse(await cli('logits', '--model', model, '--ids', goldens.input_ids.join(','), '--out', out));
    const T = goldens.input_ids.length;
    expect(summary.T).toBe(T);
    expect(summary.argmax).toEqual(goldens.argmax_per_position);
    summary.logsumexp.forEach((v: number, t: number) => expect(Math.abs(v - goldens.logsumexp_per_position[t])).toBeLessThan(1e-4));

    const bytes = await readFile(out);
    expect(bytes.byteLength).toBe(T * V * 4);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const logit = (t: number, v: number) => view.getFloat32((t * V + v) * 4, true);
    goldens.logits_first5_per_position.forEach((row, t) =>
      row.forEach((expected, v) => expect(Math.abs(logit(t, v) - expected)).toBeLessThan(1e-4)),
    );
    const nll = goldens.next_token_nll.map((_, t) => summary.logsumexp[t] - logit(t, goldens.input_ids[t + 1]));
    nll.forEach((v, t) => expect(Math.abs(v - goldens.next_token_nll[t])).toBeLessThan(1e-4));
    const meanNll = nll.reduce((a, b) => a + b, 0) / nll.length;
    expect(Math.abs(meanNll - goldens.mean_next_token_nll)).toBeLessThan(1e-4);
  });

  test('greedy decoding from BOS gives the golden ids exactly', async () => {
    const expected = goldens.greedy_from_bos_39;
    const result = JSON.parse(await cli('generate', '--model', model, '--ids', '1', '--max-new-tokens', String(expected.length - 1), '--json'));
    expect(result.samples).toHaveLength(1);
    expect([1, ...result.samples[0].ids]).toEqual(expected);
    expect(result.decode_tokens_per_s).toBeGreaterThan(0);
  });

  test('n samples decoded in one batched pass equal n separate runs with the same seeds', async () => {
    const args = ['--model', model, '--ids', '1,461,401', '--max-new-tokens', '12', '--temperature', '0.9', '--top-p', '0.95', '--top-k', '40', '--json'];
    const batched = JSON.parse(await cli('generate', ...args, '--n', '4', '--seed', '7'));
    expect(batched.samples.map((s: { seed: number }) => s.seed)).toEqual([7, 8, 9, 10]);
    for (const sample of batched.samples) {
      const single = JSON.parse(await cli('generate', ...args, '--n', '1', '--seed', String(sample.seed)));
      expect(single.samples[0].ids).toEqual(sample.ids);
    }
    // Different seeds really do sample differently.
    expect(new Set(batched.samples.map((s: { ids: number[] }) => s.ids.join(','))).size).toBeGreaterThan(1);
  });
});
