// The Datasets page in the browser: a generated 52K-row dataset imports, scrolls and searches with only the
// visible rows in the DOM; Figure 1 charts render for the shared alpaca_gpt4_en_1k.json.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { openStudio, repoRoot, type Studio } from './harness';

const sharedEn = path.resolve(repoRoot, '../shared/data/alpaca_gpt4_en_1k.json');
if (!existsSync(sharedEn)) console.warn(`[datasets e2e] ${sharedEn} is absent: the Figure 1 test is skipped`);

const N = 52_000;

describe('Datasets page', () => {
  let studio: Studio;

  beforeAll(async () => {
    studio = await openStudio();
    await studio.open('datasets');
  });

  afterAll(async () => {
    await studio?.close();
  });

  const rowCount = () => studio.page.getByTestId('row-count').innerText();
  const waitForCount = (text: string) =>
    studio.page.waitForFunction((t) => document.querySelector('[data-testid="row-count"]')?.textContent?.trim() === t, text, { timeout: 60_000 });
  const renderedRows = () => studio.page.locator('[data-testid="rows-viewport"] [role="row"]').count();

  test('a generated 52K-row dataset imports, scrolls and searches with a bounded DOM', async () => {
    const { page } = studio;
    const rows = Array.from({ length: N }, (_, i) => ({
      instruction: `Instruction ${i}: describe item ${i} in a few sentences.`,
      input: i % 3 === 0 ? `input for ${i}` : '',
      output: `Output ${i}. ${'Some words of an answer. '.repeat(i % 17)}`,
    }));
    rows[31_337].instruction = 'Find the needle in this haystack.';
    await page.getByLabel('Dataset file').setInputFiles({ name: 'generated-52k.json', mimeType: 'application/json', buffer: Buffer.from(JSON.stringify(rows)) });
    await waitForCount(`${N.toLocaleString('en')} of ${N.toLocaleString('en')} rows`);
    await page.getByRole('status').filter({ hasText: 'Imported 52,000 rows' }).waitFor();

    const viewport = page.getByTestId('rows-viewport');
    expect(await renderedRows()).toBeLessThan(60);

    // Jump around the table: each position shows its own rows, and the DOM never grows.
    for (const target of [0.25, 0.5, 0.999, 1, 0.1]) {
      const index = await viewport.evaluate((el, f) => {
        el.scrollTop = f * (el.scrollHeight - el.clientHeight);
        return Math.floor(el.scrollTop / 58);
      }, target);
      const row = page.locator(`[data-testid="rows-viewport"] [role="row"][aria-rowindex="${index + 3}"]`);
      await row.waitFor({ timeout: 10_000 });
      expect(await row.innerText()).toContain(`Instruction ${index + 1}:`);
      expect(await renderedRows()).toBeLessThan(60);
    }
    const lastRow = page.locator(`[data-testid="rows-viewport"] [role="row"][aria-rowindex="${N + 1}"]`);
    await viewport.evaluate((el) => (el.scrollTop = el.scrollHeight));
    await lastRow.waitFor({ timeout: 10_000 });
    expect(await lastRow.innerText()).toContain(`Instruction ${N - 1}:`);

    // Search narrows 52K rows to one and back; filters combine with it.
    await page.getByLabel('Search rows').fill('needle');
    await waitForCount(`1 of ${N.toLocaleString('en')} rows`);
    expect(await page.locator('[data-testid="rows-viewport"] [role="row"]').first().innerText()).toContain('Find the needle');
    await page.getByLabel('Search rows').fill('');
    await page.getByLabel('Input filter').selectOption('with');
    await waitForCount(`${Math.ceil(N / 3).toLocaleString('en')} of ${N.toLocaleString('en')} rows`);
    await page.getByLabel('Search rows').fill('item 9998 ');
    await waitForCount(`0 of ${N.toLocaleString('en')} rows`); // row 9998 has no input
    await page.getByLabel('Search rows').fill('item 9999 ');
    await waitForCount(`1 of ${N.toLocaleString('en')} rows`);
    await page.getByLabel('Input filter').selectOption('any');
    await page.getByLabel('Search rows').fill('');
    await waitForCount(`${N.toLocaleString('en')} of ${N.toLocaleString('en')} rows`);
    expect(await rowCount()).toContain('52,000');

    // Edit one row through the dialog; the table shows the new text.
    await page.getByLabel('Search rows').fill('needle');
    await waitForCount(`1 of ${N.toLocaleString('en')} rows`);
    await page.locator('[data-testid="rows-viewport"] [role="row"]').first().click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Output').fill('<b>found</b> it');
    await dialog.getByRole('button', { name: 'Save' }).click();
    await page.locator('[data-testid="rows-viewport"] [role="row"]').first().getByText('<b>found</b> it').waitFor();
    expect(studio.errors).toEqual([]);
  });

  test.skipIf(!existsSync(sharedEn))('Figure 1 charts render for alpaca_gpt4_en_1k.json', async () => {
    const { page } = studio;
    await page.getByLabel('Dataset file').setInputFiles(sharedEn);
    await waitForCount('999 of 999 rows');
    await page.getByRole('tab', { name: 'Statistics' }).click();
    await page.getByLabel('Compare with').selectOption({ label: 'generated-52k' });
    await page.getByLabel('Rows parsed per dataset').fill('1000');
    await page.getByRole('button', { name: 'Compute' }).click();
    const histogram = page.getByRole('img', { name: 'Output length histogram' });
    await histogram.waitFor({ timeout: 120_000 });
    expect(await histogram.locator('rect.bar').count()).toBeGreaterThan(10);
    const sun = page.getByRole('img', { name: 'Root verbs and direct objects: alpaca_gpt4_en_1k' });
    await sun.waitFor({ timeout: 120_000 });
    expect(await sun.locator('path.verb').count()).toBeGreaterThanOrEqual(10);
    expect(await sun.locator('path.noun').count()).toBeGreaterThan(10);
    const labels = await sun.locator('text').allTextContents();
    for (const verb of ['generate', 'write', 'create']) expect(labels).toContain(verb);
    const pairs = page.getByRole('img', { name: 'Most frequent verb-object pairs' });
    expect(await pairs.locator('rect').count()).toBe(2 * 25);
    expect(studio.errors).toEqual([]);
  });
});
