// The Rerank page on a tiny random Llama with a byte-level tokenizer (token id = UTF-8 byte, so text prompts work
// without ../shared), picked as local files: clear messages without a reward model; a random reward model (LoRA +
// score head) put in the reward slot from the console; five samples decoded together, streamed, then ranked by
// reward with the baseline beside the top-1 (checked against the engine's own rerank of the same request); arrow
// keys and the presenter view; Esc cancels; the same reward model through PEFT SEQ_CLS files scores bit-exactly the
// same; ranking groups over an eval set saved as answer sets B, R1..R3 with their provenance; a judge run of two
// groups against an opponent (the fake judge) drawn in Reports beside the paper's Figure 4 ranking groups.
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { RerankRequest } from '../../src/engine/api';
import { startJudgeServer, type JudgeServer } from '../fakes/judge-server';
import { tinyConfig, writeRandomModel } from '../fixtures/random-model';
import { randn, seeded } from '../util';
import { openStudio, type Studio } from './harness';
import { engineRerank, go, rankedItems } from './ui';

const KEY = 'sk-e2e-rerank-0123456789abcdef';
const config = tinyConfig({ vocabSize: 260, bosTokenId: 256, eosTokenIds: [257], maxPositionEmbeddings: 512 });
const questions = [
  { question_id: 1, category: 'generic', text: 'Say hi.' },
  { question_id: 2, category: 'math', text: 'Add 2 and 3.' },
  { question_id: 3, category: 'writing', text: 'Name a colour.' },
];

/** A byte-level BPE without merges: ids 0-255 are bytes, then <s> 256, </s> 257 and two unused specials. */
function byteLevelTokenizerJson() {
  const keep = (b: number) => (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
  let shifted = 0;
  const vocab: Record<string, number> = {};
  for (let b = 0; b < 256; b++) vocab[String.fromCharCode(keep(b) ? b : 256 + shifted++)] = b;
  const specials = ['<s>', '</s>', '<unused0>', '<unused1>'];
  specials.forEach((s, k) => (vocab[s] = 256 + k));
  const byteLevel = { add_prefix_space: false, trim_offsets: true, use_regex: true };
  return {
    version: '1.0',
    added_tokens: specials.map((content, k) => ({ id: 256 + k, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true })),
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', ...byteLevel },
    post_processor: null,
    decoder: { type: 'ByteLevel', ...byteLevel },
    model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null, fuse_unk: false, byte_fallback: false, vocab, merges: [] },
  };
}

/** A random reward model for `config`: LoRA on q_proj and v_proj (B not zero, so it changes the hidden states) and a score head. */
function randomRewardAdapter() {
  const rng = seeded(11);
  const rank = 4;
  const { hiddenSize: C, numHeads: NH, numKvHeads: NKV, headDim: HS } = config;
  const modules = [];
  for (let layer = 0; layer < config.numLayers; layer++) {
    for (const [target, out] of [['q_proj', NH * HS], ['v_proj', NKV * HS]] as const) {
      modules.push({ layer, target, inFeatures: C, outFeatures: out, A: [...randn(rng, rank * C, 0.3)], B: [...randn(rng, out * rank, 0.3)] });
    }
  }
  return { rank, alpha: 8, dropout: 0, targets: ['q_proj', 'v_proj'], baseModel: 'random', modules, score: [...randn(rng, C, 1)] };
}

interface StoredSet {
  name: string;
  origin: Record<string, unknown> & { ranking?: { runId: string; group: string | number; n: number; reward: string } };
  rows: { id: string; text: string; reward?: number }[];
}

/** The answer sets as the page stored them in IndexedDB. */
async function storedSets(page: Page): Promise<StoredSet[]> {
  return page.evaluate(async () => {
    const db = await new Promise<IDBDatabase>((resolve, reject) => {
      const req = indexedDB.open('instruct-studio');
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
    const all = await new Promise<StoredSet[]>((resolve, reject) => {
      const req = db.transaction('answerSets').objectStore('answerSets').getAll();
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
    db.close();
    return all;
  });
}

const PROMPT = 'Say something nice.';

describe('Rerank page', () => {
  let studio: Studio;
  let judge: JudgeServer;
  let dir = '';
  let shown: Awaited<ReturnType<typeof rankedItems>> = [];
  const request: RerankRequest = {
    prompts: [{ text: PROMPT, input: '', mode: 'alpaca' }],
    n: 5, maxNewTokens: 6, sampling: { temperature: 1, topK: 40, topP: 0.95, seed: 42 }, stop: [], adapter: null, reward: 'reward',
  };

  beforeAll(async () => {
    const model = await writeRandomModel(config, 3, { finalNormScale: 2 });
    dir = model.dir;
    await writeFile(path.join(dir, 'tokenizer.json'), JSON.stringify(byteLevelTokenizerJson()));
    await writeFile(path.join(dir, 'tokenizer_config.json'), JSON.stringify({ add_bos_token: true, bos_token: '<s>', eos_token: '</s>' }));
    await writeFile(path.join(dir, 'questions.jsonl'), questions.map((q) => JSON.stringify(q)).join('\n'));
    await writeFile(path.join(dir, 'chatgpt.jsonl'), questions.map((q) => JSON.stringify({ question_id: q.question_id, text: `ChatGPT on ${q.question_id}. [quality 6]` })).join('\n'));
    judge = await startJudgeServer({ apiKey: KEY });
    studio = await openStudio();
    await studio.open('rerank');
  });

  afterAll(async () => {
    await studio?.close();
    await judge?.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('without a model, then without a reward model, the page says what to do', async () => {
    const { page } = studio;
    await page.getByTestId('rerank-no-model').filter({ hasText: 'No model is loaded' }).waitFor();
    expect(await page.getByRole('region', { name: 'Ranking groups' }).getByTestId('groups-blocker').innerText()).toMatch(/eval set|No model/);

    await go(page, 'Playground');
    await page.getByLabel('Model files').setInputFiles(['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json'].map((f) => path.join(dir, f)));
    await page.getByRole('region', { name: 'local files' }).waitFor({ timeout: 120_000 });
    await go(page, 'Rerank');
    await page.getByTestId('rerank-no-reward').waitFor();
    expect(await page.getByTestId('reward-slot').innerText()).toBe('The reward slot is empty.');
    expect(await page.getByTestId('policy').innerText()).toMatch(/^local files \(base model, no adapter\)/);
    // The paper's five samples by default; the playground's prompt form (Alpaca: this tokenizer has no chat template).
    expect(await page.getByLabel('Samples', { exact: true }).inputValue()).toBe('5');
    expect(await page.getByRole('radio', { name: 'Alpaca' }).isChecked()).toBe(true);
    await page.getByLabel('Instruction').fill(PROMPT);
    await page.getByLabel('Instruction').press('Control+Enter');
    const alert = page.getByRole('form', { name: 'Prompt' }).getByRole('alert');
    await alert.filter({ hasText: 'No reward model is in the reward slot' }).waitFor();
    expect(await page.getByLabel('Instruction').inputValue()).toBe(PROMPT);
    expect(studio.errors).toEqual([]);
  });

  test('a reward model put in the reward slot from the console shows on the page', async () => {
    const { page } = studio;
    await page.evaluate(async (a) => {
      await window.studioEngine.setAdapter('reward', {
        ...a, targets: a.targets as ('q_proj' | 'v_proj')[],
        modules: a.modules.map((m) => ({ ...m, A: Float32Array.from(m.A), B: Float32Array.from(m.B) })), score: Float32Array.from(a.score),
      });
    }, randomRewardAdapter());
    await go(page, 'Playground');
    await go(page, 'Rerank');
    await expect.poll(() => page.getByTestId('reward-slot').innerText()).toMatch(/reward slot\s+reward slot \(r 4, alpha 8\)\s+· r 4 · alpha 8 · q_proj, v_proj/);
    expect(await page.getByTestId('rerank-no-reward').count()).toBe(0);
    expect(studio.errors).toEqual([]);
  });

  test('five samples decode together, then rank by reward; the baseline sits beside the top-1', async () => {
    const { page } = studio;
    await page.getByLabel('Temperature', { exact: true }).fill('1');
    await page.getByLabel('Max new tokens', { exact: true }).fill('6');
    await page.getByLabel('Instruction').press('Control+Enter');
    const list = page.getByRole('list', { name: 'Ranked samples' });
    await list.waitFor({ timeout: 240_000 });
    shown = await rankedItems(page);
    expect(shown.map((s) => s.rank)).toEqual([1, 2, 3, 4, 5]);
    expect(shown.map((s) => s.sample).sort()).toEqual([1, 2, 3, 4, 5]);
    const rewards = shown.map((s) => s.reward);
    expect(rewards.every(Number.isFinite)).toBe(true);
    expect(rewards).toEqual([...rewards].sort((a, b) => b - a));
    // Shown with three decimals beside a bar; the top-1 starts picked.
    expect(await list.getByTestId('reward').first().innerText()).toBe(rewards[0].toFixed(3).replace('-', '−'));
    expect(shown.map((s) => s.pressed)).toEqual([true, false, false, false, false]);

    // The engine's own rerank of the same request gives the same samples and rewards.
    const engine = await engineRerank(page, request);
    for (const s of shown) {
      expect(s.reward).toBeCloseTo(engine.rewards[s.sample - 1], 6);
      expect(s.text).toBe(engine.texts[s.sample - 1]);
    }
    expect(new Set(engine.texts).size).toBeGreaterThan(1);

    const versus = page.getByRole('region', { name: 'Baseline beside the top-1' });
    const top = shown[0].sample;
    // Answers render as markdown; the raw view shows exactly what the model wrote.
    for (const toggle of await page.getByLabel('Raw text').all()) await toggle.check();
    expect(await versus.getByRole('article', { name: 'Baseline (sample 1)' }).locator('output').textContent()).toBe(engine.texts[0]);
    expect(await versus.getByRole('article', { name: `Top-1 (sample ${top})` }).locator('output').textContent()).toBe(engine.texts[top - 1]);
    const baselineRank = shown.findIndex((s) => s.sample === 1) + 1;
    expect(await versus.getByRole('article', { name: 'Baseline (sample 1)' }).innerText()).toContain(`rank ${baselineRank} of 5`);
    expect(studio.errors).toEqual([]);
  });

  test('arrow keys move through the ranks; P toggles the presenter view in large type', async () => {
    const { page } = studio;
    // In a text field the arrows are the field's.
    await page.getByLabel('Instruction').press('ArrowDown');
    expect((await rankedItems(page))[0].pressed).toBe(true);
    await page.getByLabel('Instruction').press('p');
    expect(await page.getByLabel('Instruction').inputValue()).toBe(`${PROMPT}p`);
    expect(await page.getByRole('dialog', { name: 'Presenter view' }).count()).toBe(0);
    await page.getByLabel('Instruction').fill(PROMPT);

    await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
    const versus = page.getByRole('region', { name: 'Baseline beside the top-1' }).first();
    await page.keyboard.press('ArrowDown');
    await versus.getByRole('article', { name: `Rank 2 (sample ${shown[1].sample})` }).waitFor();
    expect((await rankedItems(page)).map((s) => s.pressed)).toEqual([false, true, false, false, false]);
    await page.keyboard.press('End');
    await versus.getByRole('article', { name: `Rank 5 (sample ${shown[4].sample})` }).waitFor();
    await page.keyboard.press('ArrowDown');
    await versus.getByRole('article', { name: `Rank 5 (sample ${shown[4].sample})` }).waitFor();
    await page.keyboard.press('ArrowUp');
    await page.keyboard.press('ArrowUp');
    await page.keyboard.press('ArrowUp');
    await page.keyboard.press('ArrowUp');
    await versus.getByRole('article', { name: `Top-1 (sample ${shown[0].sample})` }).waitFor();

    await page.keyboard.press('p');
    const presenter = page.getByRole('dialog', { name: 'Presenter view' });
    await presenter.waitFor();
    expect(await presenter.innerText()).toContain(PROMPT);
    const big = await presenter.getByRole('article', { name: 'Baseline (sample 1)' }).locator('output')
      .evaluate((el) => parseFloat(getComputedStyle(el).fontSize));
    expect(big).toBeGreaterThanOrEqual(24);
    expect(await presenter.getByRole('list', { name: 'Ranking' }).locator('li').count()).toBe(5);
    await page.keyboard.press('ArrowDown');
    await presenter.getByRole('article', { name: `Rank 2 (sample ${shown[1].sample})` }).waitFor();
    await page.keyboard.press('P');
    await expect.poll(() => presenter.count()).toBe(0);
    await page.keyboard.press('p');
    await presenter.waitFor();
    await page.keyboard.press('Escape');
    await expect.poll(() => presenter.count()).toBe(0);
    await page.keyboard.press('Home');
    expect(studio.errors).toEqual([]);
  });

  test('Esc cancels a run: the samples so far stay, unranked', async () => {
    const { page } = studio;
    await page.getByLabel('Max new tokens', { exact: true }).fill('300');
    await page.getByLabel('Instruction').press('Control+Enter');
    await page.getByRole('article', { name: 'Sample 1' }).getByText(/^([2-9]|\d{2,}) tokens$/).waitFor({ timeout: 120_000 });
    await page.keyboard.press('Escape');
    await page.getByText('Cancelled: the samples so far are shown in generation order, not ranked.').waitFor({ timeout: 120_000 });
    expect(await page.getByRole('list', { name: 'Ranked samples' }).count()).toBe(0);
    expect(await page.getByRole('article', { name: 'Sample 5' }).count()).toBe(1);
    expect(await page.getByRole('button', { name: /Generate/ }).isEnabled()).toBe(true);
    await page.getByLabel('Max new tokens', { exact: true }).fill('6');
    expect(studio.errors).toEqual([]);
  });

  test('the same reward model as PEFT SEQ_CLS files scores the same samples the same', async () => {
    const { page } = studio;
    const files = await page.evaluate(async () => {
      const { configJson, safetensors } = await window.studioEngine.exportAdapter('reward');
      let binary = '';
      for (const b of safetensors) binary += String.fromCharCode(b);
      return { configJson, base64: btoa(binary) };
    });
    expect(JSON.parse(files.configJson)).toMatchObject({ task_type: 'SEQ_CLS', modules_to_save: ['score'] });
    await writeFile(path.join(dir, 'adapter_config.json'), files.configJson);
    await writeFile(path.join(dir, 'adapter_model.safetensors'), Buffer.from(files.base64, 'base64'));

    const panel = page.getByRole('region', { name: 'Reward model' });
    await panel.getByRole('button', { name: 'Empty the slot' }).click();
    await expect.poll(() => page.getByTestId('reward-slot').innerText()).toBe('The reward slot is empty.');
    await page.getByTestId('rerank-no-reward').waitFor();
    await panel.getByLabel('Reward model files').setInputFiles([path.join(dir, 'adapter_config.json'), path.join(dir, 'adapter_model.safetensors')]);
    await expect.poll(() => page.getByTestId('reward-slot').innerText()).toMatch(/adapter_config\.json, adapter_model\.safetensors\s+· r 4 · alpha 8/);

    await page.getByLabel('Instruction').press('Control+Enter');
    await expect.poll(async () => (await rankedItems(page)).length, { timeout: 240_000 }).toBe(5);
    const again = await rankedItems(page);
    expect(again.map((s) => [s.sample, s.reward, s.text])).toEqual(shown.map((s) => [s.sample, s.reward, s.text]));
    expect(studio.errors).toEqual([]);
  });

  test('ranking groups over an eval set: answer sets B and R1..R3 with their provenance', async () => {
    const { page } = studio;
    await go(page, 'Evaluate');
    await page.getByLabel('Eval set file').setInputFiles(path.join(dir, 'questions.jsonl'));
    await page.getByText('Imported 3 questions as the eval set “questions”.').waitFor();
    await page.getByLabel('Answer set name').fill('ChatGPT');
    await page.getByLabel('Answer file').setInputFiles(path.join(dir, 'chatgpt.jsonl'));
    await page.getByText('Imported 3 answers as “ChatGPT”.').waitFor();

    await go(page, 'Rerank');
    const panel = page.getByRole('region', { name: 'Ranking groups' });
    await expect.poll(() => panel.getByTestId('groups-blocker').count()).toBe(0);
    expect(await panel.getByLabel('Samples per question').inputValue()).toBe('5');
    expect(await panel.getByLabel('Groups name').getAttribute('placeholder')).toBe('local files');
    await panel.getByLabel('Samples per question').fill('3');
    await panel.getByLabel('Groups max new tokens').fill('4');
    await panel.getByLabel('Groups temperature').fill('1');
    await panel.getByRole('button', { name: 'Build ranking groups' }).click();
    await panel.getByRole('status').filter({ hasText: /^Saved 4 answer sets for 3 questions/ }).waitFor({ timeout: 300_000 });

    const sets = (await storedSets(page)).filter((s) => s.origin.ranking);
    const byName = new Map(sets.map((s) => [s.name, s]));
    expect([...byName.keys()].sort()).toEqual(['local files R1', 'local files R2', 'local files R3', 'local files baseline (B)']);
    const runIds = new Set(sets.map((s) => s.origin.ranking!.runId));
    expect(runIds.size).toBe(1);
    const [b, r1, r2, r3] = ['local files baseline (B)', 'local files R1', 'local files R2', 'local files R3'].map((n) => byName.get(n)!);
    expect(b.origin).toMatchObject({ kind: 'local', model: 'local files', temperature: 1, top_p: 0.9, top_k: 40, seed: 42, max_new_tokens: 4 });
    expect([b, r1, r2, r3].map((s) => [s.origin.ranking!.group, s.origin.ranking!.n])).toEqual([['B', 3], [1, 3], [2, 3], [3, 3]]);
    expect(b.origin.ranking!.reward).toBe('adapter_config.json, adapter_model.safetensors');
    for (let q = 0; q < questions.length; q++) {
      expect([r1, r2, r3].map((s) => s.rows[q].id)).toEqual([String(q + 1), String(q + 1), String(q + 1)]);
      expect(r1.rows[q].reward!).toBeGreaterThanOrEqual(r2.rows[q].reward!);
      expect(r2.rows[q].reward!).toBeGreaterThanOrEqual(r3.rows[q].reward!);
    }
    // The engine's own rerank of the same three questions, three samples each, decoded together as the page did.
    const engine = await engineRerank(page, {
      prompts: questions.map((q) => ({ text: q.text, input: '', mode: 'alpaca' as const })),
      n: 3, maxNewTokens: 4, sampling: { temperature: 1, topK: 40, topP: 0.9, seed: 42 }, adapter: null, reward: 'reward',
    });
    for (let q = 0; q < questions.length; q++) {
      expect(b.rows[q].text).toBe(engine.texts[3 * q].trim());
      expect(b.rows[q].reward!).toBeCloseTo(engine.rewards[3 * q], 6);
      expect(r1.rows[q].reward!).toBeCloseTo(Math.max(...engine.rewards.slice(3 * q, 3 * q + 3)), 6);
    }

    // They are answer sets like any other: listed with their provenance on the Evaluate page.
    await go(page, 'Evaluate');
    const item = page.getByRole('listitem').filter({ hasText: 'local files R2' });
    expect(await item.getByTestId('answer-origin').innerText()).toBe('3 answers · local local files · T 1 · top-p 0.9 · top-k 40 · seed 42 · 4 new tokens · rank 2 of 3 by adapter_config.json, adapter_model.safetensors');
    expect(studio.errors).toEqual([]);
  });

  test('groups judged against an opponent are drawn in Reports beside the paper\'s ranking groups', async () => {
    const { page } = studio;
    const panel = page.getByRole('region', { name: 'GPT-4 judge' });
    await panel.getByLabel('Base URL').fill(judge.url);
    await panel.getByLabel('API key').fill(KEY);
    await panel.getByLabel('Opponent B').selectOption({ label: 'ChatGPT' });
    for (const group of ['local files R1', 'local files baseline (B)']) {
      await panel.getByLabel('Model A').selectOption({ label: group });
      await panel.getByRole('button', { name: 'Judge in both orders' }).click();
      const run = panel.getByRole('article', { name: `Judge run ${group} vs ChatGPT` });
      await run.getByText('6 of 6 verdicts').waitFor({ timeout: 60_000 });
      await panel.getByRole('button', { name: 'Judge in both orders' }).waitFor({ timeout: 60_000 });
    }
    // Each group in both orders; where B's answer is also R1's, the verdict comes from the cache.
    expect(judge.requests).toBeGreaterThanOrEqual(2 * questions.length);
    expect(judge.requests).toBeLessThanOrEqual(2 * 2 * questions.length);

    await go(page, 'Reports');
    const report = page.getByRole('region', { name: 'Ranking groups report' });
    const chart = report.getByTestId('ranking-figure');
    await chart.waitFor();
    const text = await chart.innerText();
    expect(text).toMatch(/^Ranking groups of local files against ChatGPT · beside Figure 4 · LLaMA-GPT4 answers ranked by the reward model, against ChatGPT/);
    // Random answers get the fake judge's default 5 against ChatGPT's 6, on 3 questions.
    expect(text).toMatch(/Group 1 \(R1\)\s+15 : 18 = 83%\s+95% CI 83%–83%\s+LLaMA-GPT4 Group 1 vs ChatGPT\s*paper\s+624 : 667 = 94%\s+B \(one answer\)\s+15 : 18 = 83%\s+95% CI 83%–83%\s+LLaMA-GPT4 B \(one answer\) vs ChatGPT\s*paper\s+609 : 666\.5 = 91%/);
    expect(await chart.locator('[data-reference="true"]').count()).toBe(2);
    await page.getByRole('region', { name: 'GPT-4 judge report' }).getByLabel("the paper's series").uncheck();
    await expect.poll(() => chart.locator('[data-reference="true"]').count()).toBe(0);
    expect(studio.errors).toEqual([]);
  });
});
