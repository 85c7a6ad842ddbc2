// The Train page's reward model mode on a tiny random model (2 layers, no tokenizer) picked as local files: the
// mode switch by keyboard; preference pairs counted from a stored comparison dataset (rows yielding none counted
// too); a pre-tokenized pairs file whose chosen sequences end in token 7 and rejected ones in token 9 (separable
// at the token the reward is read at), previewed with that token marked; the planned GPU memory; training with live
// loss, pairwise accuracy and margin charts, paused, resumed after a reload from its checkpoint, up to a validation
// pairwise accuracy >= 0.9; the engine's reward slot holding it; a SEQ_CLS PEFT export with the score head;
// "Use as reward model" putting it back in the reward slot; and the Rerank page ranking five samples of the base
// model by that reward model, with the baseline beside the top-1, as the engine's own rerank does.
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Download, Page } from 'playwright-core';
import type { RerankRequest } from '../../src/engine/api';
import { bytesSource } from '../../src/model/files';
import { openSafetensors } from '../../src/model/safetensors';
import { tinyConfig, writeRandomModel, type RandomModel } from '../fixtures/random-model';
import { randInt, seeded } from '../util';
import { openStudio, type Studio } from './harness';
import { engineRerank, go, loadModelFromFiles, parseShownIds, rankedItems, seriesPoints, shownStep } from './ui';

const config = tinyConfig();
const PAIRS = 48;

/** Chosen: a random prompt, a random token, then 7; rejected: the same prompt, another token, then 9. */
function pairsJsonl(): string {
  const prompt = (i: number) => [1, ...Array.from(randInt(seeded(i + 1), 2 + (i % 4), config.vocabSize - 3), (id) => id + 3)];
  return Array.from({ length: PAIRS }, (_, i) => {
    const p = prompt(i);
    return JSON.stringify({ chosen_ids: [...p, 20 + (i % 30), 7], rejected_ids: [...p, 20 + ((i + 5) % 30), 9] });
  }).join('\n');
}

/** comparison_data_v2 rows: 3 scored responses give 3, 2 or 0 pairs (ties give none). */
const comparisonRows = [
  { user_input: 'Name a colour.', responses_and_scores: [{ response: 'Red.', score: 9, source: 'gpt4' }, { response: 'Blue', score: 6, source: 'davinci' }, { response: 'A car.', score: 2, source: 'opt' }] },
  { user_input: 'Say hi.', responses_and_scores: [{ response: 'Hi!', score: 8, source: 'gpt4' }, { response: 'Hello', score: 8, source: 'davinci' }, { response: 'No.', score: 3, source: 'opt' }] },
  { user_input: 'Count to two.', responses_and_scores: [{ response: '1, 2', score: 7, source: 'gpt4' }, { response: 'one two', score: 7, source: 'davinci' }] },
];

function rewardSlotHolds(page: Page): Promise<boolean> {
  return page.evaluate(async () => (await window.studioEngine.adapterSlots()).some((s) => s.slot === 'reward'));
}

describe('Train page, reward model mode, on a tiny random model', () => {
  let studio: Studio;
  let model: RandomModel;

  const loadModel = (page: Page) => loadModelFromFiles(page, model.dir);

  beforeAll(async () => {
    model = await writeRandomModel(config, 33);
    studio = await openStudio();
  });

  afterAll(async () => {
    await studio?.close();
  });

  test('the mode switch answers the arrow keys; a comparison dataset counts its pairs and the rows that yield none', async () => {
    const { page } = studio;
    await studio.open('datasets');
    await page.getByLabel('Dataset file').setInputFiles({ name: 'rm-comparison.json', mimeType: 'application/json', buffer: Buffer.from(JSON.stringify(comparisonRows)) });
    await page.getByRole('status').filter({ hasText: 'Imported 3 rows' }).waitFor();

    await studio.open('train');
    const sft = page.getByRole('radio', { name: /^SFT/ });
    const reward = page.getByRole('radio', { name: /^Reward model/ });
    expect(await sft.isChecked()).toBe(true);
    await sft.focus();
    await page.keyboard.press('ArrowRight');
    expect(await reward.isChecked()).toBe(true);
    await expect.poll(() => reward.evaluate((el) => el === document.activeElement)).toBe(true);

    const data = page.getByRole('region', { name: 'Data', exact: true });
    await data.getByRole('radio', { name: 'Dataset', exact: true }).check();
    // 3 + 2 pairs; the row with only tied scores yields none.
    await data.getByText('5 pairs to train on').waitFor();
    await data.getByText('1 row yielded no pair', { exact: false }).waitFor();
    // The reward form has its own defaults, apart from SFT's.
    const form = page.getByRole('form', { name: 'Hyperparameters' });
    expect(await form.getByLabel('Learning rate').inputValue()).toBe('0.0001');
    expect(await form.getByLabel('Number of epochs').inputValue()).toBe('1');
    expect(await form.getByRole('checkbox', { name: /Margin from score difference/ }).isChecked()).toBe(false);
    await reward.focus();
    await page.keyboard.press('ArrowLeft');
    expect(await sft.isChecked()).toBe(true);
    expect(await form.getByLabel('Learning rate').inputValue()).toBe('0.0003');
    await reward.check();
    expect(studio.errors).toEqual([]);
  });

  test('pre-tokenized pairs: a bad line is refused, the pairs preview with the reward token marked, and the memory is planned', async () => {
    const { page } = studio;
    await loadModel(page);
    const data = page.getByRole('region', { name: 'Data', exact: true });
    await data.getByRole('radio', { name: 'Pre-tokenized JSONL' }).check();
    const file = page.getByLabel('Pre-tokenized pairs JSONL file');
    await file.setInputFiles({ name: 'bad.jsonl', mimeType: 'application/jsonl', buffer: Buffer.from('{"chosen_ids": [1, 2], "rejected_ids": [1, 3]}\n{"chosen_ids": [1, 999], "rejected_ids": [1, 3]}\n') });
    await data.getByRole('alert').filter({ hasText: 'line 2' }).waitFor();
    expect(await page.getByRole('button', { name: 'Start training' }).isDisabled()).toBe(true);

    await file.setInputFiles({ name: 'pairs.jsonl', mimeType: 'application/jsonl', buffer: Buffer.from(pairsJsonl()) });
    await data.getByText(`${PAIRS} pairs to train on`).waitFor();
    const chosen = page.getByLabel('Tokens of the chosen response').locator('span');
    const rejected = page.getByLabel('Tokens of the rejected response').locator('span');
    await chosen.first().waitFor();
    // No tokenizer: ids are shown; the reward is read at the last one.
    expect(await chosen.last().innerText()).toBe('7');
    expect(await chosen.last().getAttribute('data-reward')).toBe('true');
    expect(await rejected.last().innerText()).toBe('9');
    expect(await page.locator('[data-reward="true"]').count()).toBe(2);

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
    await data.getByText('15 steps planned', { exact: false }).waitFor();
    const memory = page.getByRole('status', { name: 'Planned GPU memory' });
    await memory.waitFor({ timeout: 60_000 });
    expect(await memory.innerText()).toMatch(/^GPU memory [\d.]+ \w+ of [\d.]+ \w+$/);
    expect(studio.errors).toEqual([]);
  });

  test('training fills loss, accuracy and margin charts; paused, reloaded and resumed, it reaches validation accuracy >= 0.9 in the reward slot', async () => {
    const { page } = studio;
    await page.getByRole('button', { name: 'Start training' }).click();
    const monitor = page.getByRole('region', { name: /^RM · pairs\.jsonl/ });
    await monitor.getByText('training', { exact: true }).waitFor({ timeout: 120_000 });
    await expect.poll(() => shownStep(page), { timeout: 300_000, interval: 250 }).toBeGreaterThanOrEqual(2);
    await monitor.getByRole('button', { name: 'Pause' }).click();
    await monitor.getByText('paused', { exact: true }).waitFor({ timeout: 300_000 });
    const pausedAt = await shownStep(page);
    expect(pausedAt).toBeGreaterThanOrEqual(2);
    expect(pausedAt).toBeLessThan(15);
    expect(await rewardSlotHolds(page)).toBe(true);
    const before = await seriesPoints(page, 'Pairwise accuracy', 'train accuracy');
    expect(before.map((p) => p.x)).toEqual(Array.from({ length: pausedAt }, (_, i) => i + 1));

    // After a reload the run resumes from its checkpoint with the pairs it stored.
    await page.reload();
    await page.getByRole('navigation', { name: 'Pipeline' }).waitFor();
    const resume = monitor.getByRole('button', { name: `Resume from step ${pausedAt}` });
    await resume.waitFor();
    expect(await seriesPoints(page, 'Pairwise accuracy', 'train accuracy')).toEqual(before);
    await loadModel(page);
    expect(await page.getByRole('radio', { name: /^SFT/ }).isChecked()).toBe(true);
    await resume.click();
    // Resuming shows the run's mode.
    await expect.poll(() => page.getByRole('radio', { name: /^Reward model/ }).isChecked()).toBe(true);
    await monitor.getByText('finished', { exact: true }).waitFor({ timeout: 900_000 });

    const loss = await seriesPoints(page, 'Loss', 'train loss');
    const accuracy = await seriesPoints(page, 'Pairwise accuracy', 'train accuracy');
    const valAccuracy = await seriesPoints(page, 'Pairwise accuracy', 'validation accuracy');
    const margin = await seriesPoints(page, 'Mean margin', 'train margin');
    expect(loss.map((p) => p.x)).toEqual(Array.from({ length: 15 }, (_, i) => i + 1));
    expect(accuracy.slice(0, pausedAt)).toEqual(before);
    expect(accuracy.every((p) => p.y >= 0 && p.y <= 1)).toBe(true);
    expect(margin).toHaveLength(15);
    expect(margin.at(-1)!.y).toBeGreaterThan(margin[0].y);
    expect(loss.at(-1)!.y).toBeLessThan(loss[0].y);
    // Validated every 3 steps and at the end.
    expect(valAccuracy.map((p) => p.x)).toEqual([3, 6, 9, 12, 15]);
    expect(valAccuracy.at(-1)!.y).toBeGreaterThanOrEqual(0.9);
    expect(await monitor.locator('[data-value="val-accuracy"]').innerText()).toMatch(/^(9\d(\.\d)?|100)%$/);
    // Its Wilson 95% interval, over the held-out pairs.
    expect(await monitor.locator('[data-value="val-accuracy-ci"]').innerText()).toMatch(/^\d+(\.\d)?%–\d+(\.\d)?% over \d+ held-out pairs$/);
    expect(await monitor.locator('[data-value="checkpoint"]').innerText()).toBe('step 15');
    await monitor.getByRole('status').filter({ hasText: 'in the reward slot (step 15)' }).waitFor();
    expect(await rewardSlotHolds(page)).toBe(true);
    expect(studio.errors).toEqual([]);
  }, 1_500_000);

  test('the run exports a SEQ_CLS PEFT adapter with its score head, and goes back into an emptied reward slot', async () => {
    const { page } = studio;
    const row = page.getByRole('row', { name: /^RM · pairs\.jsonl/ });
    await row.getByText('reward model', { exact: true }).waitFor();
    const downloads: Download[] = [];
    page.on('download', (d) => downloads.push(d));
    await row.getByRole('button', { name: 'Export adapter' }).click();
    await expect.poll(() => downloads.length).toBe(2);
    const files = new Map(await Promise.all(downloads.map(async (d) => [d.suggestedFilename(), await readFile((await d.path())!)] as const)));
    const peft = JSON.parse(files.get('adapter_config.json')!.toString('utf8'));
    expect(peft).toMatchObject({ peft_type: 'LORA', task_type: 'SEQ_CLS', modules_to_save: ['score'], r: 4, lora_alpha: 8 });
    expect(peft.target_modules).toEqual(['q_proj', 'v_proj', 'o_proj', 'down_proj']);
    const weights = await openSafetensors(bytesSource('adapter_model.safetensors', new Uint8Array(files.get('adapter_model.safetensors')!)));
    expect(weights.tensors.get('base_model.model.score.weight')?.shape).toEqual([1, config.hiddenSize]);
    expect(weights.tensors.size).toBe(config.numLayers * 4 * 2 + 1);

    await page.evaluate(() => window.studioEngine.clearAdapter('reward'));
    expect(await rewardSlotHolds(page)).toBe(false);
    await row.getByRole('button', { name: 'Use as reward model' }).click();
    await page.getByRole('status').filter({ hasText: 'is the reward model now' }).waitFor();
    expect(await rewardSlotHolds(page)).toBe(true);
    // The slot scores the separable pairs as trained: chosen (ends in 7) above rejected (ends in 9).
    const [chosen, rejected] = await page.evaluate(() => window.studioEngine.scoreRewards([{ ids: [1, 40, 41, 25, 7] }, { ids: [1, 40, 41, 25, 9] }]));
    expect(chosen).toBeGreaterThan(rejected);
    expect(studio.errors).toEqual([]);
  });

  test('the Rerank page ranks five samples by the trained reward model, with the baseline beside the top-1', async () => {
    const { page } = studio;
    await go(page, 'Rerank');
    const slot = page.getByTestId('reward-slot');
    await expect.poll(() => slot.innerText()).toMatch(/reward slot\s+reward slot \(r 4, alpha 8\)\s+· r 4 · alpha 8 · q_proj, v_proj, o_proj, down_proj/);
    expect(await page.getByLabel('Reward run').locator('option').allInnerTexts()).toContainEqual(expect.stringMatching(/^RM · pairs\.jsonl.* \(step 15\)$/));
    expect(await page.getByTestId('policy').innerText()).toMatch(/^local files \(base model, no adapter\)/);
    expect(await page.getByLabel('Samples', { exact: true }).inputValue()).toBe('5');

    // No tokenizer: the prompt is token ids.
    const prompt = [1, 40, 41, 25];
    await page.getByLabel('Prompt token ids').fill(prompt.join(', '));
    await page.getByLabel('Temperature', { exact: true }).fill('1');
    await page.getByLabel('Max new tokens', { exact: true }).fill('4');
    await page.getByLabel('Prompt token ids').press('Control+Enter');
    await page.getByRole('list', { name: 'Ranked samples' }).waitFor({ timeout: 240_000 });
    const shown = await rankedItems(page);
    expect(shown.map((s) => s.rank)).toEqual([1, 2, 3, 4, 5]);
    expect(shown.map((s) => s.sample).sort()).toEqual([1, 2, 3, 4, 5]);
    const rewards = shown.map((s) => s.reward);
    expect(rewards.every(Number.isFinite)).toBe(true);
    expect(rewards).toEqual([...rewards].sort((a, b) => b - a));
    expect(await page.getByRole('list', { name: 'Ranked samples' }).getByTestId('reward').first().innerText()).toBe(rewards[0].toFixed(3).replace('-', '−'));

    // The engine's own rerank of the same request: the same samples with the same rewards.
    const request: RerankRequest = {
      prompts: [{ ids: prompt }], n: 5, maxNewTokens: 4, sampling: { temperature: 1, topK: 40, topP: 0.95, seed: 42 }, stop: [], adapter: null, reward: 'reward',
    };
    const engine = await engineRerank(page, request);
    for (const s of shown) {
      expect(parseShownIds(s.text)).toEqual(engine.ids[s.sample - 1]);
      expect(s.reward).toBeCloseTo(engine.rewards[s.sample - 1], 6);
    }
    expect(new Set(engine.rewards).size).toBeGreaterThan(1);
    // ...which are the slot's scores of prompt + sample.
    const scored = await page.evaluate((sequences) => window.studioEngine.scoreRewards(sequences.map((ids) => ({ ids }))), engine.ids.map((ids) => [...prompt, ...ids]));
    scored.forEach((r, i) => expect(r).toBeCloseTo(engine.rewards[i], 5));

    const versus = page.getByRole('region', { name: 'Baseline beside the top-1' });
    const top = shown[0].sample;
    const baseline = versus.getByRole('article', { name: 'Baseline (sample 1)' });
    expect(parseShownIds(await baseline.locator('output').innerText())).toEqual(engine.ids[0]);
    expect(await baseline.innerText()).toContain(`rank ${shown.findIndex((s) => s.sample === 1) + 1} of 5`);
    const topArticle = versus.getByRole('article', { name: `Top-1 (sample ${top})` });
    expect(parseShownIds(await topArticle.locator('output').innerText())).toEqual(engine.ids[top - 1]);
    expect(await topArticle.innerText()).toContain(rewards[0].toFixed(3).replace('-', '−'));
    expect(studio.errors).toEqual([]);
    expect(studio.warnings).toEqual([]);
  });
});
