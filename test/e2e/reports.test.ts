// Reports in the built app: the paper's score file drawn as its score distribution per model (kept after a
// reload; named for what it is on the Datasets page).
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { openStudio, repoRoot, type Studio } from './harness';

const sharedScores = path.resolve(repoRoot, '../shared/data/gpt4_llm_cmp_data_scores.json');
const paperModels = ['text-davinci-003', 'icm-1.3b', 'gpt4'];

describe('Reports', () => {
  let studio: Studio;
  let dir = '';
  const file = (name: string) => path.join(dir, name);

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'reports-e2e-'));
    // The paper's file when ../shared is here, else one of the same shape.
    if (!existsSync(sharedScores)) {
      const scores = (k: number) => Array.from({ length: 500 }, (_, i) => (i * k) % 11);
      await writeFile(file('gpt4_llm_cmp_data_scores.json'), JSON.stringify(Object.fromEntries(paperModels.map((m, i) => [m, scores(i + 3)]))));
    }
    studio = await openStudio();
  });

  afterAll(async () => {
    await studio?.close();
    await rm(dir, { recursive: true, force: true });
  });

  test("the paper's score file is drawn as the share of responses at each score per model", async () => {
    const { page } = studio;
    const scores = existsSync(sharedScores) ? sharedScores : file('gpt4_llm_cmp_data_scores.json');
    await studio.open('datasets');
    await page.getByLabel('Dataset file').setInputFiles(scores);
    await page.getByRole('alert').filter({ hasText: /score file .* open it on the Reports page/ }).waitFor();

    await studio.open('reports');
    const report = page.getByRole('region', { name: 'GPT-4 feedback scores report' });
    await report.getByLabel('Score file').setInputFiles(scores);
    await page.getByText('Read the scores of 3 models from “gpt4_llm_cmp_data_scores.json”.').waitFor();
    const chart = report.locator('[data-chart="bars"]');
    for (const model of paperModels) expect(await chart.locator(`rect[data-series="${model}"]`).count()).toBe(11);
    expect(await chart.locator('rect[data-reference="true"]').count()).toBe(33);
    expect(await report.locator('tbody tr').count()).toBe(3);
    if (existsSync(sharedScores)) expect(await report.locator('tbody').innerText()).toMatch(/gpt4\s+51,445/);

    await page.reload();
    await studio.open('reports');
    await report.locator('[data-chart="bars"]').waitFor();
    expect(await report.locator('tbody tr').count()).toBe(3);
    expect(studio.errors).toEqual([]);
  });
});
