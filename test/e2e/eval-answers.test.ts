// Answer sets generated on the Evaluate page: by an API model through the Teacher page's endpoint and key (the
// fake OpenAI server; each question sent as it is), and by the model loaded in the engine (a small random
// Llama with the Llama 2 tokenizer). Both land in the answer set list with their provenance, never the key,
// and can be picked in the judge panel like imported sets.
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { llama2Tokenizer, writeLlama2TokenizerModel } from '../fixtures/alpaca-rows';
import { fakeAnswer, promptKey, startFakeOpenAI, type FakeOpenAI } from '../fakes/openai-server';
import { openStudio, type Studio } from './harness';
import { connectTeacher, loadStoriesFromFiles } from './ui';

const KEY = 'sk-e2e-answers-0123456789abcdef';
const questions = [
  { question_id: 1, category: 'generic', text: 'How can I improve my time management skills?' },
  { question_id: 2, category: 'math', text: 'What is 7 times 8?' },
  { question_id: 3, category: 'writing', turns: ['Write a haiku about rain.', 'Now make it about snow.'] },
  { question_id: 4, category: 'fermi', text: 'How many piano tuners are there in Chicago?' },
];
const firstTurn = (q: (typeof questions)[number]) => q.text ?? q.turns![0];

interface StoredSet {
  name: string;
  origin: Record<string, unknown>;
  rows: { id: string; text: string; model: string }[];
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

describe('answer sets generated on the Evaluate page', () => {
  let studio: Studio;
  let server: FakeOpenAI;
  let dir = '';

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'eval-answers-e2e-'));
    await writeFile(path.join(dir, 'questions.jsonl'), questions.map((q) => JSON.stringify(q)).join('\n'));
    server = await startFakeOpenAI({ apiKey: KEY, latencyMs: 20 });
    studio = await openStudio();
  });

  afterAll(async () => {
    await studio?.close();
    await server?.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('an API model answers every question through the Teacher page settings; the key is kept out of the set', async () => {
    const { page } = studio;
    await studio.open('evaluate');
    await page.getByLabel('Eval set file').setInputFiles(path.join(dir, 'questions.jsonl'));
    await page.getByText('Imported 4 questions as the eval set “questions”.').waitFor();
    const generator = page.getByRole('region', { name: 'Generate answers' });
    await generator.getByRole('radio', { name: 'API model' }).check();
    await expect.poll(() => generator.getByTestId('answer-blocker').innerText()).toMatch(/^No API key: store one on the Teacher page/);
    expect(await generator.getByRole('button', { name: 'Generate' }).isDisabled()).toBe(true);

    await studio.open('teacher');
    await connectTeacher(page, KEY, server.url);
    await page.getByRole('button', { name: 'Save settings' }).click();
    await page.getByText('Settings saved in this browser.').waitFor();

    await studio.open('evaluate');
    await expect.poll(() => generator.getByTestId('answer-blocker').count()).toBe(0);
    await generator.getByText(`Asked through ${server.url}`).waitFor();
    expect(await generator.getByLabel('Model name').inputValue()).toBe('gpt-4');
    expect(await generator.getByLabel('Temperature').inputValue()).toBe('0.7');
    expect(await generator.getByLabel('Top-p').inputValue()).toBe('0.9');
    expect(await generator.getByLabel('Max tokens').inputValue()).toBe('512');
    await generator.getByLabel('Generated set name').fill('GPT-4 answers');
    await generator.getByRole('button', { name: 'Generate' }).click();
    await page.getByText('Generated 4 answers as “GPT-4 answers”.').waitFor({ timeout: 60_000 });

    const item = page.getByRole('listitem').filter({ hasText: 'GPT-4 answers' });
    expect(await item.getByTestId('answer-origin').innerText()).toBe(`4 answers · gpt-4 at ${server.url} · T 0.7 · top-p 0.9 · max 512 tokens`);
    // Each question went out as a plain user message, the first turn of a multi-turn one, each exactly once.
    const sent = questions.map((q) => [{ role: 'user', content: firstTurn(q) }]);
    expect([...server.completed.keys()].sort()).toEqual(sent.map(promptKey).sort());
    expect(server.duplicates()).toEqual([]);

    const [set] = await storedSets(page);
    expect(set.name).toBe('GPT-4 answers');
    expect(set.origin).toEqual({ kind: 'api', baseURL: server.url, model: 'gpt-4', temperature: 0.7, top_p: 0.9, max_tokens: 512 });
    expect(set.rows.map((r) => [r.id, r.text, r.model])).toEqual(questions.map((q, i) => [String(q.question_id), fakeAnswer(sent[i]), 'gpt-4']));
    expect(JSON.stringify(set)).not.toContain(KEY);
    expect(await page.content()).not.toContain(KEY);

    // Like an imported set, it can be judged.
    const judge = page.getByRole('region', { name: 'GPT-4 judge' });
    await judge.getByLabel('Model A').selectOption({ label: 'GPT-4 answers' });
    expect(studio.errors).toEqual([]);
  });

  test('a cancelled API run saves nothing; the next run takes the answers already received from the cache', async () => {
    const { page } = studio;
    // One request at a time, so the run stops at a known question.
    await studio.open('teacher');
    await page.getByLabel('Concurrency').fill('1');
    await page.getByRole('button', { name: 'Save settings' }).click();
    await page.getByText('Settings saved in this browser.').waitFor();
    await studio.open('evaluate');
    const generator = page.getByRole('region', { name: 'Generate answers' });
    await generator.getByRole('radio', { name: 'API model' }).check();
    await generator.getByLabel('Temperature').fill('0.2');
    await generator.getByLabel('Generated set name').fill('GPT-4 cold');
    server.holdAfter(server.completedTotal + 2);
    await generator.getByRole('button', { name: 'Generate' }).click();
    await expect.poll(() => server.heldCount).toBe(1);
    await expect.poll(() => generator.getByTestId('answer-progress').innerText()).toBe('2 / 4');
    await generator.getByRole('button', { name: 'Cancel' }).click();
    await page.getByText('Cancelled after 2 of 4 answers; no answer set was saved').waitFor();
    expect((await storedSets(page)).map((s) => s.name)).toEqual(['GPT-4 answers']);

    server.release();
    await generator.getByRole('button', { name: 'Generate' }).click();
    await page.getByText('Generated 4 answers as “GPT-4 cold”.').waitFor({ timeout: 60_000 });
    // Questions 1 and 2 were asked once by the first test and once by the cancelled run, not again.
    const received = (q: (typeof questions)[number]) => server.received.get(promptKey([{ role: 'user', content: firstTurn(q) }]));
    expect(questions.slice(0, 2).map(received)).toEqual([2, 2]);
    const cold = (await storedSets(page)).find((s) => s.name === 'GPT-4 cold')!;
    expect(cold.origin).toMatchObject({ kind: 'api', temperature: 0.2 });
    expect(cold.rows).toHaveLength(4);
    expect(studio.errors).toEqual([]);
  });

  test('a model without a tokenizer cannot answer text questions', async () => {
    const { page } = studio;
    await studio.open('playground');
    await loadStoriesFromFiles(page);
    await studio.open('evaluate');
    const generator = page.getByRole('region', { name: 'Generate answers' });
    await generator.getByRole('radio', { name: 'loaded model' }).check();
    await expect.poll(() => generator.getByTestId('answer-blocker').innerText()).toMatch(/^local files has no tokenizer: questions are text/);
    expect(await generator.getByRole('button', { name: 'Generate' }).isDisabled()).toBe(true);
    expect(studio.errors).toEqual([]);
  });

  test.skipIf(!existsSync(llama2Tokenizer))('the loaded model answers in batches with its sampling recorded (skipped without ../shared)', async () => {
    const { page } = studio;
    await studio.open('playground');
    const model = await writeLlama2TokenizerModel();
    await page.getByLabel('Model files').setInputFiles(['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json'].map((f) => path.join(model.dir, f)));
    await studio.open('evaluate');
    const generator = page.getByRole('region', { name: 'Generate answers' });
    await generator.getByRole('radio', { name: 'loaded model' }).check();
    await expect.poll(() => generator.getByTestId('answer-blocker').count(), { timeout: 120_000 }).toBe(0);
    // No chat template in this tokenizer: the Alpaca template is the only format.
    expect(await generator.getByLabel('Prompt format').locator('option').allInnerTexts()).toEqual(['Alpaca template']);
    expect(await generator.getByLabel('Max new tokens').inputValue()).toBe('256');
    expect(await generator.getByLabel('Generated set name').getAttribute('placeholder')).toBe('local files');
    await generator.getByLabel('Max new tokens').fill('4');
    // Sampling fields are shared by both sources: the previous test left 0.2.
    await generator.getByLabel('Temperature').fill('0.7');
    await generator.getByRole('button', { name: 'Generate' }).click();
    await page.getByText('Generated 4 answers as “local files”.').waitFor({ timeout: 300_000 });

    const item = page.getByRole('listitem').filter({ hasText: 'local files' });
    expect(await item.getByTestId('answer-origin').innerText()).toBe('4 answers · local local files · T 0.7 · top-p 0.9 · top-k 40 · seed 42 · 4 new tokens');
    const set = (await storedSets(page)).find((s) => s.origin.kind === 'local')!;
    expect(set.origin).toEqual({ kind: 'local', model: 'local files', temperature: 0.7, top_p: 0.9, top_k: 40, seed: 42, max_new_tokens: 4 });
    expect(set.rows.map((r) => r.id)).toEqual(['1', '2', '3', '4']);
    expect(set.rows.every((r) => r.model === 'local files' && typeof r.text === 'string')).toBe(true);
    // Four new tokens of a 32000-word vocabulary cannot make a long answer.
    expect(set.rows.some((r) => r.text.length > 0)).toBe(true);
    expect(Math.max(...set.rows.map((r) => r.text.length))).toBeLessThan(200);
    expect(studio.errors).toEqual([]);
  });
});
