// The Train page on stories260K picked as local files: 16 pre-tokenized rows (from the goldens' greedy story),
// a token preview that marks the masked prompt, LoRA training whose loss chart fills and falls, a visit to another
// page mid-run (the run's true state on return), a page reload after a checkpoint that resumes by itself from the
// checkpoint step (not step 0) with the model from the browser's kept copy and the form and data restored, to a
// low loss; the kept folder listed with its size and forgotten; no console warnings.
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Download, Page } from 'playwright-core';
import { bytesSource } from '../../src/model/files';
import { openSafetensors } from '../../src/model/safetensors';
import { openStudio, type Studio } from './harness';
import { go, goldens, loadStoriesFromFiles, parseShownIds, seriesPoints, shownStep, stories260K, storyRowsJsonl } from './ui';

const TOTAL_STEPS = 12;

/** The train-loss points the loss chart draws, as {x: step, y: loss}. */
const lossPoints = (page: Page) => seriesPoints(page, 'Loss', 'train loss');

async function checkpointStep(page: Page): Promise<number | null> {
  const text = await page.locator('[data-value="checkpoint"]').innerText();
  const match = /step (\d+)/.exec(text);
  return match ? Number(match[1]) : null;
}

describe('Train page with stories260K from local files', () => {
  let studio: Studio;

  beforeAll(async () => {
    studio = await openStudio();
    await studio.open('train');
    await loadStoriesFromFiles(studio.page);
  });

  afterAll(async () => {
    await studio?.close();
  });

  test('pre-tokenized rows preview with the prompt masked; a bad row is refused with its line', async () => {
    const { page } = studio;
    await page.getByRole('radio', { name: 'Pre-tokenized JSONL' }).check();
    const file = page.getByLabel('Pre-tokenized JSONL file');
    await file.setInputFiles({ name: 'bad.jsonl', mimeType: 'application/jsonl', buffer: Buffer.from('{"input_ids": [1, 2], "labels": [1, 2]}\n{"input_ids": [1, 9999], "labels": [1, 2]}\n') });
    await page.getByRole('region', { name: 'Data', exact: true }).getByRole('alert').filter({ hasText: 'line 2' }).waitFor();
    expect(await page.getByRole('button', { name: 'Start training' }).isDisabled()).toBe(true);

    await file.setInputFiles({ name: 'rows.jsonl', mimeType: 'application/jsonl', buffer: Buffer.from(storyRowsJsonl()) });
    await page.getByText('16 rows to train on').waitFor();
    const tokens = page.getByLabel('Tokens of the row').locator('span');
    await tokens.first().waitFor();
    const trained = await tokens.evaluateAll((spans) => spans.map((s) => s.getAttribute('data-trained')));
    expect(trained).toEqual(['false', 'false', 'false', 'true', 'true', 'true', 'true', 'true', 'true']);
    expect(await tokens.first().innerText()).toBe('1');
    expect(studio.errors).toEqual([]);
  });

  test('invalid hyperparameters are named and block the start', async () => {
    const { page } = studio;
    const form = page.getByRole('form', { name: 'Hyperparameters' });
    await form.getByLabel('Dropout').fill('1.5');
    await form.getByText('Dropout must be a number from 0 up to, not including, 1.').waitFor();
    expect(await form.getByLabel('Dropout').getAttribute('aria-invalid')).toBe('true');
    expect(await page.getByRole('button', { name: 'Start training' }).isDisabled()).toBe(true);
    await form.getByLabel('Dropout').fill('0');
    expect(await form.getByLabel('Dropout').getAttribute('aria-invalid')).toBeNull();
  });

  test('training fills a falling loss curve, survives a visit to another page, and after a reload resumes by itself from the checkpoint and finishes low', async () => {
    const { page } = studio;
    const form = page.getByRole('form', { name: 'Hyperparameters' });
    await form.getByLabel('Rank r').fill('16');
    await form.getByLabel('Alpha').fill('32');
    await form.getByLabel('Dropout').fill('0');
    for (const target of ['q', 'k', 'v', 'o', 'gate', 'up', 'down']) await form.getByRole('checkbox', { name: target, exact: true }).check();
    await form.getByLabel('Learning rate').fill('0.01');
    await form.getByRole('radio', { name: 'Steps' }).check();
    await form.getByLabel('Number of steps').fill(String(TOTAL_STEPS));
    await form.getByLabel('Batch size').fill('16');
    await form.getByLabel('Checkpoint every').fill('2');
    // Enter in a field submits the form.
    await form.getByLabel('Checkpoint every').press('Enter');

    const monitor = page.getByRole('region', { name: /rows\.jsonl/ });
    await monitor.getByText('training', { exact: true }).waitFor({ timeout: 120_000 });

    // Another page and back mid-run: the monitor still follows the run (no stale "interrupted", Pause enabled).
    await expect.poll(() => shownStep(page), { timeout: 600_000, interval: 250 }).toBeGreaterThanOrEqual(1);
    await go(page, 'Playground');
    await page.getByLabel('Prompt token ids').waitFor();
    await go(page, 'Train');
    await monitor.getByText('training', { exact: true }).waitFor();
    expect(await monitor.getByText('interrupted', { exact: true }).count()).toBe(0);
    expect(await monitor.getByRole('button', { name: 'Pause' }).isEnabled()).toBe(true);
    const stepBack = await shownStep(page);
    await expect.poll(() => shownStep(page), { timeout: 600_000, interval: 250 }).toBeGreaterThan(stepBack);

    await expect.poll(() => checkpointStep(page), { timeout: 600_000, interval: 500 }).toBeGreaterThanOrEqual(4);
    const before = await lossPoints(page);
    expect(before.length).toBeGreaterThanOrEqual(4);
    expect(before.map((p) => p.x)).toEqual(before.map((_, i) => i + 1));
    expect(before.at(-1)!.y).toBeLessThan(before[0].y);
    const seenCheckpoint = (await checkpointStep(page))!;
    expect(seenCheckpoint).toBeLessThan(TOTAL_STEPS);

    // A reload mid-run: the run goes on by itself from its last checkpoint, with the model from the browser's
    // copy of the picked files, and the form and data it trains with back in the page.
    await page.addInitScript(() => {
      const seen: string[] = [];
      Object.assign(window, { seenSteps: seen });
      new MutationObserver(() => {
        const text = document.querySelector('[aria-label="Step"]')?.textContent ?? '';
        if (text && seen.at(-1) !== text) seen.push(text);
      }).observe(document, { subtree: true, childList: true, characterData: true });
    });
    await page.reload();
    await page.getByRole('region', { name: 'local files' }).waitFor({ timeout: 120_000 });
    await monitor.getByText('training', { exact: true }).waitFor({ timeout: 120_000 });
    expect(await page.getByRole('radio', { name: 'Pre-tokenized JSONL' }).isChecked()).toBe(true);
    await page.getByText('16 rows to train on').waitFor();
    expect(await form.getByLabel('Rank r').inputValue()).toBe('16');
    expect(await form.getByLabel('Learning rate').inputValue()).toBe('0.01');
    expect(await form.getByLabel('Number of steps').inputValue()).toBe(String(TOTAL_STEPS));

    // The picked folder is kept in the browser, its size shown.
    const kept = page.getByRole('list', { name: 'Kept in this browser' }).getByRole('listitem');
    await expect.poll(() => kept.count()).toBe(1);
    const bytes = (await stat(path.join(stories260K, 'config.json'))).size + (await stat(path.join(stories260K, 'model.safetensors'))).size;
    expect(Number(await kept.locator('[data-bytes]').getAttribute('data-bytes'))).toBe(bytes);
    expect(await kept.innerText()).toContain('local files');

    // Left for the Playground until the run finishes there (its adapter is applied), then back: the true state.
    await go(page, 'Playground');
    await page.getByRole('region', { name: 'Adapter', exact: true }).getByRole('status').filter({ hasText: 'rows.jsonl' }).waitFor({ timeout: 600_000 });
    await go(page, 'Train');
    await monitor.getByText('finished', { exact: true }).waitFor();
    expect(await monitor.getByText('interrupted', { exact: true }).count()).toBe(0);
    expect(await monitor.getByRole('button', { name: /Resume/ }).count()).toBe(0);
    await page.getByRole('status').filter({ hasText: `Finished ${TOTAL_STEPS} steps` }).waitFor();

    const seen = await page.evaluate(() => (window as unknown as { seenSteps: string[] }).seenSteps);
    const steps = seen.map((s) => Number(/Step (\d+)/.exec(s)?.[1] ?? NaN)).filter((n) => !Number.isNaN(n));
    expect(steps.length, `step counter texts: ${seen.join(' | ')}`).toBeGreaterThan(0);
    const resumeStep = Math.min(...steps);
    expect(resumeStep, `step counter texts: ${seen.join(' | ')}`).toBeGreaterThanOrEqual(seenCheckpoint);
    expect(resumeStep % 2).toBe(0);
    expect(steps.at(-1)).toBe(TOTAL_STEPS);

    const after = await lossPoints(page);
    expect(after.map((p) => p.x)).toEqual(Array.from({ length: TOTAL_STEPS }, (_, i) => i + 1));
    expect(after.slice(0, seenCheckpoint)).toEqual(before.slice(0, seenCheckpoint));
    expect(after.at(-1)!.y).toBeLessThan(0.3);
    expect(after.at(-1)!.y).toBeLessThan(after[0].y / 10);
    expect(await monitor.locator('[data-value="checkpoint"]').innerText()).toBe(`step ${TOTAL_STEPS}`);

    // Forgetting the kept folder deletes its files from the browser; the loaded model stays.
    await kept.getByRole('button', { name: 'Forget local files' }).click();
    await expect.poll(() => kept.count()).toBe(0);
    const left = await page.evaluate(async () => {
      const dir = await (await navigator.storage.getDirectory()).getDirectoryHandle('local-models');
      const names: string[] = [];
      for await (const name of (dir as unknown as { keys(): AsyncIterable<string> }).keys()) names.push(name);
      return names;
    });
    expect(left).toEqual([]);
    await page.getByRole('region', { name: 'local files' }).waitFor();
    expect(studio.errors).toEqual([]);
    expect(studio.warnings).toEqual([]);
  }, 1_500_000);

  test('the finished run exports PEFT files, which the playground loads and compares with the base model', async () => {
    const { page } = studio;
    const downloads: Download[] = [];
    page.on('download', (d) => downloads.push(d));
    await page.getByRole('row', { name: /rows\.jsonl/ }).getByRole('button', { name: 'Export adapter' }).click();
    await expect.poll(() => downloads.length).toBe(2);
    const files = new Map(await Promise.all(downloads.map(async (d) => [d.suggestedFilename(), await readFile((await d.path())!)] as const)));
    const config = JSON.parse(files.get('adapter_config.json')!.toString('utf8'));
    expect(config).toMatchObject({ peft_type: 'LORA', task_type: 'CAUSAL_LM', r: 16, lora_alpha: 32, lora_dropout: 0, bias: 'none' });
    expect(config.target_modules).toEqual(['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj']);
    const weights = await openSafetensors(bytesSource('adapter_model.safetensors', new Uint8Array(files.get('adapter_model.safetensors')!)));
    expect(weights.tensors.size).toBe(5 * 7 * 2);
    expect(weights.tensors.get('base_model.model.model.layers.4.mlp.down_proj.lora_A.weight')?.shape).toEqual([16, 172]);
    expect(weights.tensors.get('base_model.model.model.layers.0.self_attn.k_proj.lora_B.weight')?.shape).toEqual([32, 16]);

    await page.getByRole('link', { name: 'Playground' }).click();
    const panel = page.getByRole('region', { name: 'Adapter', exact: true });
    // Training left its adapter applied.
    await panel.getByRole('status').filter({ hasText: 'rows.jsonl' }).waitFor();
    await panel.getByRole('button', { name: 'Use base model' }).click();
    await panel.getByText('Base model, no adapter.').waitFor();
    await panel.getByLabel('Adapter files').setInputFiles(downloads.map((d) => ({ name: d.suggestedFilename(), mimeType: 'application/octet-stream', buffer: files.get(d.suggestedFilename())! })));
    await panel.getByRole('status').filter({ hasText: 'r 16 · alpha 32' }).waitFor({ timeout: 60_000 });

    const expected = goldens.greedy_from_bos_39.slice(1, 17);
    await page.getByLabel('Prompt token ids').fill(String(goldens.greedy_from_bos_39[0]));
    await page.getByLabel('Temperature').fill('0');
    await page.getByLabel('Samples', { exact: true }).fill('1');
    await page.getByLabel('Max new tokens').fill(String(expected.length));
    await panel.getByRole('button', { name: 'Compare base and adapter' }).click();
    const base = page.getByRole('article', { name: 'Base model output 1' });
    await base.waitFor({ timeout: 300_000 });
    // The base half ran without the adapter: it is the goldens' greedy story.
    expect(parseShownIds(await base.locator('output').innerText())).toEqual(expected);
    const tuned = page.getByRole('article', { name: 'Sample 1', exact: true });
    expect(parseShownIds(await tuned.locator('output').innerText())).toHaveLength(expected.length);
    await panel.getByRole('status').filter({ hasText: 'r 16 · alpha 32' }).waitFor();
    expect(studio.errors).toEqual([]);
  });
});
