// The Train page's Preference (DPO) mode on a tiny random model (2 layers, no tokenizer) picked as local files:
// the three-way mode switch by keyboard and DPO's own defaults (beta 0.1); a pre-tokenized pairs file whose chosen
// responses end in token 7 and rejected ones in token 9 after the same prompt (separable), previewed without a
// reward token; the planned GPU memory, with gradient checkpointing turned on; training with live charts under TRL's names (loss starting at log 2,
// rewards/accuracies, rewards/chosen and rewards/rejected, rewards/margins), paused, resumed after a reload from
// its checkpoint (which carries the reference log-probs) up to reward accuracy >= 0.9 and a loss below its start;
// a CAUSAL_LM PEFT export; and the run's adapter applied and compared in the Playground like an SFT one.
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Download, Page } from 'playwright-core';
import { bytesSource } from '../../src/model/files';
import { openSafetensors } from '../../src/model/safetensors';
import { tinyConfig, writeRandomModel, type RandomModel } from '../fixtures/random-model';
import { randInt, seeded } from '../util';
import { openStudio, type Studio } from './harness';
import { go, loadModelFromFiles, parseShownIds, seriesPoints, shownStep } from './ui';

const config = tinyConfig();
const PAIRS = 48;
const STEPS = 15;

/** The same prompt (not trained) and first response token on both sides; chosen ends in 7, rejected in 9. */
function pairsJsonl(): string {
  const prompt = (i: number) => [1, ...Array.from(randInt(seeded(i + 1), 2 + (i % 4), config.vocabSize - 3), (id) => id + 3)];
  return Array.from({ length: PAIRS }, (_, i) => {
    const p = prompt(i);
    const side = (response: number[]) => ({ input_ids: [...p, ...response], labels: [...p.map(() => -100), ...response] });
    return JSON.stringify({ chosen: side([20 + (i % 30), 7]), rejected: side([20 + (i % 30), 9]) });
  }).join('\n');
}

describe('Train page, Preference (DPO) mode, on a tiny random model', () => {
  let studio: Studio;
  let model: RandomModel;

  const loadModel = (page: Page) => loadModelFromFiles(page, model.dir);

  beforeAll(async () => {
    model = await writeRandomModel(config, 44);
    studio = await openStudio();
  });

  afterAll(async () => {
    await studio?.close();
  });

  test('the mode switch reaches DPO by the arrow keys; the DPO form has its own defaults and starts from the base model', async () => {
    const { page } = studio;
    await studio.open('train');
    const sft = page.getByRole('radio', { name: /^SFT/ });
    const dpo = page.getByRole('radio', { name: /^Preference \(DPO\)/ });
    expect(await sft.isChecked()).toBe(true);
    await sft.focus();
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('ArrowRight');
    expect(await dpo.isChecked()).toBe(true);
    await expect.poll(() => dpo.evaluate((el) => el === document.activeElement)).toBe(true);

    const form = page.getByRole('form', { name: 'Hyperparameters' });
    expect(await form.getByRole('spinbutton', { name: /^Beta/ }).inputValue()).toBe('0.1');
    expect(await form.getByLabel('Learning rate').inputValue()).toBe('0.00005');
    expect(await form.getByLabel('Number of epochs').inputValue()).toBe('1');
    expect(await form.getByLabel('SFT run').inputValue()).toBe('');
    await form.getByRole('spinbutton', { name: /^Beta/ }).fill('0');
    await form.getByText('Beta must be a number above 0').waitFor();
    await form.getByRole('spinbutton', { name: /^Beta/ }).fill('0.1');
    expect(await form.getByText('Beta must be').count()).toBe(0);
    expect(studio.errors).toEqual([]);
  });

  test('pre-tokenized pairs preview without a reward token, and the memory is planned', async () => {
    const { page } = studio;
    await loadModel(page);
    await page.getByRole('radio', { name: /^Preference \(DPO\)/ }).check();
    const data = page.getByRole('region', { name: 'Data', exact: true });
    await data.getByRole('radio', { name: 'Pre-tokenized JSONL' }).check();
    await page.getByLabel('Pre-tokenized pairs JSONL file').setInputFiles({ name: 'pairs.jsonl', mimeType: 'application/jsonl', buffer: Buffer.from(pairsJsonl()) });
    await data.getByText(`${PAIRS} pairs to train on`).waitFor();
    const chosen = page.getByLabel('Tokens of the chosen response').locator('span');
    await chosen.first().waitFor();
    expect(await chosen.last().innerText()).toBe('7');
    expect(await chosen.last().getAttribute('data-trained')).toBe('true');
    expect(await chosen.first().getAttribute('data-trained')).toBe('false');
    expect(await page.locator('[data-reward="true"]').count()).toBe(0);

    const form = page.getByRole('form', { name: 'Hyperparameters' });
    await form.getByLabel('Max length').fill('64');
    await form.getByLabel('Rank r').fill('4');
    await form.getByLabel('Alpha').fill('8');
    await form.getByLabel('Dropout').fill('0');
    for (const target of ['q', 'k', 'v', 'o', 'gate', 'up', 'down']) await form.getByRole('checkbox', { name: target, exact: true }).setChecked(['q', 'v', 'o', 'down'].includes(target));
    await form.getByLabel('Learning rate').fill('0.02');
    await form.getByLabel('Number of epochs').fill('3');
    await form.getByLabel('Batch size').fill('8');
    await form.getByLabel('Seed').fill('3');
    await form.getByLabel('Validation fraction').fill('0.25');
    await form.getByLabel('Validate every').fill('3');
    await form.getByLabel('Checkpoint every').fill('3');
    // 36 training pairs in batches of 8: 5 steps an epoch.
    await data.getByText(`${STEPS} steps planned`, { exact: false }).waitFor();
    const memory = page.getByRole('status', { name: 'Planned GPU memory' });
    await memory.waitFor({ timeout: 60_000 });
    expect(await memory.innerText()).toMatch(/^GPU memory [\d.]+ \w+ of [\d.]+ \w+$/);
    // 'auto' keeps every activation of a run this small; turned on, the run recomputes them in the backward pass.
    const checkpointing = form.getByLabel('Gradient checkpointing');
    const note = /activations [\d.]+ \w+ with it, [\d.]+ \w+ without$/;
    expect(await checkpointing.inputValue()).toBe('auto');
    await expect.poll(() => form.getByText(/ for this run: activations/).innerText(), { timeout: 60_000 }).toMatch(new RegExp(`^off for this run: ${note.source}`));
    await checkpointing.selectOption('on');
    await expect.poll(() => form.getByText(/ for this run: activations/).innerText(), { timeout: 60_000 }).toMatch(new RegExp(`^on for this run: ${note.source}`));
    expect(studio.errors).toEqual([]);
  });

  test('training charts loss from log 2 and the rewards under TRL names; paused, reloaded and resumed, it reaches reward accuracy >= 0.9', async () => {
    const { page } = studio;
    await page.getByRole('button', { name: 'Start training' }).click();
    const monitor = page.getByRole('region', { name: /^DPO · pairs\.jsonl/ });
    await monitor.getByText('training', { exact: true }).waitFor({ timeout: 120_000 });
    expect(await page.getByRole('radio', { name: /^SFT/ }).isDisabled()).toBe(true);
    await expect.poll(() => shownStep(page), { timeout: 300_000, interval: 250 }).toBeGreaterThanOrEqual(2);
    await monitor.getByRole('button', { name: 'Pause' }).click();
    await monitor.getByText('paused', { exact: true }).waitFor({ timeout: 300_000 });
    const pausedAt = await shownStep(page);
    expect(pausedAt).toBeGreaterThanOrEqual(2);
    expect(pausedAt).toBeLessThan(STEPS);
    const before = await seriesPoints(page, 'Loss', 'train loss');
    expect(before.map((p) => p.x)).toEqual(Array.from({ length: pausedAt }, (_, i) => i + 1));
    // The policy starts as the reference: every pair's log-ratio difference is 0 at step 1.
    expect(before[0].y).toBeCloseTo(Math.LN2, 4);

    // After a reload the run resumes from its checkpoint (adapter, optimizer and reference log-probs).
    await page.reload();
    await page.getByRole('navigation', { name: 'Pipeline' }).waitFor();
    const resume = monitor.getByRole('button', { name: `Resume from step ${pausedAt}` });
    await resume.waitFor();
    expect(await seriesPoints(page, 'Loss', 'train loss')).toEqual(before);
    await loadModel(page);
    await resume.click();
    await expect.poll(() => page.getByRole('radio', { name: /^Preference \(DPO\)/ }).isChecked()).toBe(true);
    await monitor.getByText('finished', { exact: true }).waitFor({ timeout: 900_000 });

    const loss = await seriesPoints(page, 'Loss', 'train loss');
    const accuracy = await seriesPoints(page, 'rewards/accuracies', 'train rewards/accuracies');
    const valAccuracy = await seriesPoints(page, 'rewards/accuracies', 'validation rewards/accuracies');
    const chosen = await seriesPoints(page, 'rewards/chosen and rewards/rejected', 'train chosen');
    const rejected = await seriesPoints(page, 'rewards/chosen and rewards/rejected', 'train rejected');
    const margin = await seriesPoints(page, 'rewards/margins', 'train rewards/margins');
    expect(loss.map((p) => p.x)).toEqual(Array.from({ length: STEPS }, (_, i) => i + 1));
    expect(loss.slice(0, pausedAt)).toEqual(before);
    expect(loss.at(-1)!.y).toBeLessThan(Math.LN2 - 0.15);
    expect(accuracy.every((p) => p.y >= 0 && p.y <= 1)).toBe(true);
    expect(accuracy.at(-1)!.y).toBeGreaterThanOrEqual(0.9);
    expect(valAccuracy.map((p) => p.x)).toEqual([3, 6, 9, 12, 15]);
    expect(valAccuracy.at(-1)!.y).toBeGreaterThanOrEqual(0.9);
    expect(chosen).toHaveLength(STEPS);
    expect(rejected).toHaveLength(STEPS);
    // The margin is the chosen reward minus the rejected one, and grows.
    margin.forEach((p, i) => expect(p.y).toBeCloseTo(chosen[i].y - rejected[i].y, 4));
    expect(margin.at(-1)!.y).toBeGreaterThan(0);
    expect(await seriesPoints(page, 'rewards/chosen and rewards/rejected', 'validation chosen')).toHaveLength(5);
    expect(await monitor.locator('[data-value="checkpoint"]').innerText()).toBe(`step ${STEPS}`);
    expect(studio.errors).toEqual([]);
  }, 1_500_000);

  test('the run exports a CAUSAL_LM PEFT adapter, and the Playground applies and compares it like an SFT one', async () => {
    const { page } = studio;
    const row = page.getByRole('row', { name: /^DPO · pairs\.jsonl/ });
    await row.getByText('DPO', { exact: true }).waitFor();
    const downloads: Download[] = [];
    page.on('download', (d) => downloads.push(d));
    await row.getByRole('button', { name: 'Export adapter' }).click();
    await expect.poll(() => downloads.length).toBe(2);
    const files = new Map(await Promise.all(downloads.map(async (d) => [d.suggestedFilename(), await readFile((await d.path())!)] as const)));
    const peft = JSON.parse(files.get('adapter_config.json')!.toString('utf8'));
    expect(peft).toMatchObject({ peft_type: 'LORA', task_type: 'CAUSAL_LM', r: 4, lora_alpha: 8 });
    expect(peft.modules_to_save ?? null).toBeNull();
    expect(peft.target_modules).toEqual(['q_proj', 'v_proj', 'o_proj', 'down_proj']);
    const weights = await openSafetensors(bytesSource('adapter_model.safetensors', new Uint8Array(files.get('adapter_model.safetensors')!)));
    expect(weights.tensors.size).toBe(config.numLayers * 4 * 2);

    await go(page, 'Playground');
    const panel = page.getByRole('region', { name: 'Adapter', exact: true });
    // Training left its adapter applied; the run is listed among the trained runs.
    await panel.getByRole('status').filter({ hasText: 'DPO · pairs.jsonl' }).waitFor();
    await panel.getByRole('button', { name: 'Use base model' }).click();
    await panel.getByText('Base model, no adapter.').waitFor();
    const runs = panel.getByLabel('Trained run');
    expect(await runs.locator('option').allInnerTexts()).toContainEqual(expect.stringMatching(/^DPO · pairs\.jsonl.* \(step 15\)$/));
    await runs.selectOption({ label: (await runs.locator('option').allInnerTexts()).find((t) => t.startsWith('DPO'))! });
    await panel.getByRole('button', { name: 'Apply' }).click();
    await panel.getByRole('status').filter({ hasText: 'r 4 · alpha 8' }).waitFor({ timeout: 60_000 });

    await page.getByLabel('Prompt token ids').fill('1, 40, 41, 25');
    await page.getByLabel('Temperature').fill('0');
    await page.getByLabel('Samples', { exact: true }).fill('1');
    await page.getByLabel('Max new tokens').fill('4');
    await panel.getByRole('button', { name: 'Compare base and adapter' }).click();
    const base = page.getByRole('article', { name: 'Base model output 1' });
    await base.waitFor({ timeout: 300_000 });
    expect(parseShownIds(await base.locator('output').innerText()).length).toBeGreaterThan(0);
    const tuned = page.getByRole('article', { name: 'Sample 1', exact: true });
    expect(parseShownIds(await tuned.locator('output').innerText()).length).toBeGreaterThan(0);
    expect(studio.errors).toEqual([]);
    expect(studio.warnings).toEqual([]);
  });
});
