import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { PAPER_FIGURE6, PAPER_FIGURE6_COUNTS } from '../../src/eval/paper';

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
