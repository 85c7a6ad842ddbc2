// The evaluation pages in the built app: eval and answer sets imported from files; a blind HHH session of 10
// items rated by keyboard with a reload in the middle, resumed, exported and merged with a second rater; a
// GPT-4 judge run against a fake endpoint in both orders beside the paper's Figure 4; a ROUGE-L run drawn beside the paper's Figure 6.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startJudgeServer, type JudgeServer } from '../fakes/judge-server';
import { openStudio, type Studio } from './harness';

const N = 10;
const categories = ['generic', 'coding', 'math', 'writing', 'fermi'];
const key = 'sk-e2e-judge-0123456789abcdef';

/** The rater's saved place in a session, read from the page's IndexedDB (so the test waits for the write). */
async function savedIndex(page: Page, rater: string): Promise<number> {
  return page.evaluate(async (name) => {
    const db = await new Promise<IDBDatabase>((resolve, reject) => {
      const req = indexedDB.open('instruct-studio');
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
    const all = await new Promise<{ rater: string; index: number }[]>((resolve, reject) => {
      const req = db.transaction('hhhProgress').objectStore('hhhProgress').getAll();
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
    db.close();
    return all.find((p) => p.rater === name)?.index ?? -1;
  }, rater);
}

async function savedRatings(page: Page): Promise<number> {
  return page.evaluate(async () => {
    const db = await new Promise<IDBDatabase>((resolve, reject) => {
      const req = indexedDB.open('instruct-studio');
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
    const n = await new Promise<number>((resolve, reject) => {
      const req = db.transaction('hhhRatings').objectStore('hhhRatings').count();
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
    db.close();
    return n;
  });
}

describe('evaluation pages', () => {
  let studio: Studio;
  let dir = '';
  let judge: JudgeServer;
  const file = (name: string) => path.join(dir, name);

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'eval-e2e-'));
    judge = await startJudgeServer({ apiKey: key });
    const ids = Array.from({ length: N }, (_, i) => i + 1);
    await writeFile(file('questions.jsonl'), ids.map((id) => JSON.stringify({ question_id: id, text: `Question number ${id}?`, category: categories[id % 5] })).join('\n'));
    // A is better on odd questions, B on even ones, except question 10 (a tie).
    await writeFile(file('model-a.jsonl'), ids.map((id) => JSON.stringify({ question_id: id, text: `A's answer to ${id}. [quality ${id === 10 ? 6 : id % 2 ? 8 : 5}]` })).join('\n'));
    await writeFile(file('model-b.jsonl'), ids.map((id) => JSON.stringify({ question_id: id, text: `B's answer to ${id}. [quality ${id === 10 ? 6 : id % 2 ? 5 : 7}]` })).join('\n'));
    await writeFile(file('partial.jsonl'), ids.slice(0, 3).map((id) => JSON.stringify({ question_id: id, text: `P ${id}` })).join('\n'));
    await writeFile(file('garbled.jsonl'), ids.map((id) => JSON.stringify({ question_id: id, text: `G ${id} [garble]` })).join('\n'));
    await writeFile(file('refs.jsonl'), [
      { id: 'u1', text: 'yes' }, { id: 'u2', text: 'the cat sat down' }, { id: 'u3', text: 'one two three four five six seven' },
      { id: 'u4', text: 'a b c d e f g h i j k l' },
    ].map((r) => JSON.stringify(r)).join('\n'));
    await writeFile(file('preds.jsonl'), [
      { id: 'u1', text: 'Yes.' }, { id: 'u2', text: 'the cat sat' }, { id: 'u3', text: 'one two' }, { id: 'u4', text: 'a b c' },
    ].map((r) => JSON.stringify(r)).join('\n'));
    studio = await openStudio();
  });

  afterAll(async () => {
    await studio?.close();
    await judge?.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('eval set and two answer sets import from files', async () => {
    const { page } = studio;
    await studio.open('evaluate');
    await page.getByLabel('Eval set file').setInputFiles(file('questions.jsonl'));
    await page.getByText(`Imported ${N} questions as the eval set “questions”.`).waitFor();
    for (const [name, f] of [['Model A', 'model-a.jsonl'], ['Model B', 'model-b.jsonl']]) {
      await page.getByLabel('Answer set name').fill(name);
      await page.getByLabel('Answer file').setInputFiles(file(f));
      await page.getByText(`Imported ${N} answers as “${name}”.`).waitFor();
    }
    expect(studio.errors).toEqual([]);
  });

  test('a 10-item HHH session rated by keyboard survives a reload, then exports and merges', async () => {
    const { page } = studio;
    await studio.open('human-eval');
    const form = page.getByRole('region', { name: 'New session' });
    await form.getByLabel('Name').fill('Workshop');
    await form.getByLabel('Answers A').selectOption({ label: 'Model A' });
    await form.getByLabel('Answers B').selectOption({ label: 'Model B' });
    await form.getByLabel('Seed').fill('42');
    await form.getByRole('button', { name: 'Create session' }).click();
    await page.getByText(`Created “Workshop” with ${N} items.`).waitFor();
    await page.getByLabel('Your name').fill('Ada');
    await page.getByRole('button', { name: 'Rate Workshop' }).click();

    const position = page.getByTestId('hhh-position');
    const rate = async (from: number, to: number) => {
      for (let i = from; i <= to; i++) {
        await expect.poll(() => position.innerText()).toBe(`Item ${i} of ${N}`);
        // Helpful: left; honest: right; harmless: tie. Then on to the next item.
        await page.keyboard.press('1');
        await page.keyboard.press('2');
        await page.keyboard.press('3');
        const helpful = page.getByRole('group', { name: 'Which answer is more helpful?' });
        await expect.poll(() => helpful.getByRole('button', { name: /Left/ }).getAttribute('aria-pressed')).toBe('true');
        await expect.poll(() => page.getByTestId('hhh-done').innerText()).toBe(`${i} of ${N} rated`);
        if (i < N) await page.keyboard.press('Enter');
      }
    };
    await rate(1, 5);
    await expect.poll(() => position.innerText()).toBe(`Item 6 of ${N}`);
    await expect.poll(() => savedIndex(page, 'Ada')).toBe(5);
    await expect.poll(() => savedRatings(page)).toBe(5);

    await page.reload();
    await page.getByRole('navigation', { name: 'Pipeline' }).waitFor();
    expect(await page.getByLabel('Your name').inputValue()).toBe('Ada');
    await page.getByRole('button', { name: 'Rate Workshop' }).click();
    await expect.poll(() => position.innerText()).toBe(`Item 6 of ${N}`);
    expect(await page.getByTestId('hhh-done').innerText()).toBe(`5 of ${N} rated`);
    // The previous item kept its answers.
    await page.keyboard.press('ArrowLeft');
    await expect.poll(() => position.innerText()).toBe(`Item 5 of ${N}`);
    const honest = page.getByRole('group', { name: 'Which answer is more honest?' });
    expect(await honest.getByRole('button', { name: /Right/ }).getAttribute('aria-pressed')).toBe('true');
    await page.keyboard.press('ArrowRight');
    // Another page and back: the open session and its place stay live.
    await studio.open('evaluate');
    await studio.open('human-eval');
    await expect.poll(() => position.innerText()).toBe(`Item 6 of ${N}`);
    await rate(6, N);
    await expect.poll(() => savedRatings(page)).toBe(N);

    // Results: always "left" on helpfulness, so A and B split by the recorded placements; harmless all ties.
    await page.getByText('Results (shows which model is which)').click();
    const pies = page.locator('[data-chart="pie"]');
    await expect.poll(() => pies.count()).toBe(3);
    const harmless = pies.filter({ hasText: 'Harmlessness' });
    expect(await harmless.innerText()).toMatch(new RegExp(`Tie\\s*${N} · 100.00%`));
    const helpful = await pies.filter({ hasText: 'Helpfulness' }).innerText();
    const a = Number(/Model A\s*(\d+)/.exec(helpful)![1]), b = Number(/Model B\s*(\d+)/.exec(helpful)![1]);
    expect(a + b).toBe(N);
    expect(await pies.locator('path, circle').count()).toBeGreaterThanOrEqual(3);

    await page.getByRole('button', { name: 'Close' }).click();
    const download = page.waitForEvent('download');
    await page.getByRole('button', { name: 'Export ratings of Workshop' }).click();
    const exported = JSON.parse(await readFile((await (await download).path())!, 'utf8'));
    expect(exported.format).toBe('instruct-studio/hhh-ratings');
    expect(exported.ratings).toHaveLength(N);
    expect(exported.session.items.map((i: { left: string }) => i.left).filter((l: string) => l === 'a')).toHaveLength(a);

    // A second rater's file from another machine merges in.
    const bob = { ...exported, ratings: exported.ratings.map((r: { rater: string }) => ({ ...r, rater: 'Bob' })) };
    await writeFile(file('bob.json'), JSON.stringify(bob));
    await page.getByLabel('Ratings file').setInputFiles(file('bob.json'));
    await page.getByText(`Merged into “Workshop”: ${N} new and 0 updated ratings from 1 rater.`).waitFor();
    expect(await savedRatings(page)).toBe(2 * N);

    await studio.open('reports');
    const report = page.getByRole('region', { name: 'Human evaluation report' });
    await report.getByText(`${2 * N} complete ratings from 2 raters: Ada, Bob.`).waitFor();
    // The session's three pies, then the paper's two Figure 3 comparisons (shares only).
    expect(await report.locator('[data-chart="pie"]').count()).toBe(3 + 6);
    expect(await report.getByText('Figure 3 · LLaMA-GPT4 against GPT-4').count()).toBe(1);
    await report.getByLabel("the paper's Figure 3").uncheck();
    await expect.poll(() => report.locator('[data-chart="pie"]').count()).toBe(3);
    expect(studio.errors).toEqual([]);
  });

  test("a judge run in both orders against a fake endpoint, drawn as a Figure 4 chart beside the paper's series", async () => {
    const { page } = studio;
    await studio.open('evaluate');
    const panel = page.getByRole('region', { name: 'GPT-4 judge' });
    // An answer set that answers only some of the eval set's questions is not offered.
    await page.getByLabel('Answer set name').fill('Partial');
    await page.getByLabel('Answer file').setInputFiles(file('partial.jsonl'));
    await page.getByText('Imported 3 answers as “Partial”.').waitFor();
    expect(await panel.getByLabel('Model A').locator('option').allInnerTexts()).toEqual(['Model B', 'Model A']);
    await panel.getByLabel('Name').fill('A vs B');
    await panel.getByLabel('Model A').selectOption({ label: 'Model A' });
    await panel.getByLabel('Opponent B').selectOption({ label: 'Model B' });
    await panel.getByLabel('Base URL').fill(judge.url);
    await panel.getByLabel('API key').fill(key);
    await panel.getByRole('button', { name: 'Judge in both orders' }).click();
    await page.getByText(/^Judged 10 questions in both orders/).waitFor({ timeout: 60_000 });
    expect(judge.requests).toBe(2 * N);
    // Odd questions 8 : 5 (5 of them), even 5 : 7 (4), question 10 6 : 6.
    const total = panel.getByTestId('judge-total');
    expect(await total.innerText()).toMatch(/Model A 66 : 59 Model B = 111\.9%/);
    expect(await total.innerText()).toMatch(/5 wins, 1 ties, 4 losses/);

    // Running it again costs nothing: every verdict comes from the cache.
    await page.getByRole('button', { name: 'Judge in both orders' }).click();
    await page.getByText(/^Judged 10 questions/).waitFor({ timeout: 60_000 });
    expect(judge.requests).toBe(2 * N);

    await studio.open('reports');
    const report = page.getByRole('region', { name: 'GPT-4 judge report' });
    const chart = report.locator('[data-chart="relative"]');
    const mine = chart.filter({ hasText: 'Relative score against Model B' });
    await mine.waitFor();
    expect(await mine.innerText()).toMatch(/Relative score against Model B[\s\S]*Model A[\s\S]*66 : 59 = 112%/);
    // Model B is neither ChatGPT nor GPT-4: the paper's series are not drawn beside it, and a note says why.
    expect(await mine.locator('[data-reference="true"]').count()).toBe(0);
    expect(await report.getByTestId('no-paper-opponent').innerText()).toMatch(/ChatGPT and GPT-4 only; Model B is neither/);
    // Any of the paper's Figure 4-5 charts on its own: the reward-model ranking groups against ChatGPT.
    await report.getByLabel("The paper's chart").selectOption({ label: 'Figure 4 · LLaMA-GPT4 answers ranked by the reward model, against ChatGPT' });
    expect(await chart.last().innerText()).toMatch(/Group 1[\s\S]*624 : 667 = 94%[\s\S]*B \(one answer\)[\s\S]*609 : 666\.5 = 91%/);
    await report.getByLabel("the paper's series").uncheck();
    await expect.poll(() => chart.count()).toBe(1);
    expect(await report.getByTestId('no-paper-opponent').count()).toBe(0);
    await report.getByLabel("the paper's series").check();

    // Against answers named gpt-4, the paper's eight chatbots against GPT-4 sit beside the run, hatched and marked;
    // a run whose verdicts could not be read says so instead of drawing an empty chart.
    await studio.open('evaluate');
    for (const [name, f] of [['gpt-4', 'model-b.jsonl'], ['Garbled', 'garbled.jsonl']]) {
      await page.getByLabel('Answer set name').fill(name);
      await page.getByLabel('Answer file').setInputFiles(file(f));
      await page.getByText(`Imported ${N} answers as “${name}”.`).waitFor();
    }
    for (const [name, a] of [['A vs gpt-4', 'Model A'], ['Garbled vs gpt-4', 'Garbled']]) {
      await panel.getByLabel('Name').fill(name);
      await panel.getByLabel('Model A').selectOption({ label: a });
      await panel.getByLabel('Opponent B').selectOption({ label: 'gpt-4' });
      await panel.getByRole('button', { name: 'Judge in both orders' }).click();
      await page.getByText(name === 'Garbled vs gpt-4' ? /^Judged 0 questions/ : /^Judged 10 questions/).waitFor({ timeout: 60_000 });
    }
    await studio.open('reports');
    const vsGpt4 = chart.filter({ hasText: 'Relative score against gpt-4' });
    await vsGpt4.waitFor();
    expect(await vsGpt4.innerText()).toMatch(/LLaMA-GPT4 \(7B\) vs GPT-4[\s\S]*606 : 726\.5 = 83%/);
    expect(await vsGpt4.locator('[data-reference="true"]').count()).toBe(8);
    expect(await vsGpt4.innerText()).not.toContain('Garbled');
    expect(await report.getByTestId('judge-unread').innerText()).toMatch(/“Garbled vs gpt-4” has no question judged in both orders yet \(20 unreadable verdicts/);
    expect(studio.errors).toEqual([]);
  });

  test('a ROUGE-L run renders beside the paper series in the Figure 6 chart', async () => {
    const { page } = studio;
    await studio.open('evaluate');
    const panel = page.getByRole('region', { name: 'ROUGE-L' });
    await panel.getByLabel('Reference file').setInputFiles(file('refs.jsonl'));
    await panel.getByLabel('Prediction file').setInputFiles(file('preds.jsonl'));
    await panel.getByLabel('Name').fill('my run');
    await panel.getByRole('button', { name: 'Score' }).click();
    await page.getByText(/^ROUGE-L of “my run”: mean F/).waitFor();

    await studio.open('reports');
    const report = page.getByRole('region', { name: 'ROUGE-L report' });
    const chart = report.locator('[data-chart="bars"]');
    await chart.waitFor();
    // Three paper series and the run, each over four bins and "All".
    expect(await chart.locator('rect[data-reference="true"]').count()).toBe(15);
    expect(await chart.locator('rect[data-series="my run"]').count()).toBe(5);
    expect(await chart.locator('rect[data-series="GPT-4"]').count()).toBe(5);
    expect(await report.locator('tbody tr').count()).toBe(4);
    // Unticking the paper leaves the run alone.
    await report.getByLabel("the paper's series").uncheck();
    await expect.poll(() => chart.locator('rect[data-reference="true"]').count()).toBe(0);
    expect(await chart.locator('rect[data-series="my run"]').count()).toBe(5);
    expect(studio.errors).toEqual([]);
  });
});
