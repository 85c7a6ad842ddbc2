// A feedback job in the browser against the fake OpenAI server (with faults): three answer sets imported on the
// Evaluate page are rated on the Teacher page, every response once; the card shows the pairs, the ties dropped,
// the score distribution per source and the unreadable verdict as text; asking again for it makes it count;
// the scores and pairs become datasets. User text stays text, and the key appears nowhere.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startFakeOpenAI, type FakeOpenAI } from '../fakes/openai-server';
import { openStudio, type Studio } from './harness';
import { connectTeacher } from './ui';

const KEY = 'sk-e2e-feedback-0123456789abcdef';
const Q = 6;
const MODELS = ['Model A', 'Model B', 'Model C'];
/** The score the fake gives each answer; null: a verdict with no readable score. */
const SCORES: (number | null)[][] = [
  [8, 5, 8], [7, 7, 7], [2, 9, 6], [10, null, 4], [3, 3, 9], [6, 1, 5],
];
const question = (q: number) => (q === 0 ? 'Explain <b>bold</b> tags & entities' : `Question ${q}: describe topic ${q}.`);

describe('feedback job on the Teacher page', () => {
  let studio: Studio;
  let server: FakeOpenAI;
  let dir = '';

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'feedback-e2e-'));
    await writeFile(path.join(dir, 'questions.jsonl'), Array.from({ length: Q }, (_, q) => JSON.stringify({ question_id: q + 1, category: 'generic', text: question(q) })).join('\n'));
    for (const [m, name] of MODELS.entries()) {
      const rows = Array.from({ length: Q }, (_, q) => ({ question_id: q + 1, text: `${name} answers ${q + 1} <img src=x onerror="window.__owned=1"> [[score:${SCORES[q][m] ?? 'none'}]]` }));
      await writeFile(path.join(dir, `answers-${m}.jsonl`), rows.map((r) => JSON.stringify(r)).join('\n'));
    }
    server = await startFakeOpenAI({ apiKey: KEY, latencyMs: 20, faultRate: 0.2, faultKinds: ['rate_limit', 'server_error', 'malformed'], retryAfterMs: 30, seed: 4 });
    studio = await openStudio();
  });

  afterAll(async () => {
    await studio?.close();
    await server?.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('answer sets rated once each; pairs, ties, chart and unreadable verdicts shown; retried; saved as datasets', async () => {
    const { page } = studio;
    await studio.open('evaluate');
    await page.getByLabel('Eval set file').setInputFiles(path.join(dir, 'questions.jsonl'));
    await page.getByText(`Imported ${Q} questions as the eval set “questions”.`).waitFor();
    for (const [m, name] of MODELS.entries()) {
      await page.getByLabel('Answer set name').fill(name);
      await page.getByLabel('Answer file').setInputFiles(path.join(dir, `answers-${m}.jsonl`));
      await page.getByText(`Imported ${Q} answers as “${name}”.`).waitFor();
    }

    await studio.open('teacher');
    await connectTeacher(page, KEY, server.url);
    await page.getByRole('button', { name: 'Save settings' }).click();

    const form = page.getByRole('region', { name: 'New feedback job' });
    expect(await form.getByLabel('Eval set').locator('option:checked').innerText()).toBe(`questions (${Q} questions)`);
    expect(await form.getByLabel('Feedback temperature').inputValue()).toBe('0.2');
    // Tick the answer sets from the keyboard.
    for (const name of MODELS) {
      await form.getByRole('checkbox', { name }).focus();
      await page.keyboard.press('Space');
    }
    await expect.poll(() => form.getByTestId('feedback-preview').innerText())
      .toMatch(new RegExp(`^${Q * 3} responses to ${Q} prompts from 3 sources \\(Model A, Model B, Model C\\): ${Q * 3} requests\\.`));
    await form.getByRole('button', { name: 'Rate responses' }).click();

    const card = page.getByRole('article', { name: /Feedback on questions by gpt-4/ });
    await card.getByTestId('job-status').filter({ hasText: 'done' }).waitFor({ timeout: 60_000 });
    expect(await card.getByTestId('job-done').innerText()).toBe(`${Q * 3} / ${Q * 3}`);
    expect(server.duplicates()).toEqual([]);
    expect(server.completedTotal).toBe(Q * 3);
    expect(Object.values(server.faults).reduce((a, b) => a + b, 0)).toBeGreaterThan(0);

    const expected = (scores: (number | null)[][]) => {
      let pairs = 0, ties = 0;
      for (const row of scores) {
        const s = row.filter((x): x is number => x !== null);
        for (let i = 0; i < s.length; i++) for (let j = i + 1; j < s.length; j++) s[i] === s[j] ? ties++ : pairs++;
      }
      return { pairs, ties };
    };
    const before = expected(SCORES);
    const results = card.getByRole('region', { name: 'Feedback results' });
    await expect.poll(() => results.getByTestId('feedback-pairs').innerText()).toBe(String(before.pairs));
    expect(await results.getByTestId('feedback-ties').innerText()).toBe(String(before.ties));
    expect(await results.getByTestId('feedback-scored').innerText()).toBe(String(Q * 3 - 1));
    expect(await results.getByTestId('feedback-unparsed').innerText()).toBe('1');
    // One bar group per score 1..10, one bar per source with a score there; a histogram of pairs per prompt.
    const charts = results.locator('[data-chart="bars"]');
    expect(await charts.count()).toBe(2);
    expect(await charts.nth(0).locator('rect[data-series^="Model A"]').count()).toBe(10);
    expect(await charts.nth(0).getByRole('img').getAttribute('aria-label')).toMatch(/^Scores by source\. Model A \(mean 6\.00\): 1 0, 2 1/);

    // The unreadable verdict, as text; asked again, it counts.
    const unreadable = results.getByRole('list', { name: 'Unreadable verdicts' });
    await unreadable.getByText('I am unable to rate this response.').waitFor();
    await unreadable.getByText('Model B', { exact: false }).first().waitFor();
    expect(await unreadable.locator('img').count()).toBe(0);
    server.options = { ...server.options, faultRate: 0, answer: (_m, usual) => (usual.startsWith('I am unable') ? 'Score: 10/10\nOn reflection, excellent.' : usual) };
    await unreadable.getByRole('button', { name: /^Ask again for row/ }).click();
    await expect.poll(() => results.getByTestId('feedback-unparsed').innerText(), { timeout: 30_000 }).toBe('0');
    const after = expected(SCORES.map((row) => row.map((s) => s ?? 10)));
    expect(await results.getByTestId('feedback-pairs').innerText()).toBe(String(after.pairs));
    expect(await results.getByTestId('feedback-ties').innerText()).toBe(String(after.ties));
    expect(server.completedTotal).toBe(Q * 3 + 1);
    await page.getByRole('status').filter({ hasText: `and ${after.pairs} pairs as` }).waitFor();

    // Scores and pairs are datasets; user text is shown as text.
    await studio.open('datasets');
    await page.getByRole('button', { name: /^Feedback on questions by gpt-4 \(scores\)/ }).click();
    await page.getByTestId('row-count').filter({ hasText: `${Q} of ${Q} rows` }).waitFor();
    await page.getByText('Explain <b>bold</b> tags & entities').first().waitFor();
    await page.getByRole('button', { name: /^Feedback on questions by gpt-4 \(pairs\)/ }).click();
    await page.getByTestId('row-count').filter({ hasText: `${after.pairs} of ${after.pairs} rows` }).waitFor();

    expect(await page.evaluate(() => (window as unknown as { __owned?: number }).__owned)).toBeUndefined();
    expect(await page.content()).not.toContain(KEY);
    expect(studio.errors.filter((e) => !/ERR_ABORTED|Failed to fetch|ERR_CONNECTION|status of (429|500)/.test(e))).toEqual([]);
  });
});
