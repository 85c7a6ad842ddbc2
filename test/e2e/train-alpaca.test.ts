// The Train page on Alpaca rows from a dataset stored in the browser, tokenized in the worker with the Llama 2
// tokenizer of a small random model picked as local files: the token preview marks the Alpaca prompt masked
// and the response plus EOS trained, rows past the max length are counted, and training takes the loss near zero.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Page } from 'playwright-core';
import { ALPACA_ROWS, llama2Tokenizer, writeLlama2TokenizerModel } from '../fixtures/alpaca-rows';
import { openStudio, type Studio } from './harness';

const STEPS = 30;

function lossPoints(page: Page): Promise<number[]> {
  return page.locator('figure[data-title="Loss"] circle[data-series="train loss"]').evaluateAll((circles) => circles.map((c) => Number(c.getAttribute('data-y'))));
}

describe.skipIf(!existsSync(llama2Tokenizer))('Train page with Alpaca rows and the Llama 2 tokenizer (skipped without ../shared)', () => {
  let studio: Studio;

  beforeAll(async () => {
    studio = await openStudio();
  });

  afterAll(async () => {
    await studio?.close();
  });

  test('preview, max-length count and a loss overfitted to near zero', async () => {
    const { page } = studio;
    await studio.open('datasets');
    await page.getByLabel('Dataset file').setInputFiles({ name: 'tiny-alpaca.json', mimeType: 'application/json', buffer: Buffer.from(JSON.stringify(ALPACA_ROWS)) });
    await page.getByText('tiny-alpaca', { exact: false }).first().waitFor();

    await studio.open('train');
    const model = await writeLlama2TokenizerModel();
    await page.getByLabel('Model files').setInputFiles(['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json'].map((f) => path.join(model.dir, f)));
    await page.getByRole('region', { name: 'local files' }).waitFor({ timeout: 120_000 });
    await page.getByRole('radio', { name: 'Dataset', exact: true }).check();
    await page.getByRole('radio', { name: 'Alpaca template' }).check();
    await page.getByText('16 rows to train on').waitFor();

    // Row 1, "Name a primary color." -> "Red.": the whole Alpaca prompt masked, "Red." and EOS trained.
    const tokens = page.getByLabel('Tokens of the row').locator('span');
    await tokens.first().waitFor();
    const shown = await tokens.evaluateAll((spans) => spans.map((s) => ({ text: s.textContent ?? '', trained: s.getAttribute('data-trained') === 'true' })));
    const masked = shown.filter((t) => !t.trained).map((t) => t.text).join('');
    const trained = shown.filter((t) => t.trained).map((t) => t.text).join('');
    expect(masked).toContain('Below is an instruction that describes a task.');
    expect(masked).toContain('### Instruction:');
    expect(masked).toContain('Name a primary color.');
    expect(masked).toContain('### Response:');
    expect(trained).toMatch(/^\s*Red\.<\/s>$/);
    expect(shown.findIndex((t) => t.trained)).toBeGreaterThan(shown.length - 4);

    const form = page.getByRole('form', { name: 'Hyperparameters' });
    await form.getByLabel('Rank r').fill('32');
    await form.getByLabel('Alpha').fill('64');
    await form.getByLabel('Dropout').fill('0');
    for (const target of ['q', 'k', 'v', 'o', 'gate', 'up', 'down']) await form.getByRole('checkbox', { name: target, exact: true }).check();
    await form.getByLabel('Learning rate').fill('0.02');
    await form.getByLabel('Warmup ratio').fill('0.1');
    await form.getByRole('radio', { name: 'Steps' }).check();
    await form.getByLabel('Number of steps').fill(String(STEPS));
    await form.getByLabel('Batch size').fill('16');
    // Two rows (75 and 67 tokens) are longer than 64.
    await form.getByLabel('Max length').fill('64');
    await form.getByLabel('Max length').press('Enter');

    const monitor = page.getByRole('region', { name: /tiny-alpaca/ });
    await monitor.getByText('finished', { exact: true }).waitFor({ timeout: 900_000 });
    const losses = await lossPoints(page);
    expect(losses).toHaveLength(STEPS);
    expect(losses[0]).toBeGreaterThan(10);
    expect(losses.at(-1)!).toBeLessThan(0.3);
    expect(await monitor.locator('[data-value="truncated"]').innerText()).toBe('2 rows longer than 64 tokens');
    expect(studio.errors).toEqual([]);
  }, 1_200_000);
});
