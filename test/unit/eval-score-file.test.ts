// The paper's score file (gpt4_llm_cmp_data_scores.json): recognized, checked, and turned into the share of
// responses at each score per model; on the Datasets page it is named for what it is instead of "invalid JSON".
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { ImportError, parseDataset } from '../../src/data/formats';
import { parseScoreFile, ScoreFileError, scoreFileCsv } from '../../src/eval/score-file';

const shared = path.resolve(__dirname, '../../../shared/data/gpt4_llm_cmp_data_scores.json');
if (!existsSync(shared)) console.warn(`[score file] ${shared} is absent: the test on the paper's file is skipped`);

const small = JSON.stringify({ gpt4: [9, 9, 10, 8], 'icm-1.3b': [1.0, 0, 5, 9.0, 9] }, null, 2);

describe('score file', () => {
  test('counts each score per model, with n and mean', () => {
    const [gpt4, icm] = parseScoreFile(small);
    expect(gpt4).toEqual({ model: 'gpt4', n: 4, mean: 9, counts: [0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 1] });
    expect(icm.model).toBe('icm-1.3b');
    expect(icm.counts[0] + icm.counts[1] + icm.counts[5] + icm.counts[9]).toBe(5);
    expect(icm.mean).toBeCloseTo(24 / 5, 12);
    const csv = scoreFileCsv([gpt4]).trim().split('\n');
    expect(csv[0]).toBe('model,score,count,share');
    expect(csv).toContain('"gpt4",9,2,0.500000');
    expect(csv).toHaveLength(12);
  });

  test.each([
    ['[1, 2]', /expected a score file/],
    ['{"a": [1, 2], "b": ["x"]}', /expected a score file/],
    ['{"a": [1, 11]}', /^a, score 2: 11 is not a score from 0 to 10$/],
    ['{"a": [1, null]}', /^a, score 2: null is not a score/],
    ['{"a": []}', /a has no scores/],
    ['{"a": [1,', /^not JSON/],
  ])('refuses %s with a message naming the place', (text, message) => {
    expect(() => parseScoreFile(text)).toThrow(ScoreFileError);
    expect(() => parseScoreFile(text)).toThrow(message);
  });

  test('the Datasets import names it as a score file, not invalid JSON', () => {
    let error: unknown;
    try {
      parseDataset(small);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ImportError);
    expect((error as Error).message).toMatch(/score file .*gpt4, icm-1\.3b.*Reports page/);
  });

  test.skipIf(!existsSync(shared))("the paper's file: three models, about 51K scores each", () => {
    const models = parseScoreFile(readFileSync(shared, 'utf8'));
    expect(models.map((m) => [m.model, m.n])).toEqual([['text-davinci-003', 51183], ['icm-1.3b', 51428], ['gpt4', 51445]]);
    for (const m of models) expect(m.counts.reduce((a, b) => a + b, 0)).toBe(m.n);
    const mean = Object.fromEntries(models.map((m) => [m.model, m.mean]));
    // GPT-4's own answers score highest, OPT-IML 1.3B's lowest, as in the paper's plot.
    expect(mean.gpt4).toBeGreaterThan(mean['text-davinci-003']);
    expect(mean['text-davinci-003']).toBeGreaterThan(mean['icm-1.3b']);
  });
});
