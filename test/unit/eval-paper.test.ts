import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { PAPER_FIGURE3, PAPER_FIGURE6, PAPER_FIGURE6_COUNTS, PAPER_JUDGE_FIGURES, paperFigureFor } from '../../src/eval/paper';

const dir = path.resolve(__dirname, '../../../shared/data/paper_results');

describe.skipIf(!existsSync(dir))('paper reference numbers (skipped without ../shared)', () => {
  test('Figure 6 equals the published plot data, bin by bin and overall', () => {
    const files = { '0-2': 'len0-2', '3-5': 'len3-5', '6-10': 'len6-10', '>10': 'len10-', all: 'lenALL' } as const;
    const names: Record<string, string> = { 'Alpaca-GPT4': 'LLaMA-GPT4 (7B)', Alpaca: 'Alpaca (7B)', GPT4: 'GPT-4' };
    let total = 0;
    for (const [bin, suffix] of Object.entries(files)) {
      const rows = JSON.parse(readFileSync(path.join(dir, `unnatural_rouge_${suffix}.json`), 'utf8')) as { Model: string; NumInstance: number; rougeL: number }[];
      expect(rows).toHaveLength(3);
      for (const row of rows) {
        const series = PAPER_FIGURE6.find((s) => s.model === names[row.Model])!;
        expect(bin === 'all' ? series.all : series.bins[bin as keyof typeof series.bins]).toBe(row.rougeL);
        if (bin !== 'all') expect(PAPER_FIGURE6_COUNTS[bin as keyof typeof PAPER_FIGURE6_COUNTS]).toBe(row.NumInstance);
      }
      if (bin !== 'all') total += rows[0].NumInstance;
    }
    expect(total).toBe(9000);
  });
});

describe('the paper judge and human-rating figures', () => {
  const ratio = (r: { a: number; b: number }) => Math.round((100 * r.a) / r.b);
  const figure = (id: string) => PAPER_JUDGE_FIGURES.find((f) => f.id === id)!;

  test('Figure 4 prints the percentages the paper quotes', () => {
    // The ratios the figure prints beside its bars (a / b, rounded).
    const vsGpt4 = figure('all-vs-gpt4');
    expect(vsGpt4.rows.map(ratio)).toEqual([71, 80, 89, 83, 87, 88, 91, 100]);
    expect(vsGpt4.rows.find((r) => r.model === 'LLaMA-GPT4 (7B)')).toEqual({ model: 'LLaMA-GPT4 (7B)', a: 606, b: 726.5 });
    expect(figure('all-vs-chatgpt').rows.map(ratio)).toEqual([72, 83, 99, 91, 94, 96, 100, 118]);
    // Reward-model groups 1-5 and the single-answer baseline B.
    expect(figure('ranked-vs-gpt4').rows.map(ratio)).toEqual([87, 85, 85, 83, 83, 83]);
    expect(figure('ranked-vs-chatgpt').rows.map((r) => r.model)).toEqual(['Group 1', 'Group 2', 'Group 3', 'Group 4', 'Group 5', 'B (one answer)']);
  });

  test('every total is at most the 800 of 80 questions at 10 points, and ids are unique', () => {
    for (const f of PAPER_JUDGE_FIGURES) for (const r of f.rows) expect(Math.max(r.a, r.b)).toBeLessThanOrEqual(800);
    expect(new Set(PAPER_JUDGE_FIGURES.map((f) => f.id)).size).toBe(PAPER_JUDGE_FIGURES.length);
  });

  test('a run against ChatGPT / GPT-3.5 reads beside the ChatGPT figure, anything else beside GPT-4', () => {
    expect(paperFigureFor('gpt-3.5-turbo')?.id).toBe('all-vs-chatgpt');
    expect(paperFigureFor('ChatGPT answers')?.id).toBe('all-vs-chatgpt');
    expect(paperFigureFor('answer_gpt35')?.id).toBe('all-vs-chatgpt');
    expect(paperFigureFor('gpt-4')?.id).toBe('all-vs-gpt4');
    expect(paperFigureFor('gpt-4-0613')?.id).toBe('all-vs-gpt4');
    // Any other opponent has no paper series beside it: not "ModelB", not GPT-4o or Turbo, not LLaMA-GPT4.
    for (const other of ['my base model', 'ModelB', 'gpt-4o', 'gpt-4-turbo', 'gpt-4.1', 'LLaMA-GPT4']) expect(paperFigureFor(other)).toBeNull();
  });

  test('Figure 3 shares add up to one per criterion', () => {
    for (const f of PAPER_FIGURE3) {
      for (const c of Object.values(f.criteria)) expect(c.a + c.b + c.tie).toBeCloseTo(1, 9);
    }
    expect(PAPER_FIGURE3[0].criteria.helpful.a).toBeCloseTo(0.5412, 4); // LLaMA-GPT4 preferred over Alpaca on helpfulness
  });
});
