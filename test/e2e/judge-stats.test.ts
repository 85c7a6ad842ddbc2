// Judge statistics in the built app: a judge run against a fake endpoint that favours the answer shown first shows
// its bootstrap intervals as error bars, position consistency and the length-controlled win rate; the per-question
// table sorts by keyboard, opens both answers side by side as sanitized markdown, and exports as CSV and JSON;
// Reports draws the interval on the user's bar; a run stored before per-question statistics still renders.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startJudgeServer, type JudgeServer } from '../fakes/judge-server';
import { openStudio, type Studio } from './harness';

const N = 12;
const key = 'sk-e2e-judge-stats-0123456789';
/** With the first answer's score raised by 1: A in both orders, the first shown each time (inconsistent), B in both. */
const qualities = [[8, 5], [6, 6], [4, 7]];

describe('judge statistics', () => {
  let studio: Studio;
  let dir = '';
  let judge: JudgeServer;
  const file = (name: string) => path.join(dir, name);

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'judge-stats-e2e-'));
    judge = await startJudgeServer({ apiKey: key, firstBias: 1 });
    const ids = Array.from({ length: N }, (_, i) => i + 1);
    await writeFile(file('questions.jsonl'), ids.map((id) => JSON.stringify({ question_id: id, text: `Question number ${id}?`, category: 'generic' })).join('\n'));
    const answer = (side: 0 | 1, id: number) => side === 0
      ? `**A's answer** to ${id}, at some length: one two three four. <img src=x onerror="window.__xss=1"> [quality ${qualities[id % 3][0]}]`
      : `B's answer to ${id}. [quality ${qualities[id % 3][1]}]`;
    for (const [name, side] of [['a', 0], ['b', 1]] as const) {
      await writeFile(file(`${name}.jsonl`), ids.map((id) => JSON.stringify({ question_id: id, text: answer(side, id) })).join('\n'));
    }
    studio = await openStudio();
  });

  afterAll(async () => {
    await studio?.close();
    await judge?.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('error bars, position consistency, the length-controlled rate, the per-question table and its export', async () => {
    const { page } = studio;
    await studio.open('evaluate');
    await page.getByLabel('Eval set file').setInputFiles(file('questions.jsonl'));
    await page.getByText(`Imported ${N} questions as the eval set “questions”.`).waitFor();
    for (const [name, f] of [['Model A', 'a.jsonl'], ['Model B', 'b.jsonl']]) {
      await page.getByLabel('Answer set name').fill(name);
      await page.getByLabel('Answer file').setInputFiles(file(f));
      await page.getByText(`Imported ${N} answers as “${name}”.`).waitFor();
    }
    const panel = page.getByRole('region', { name: 'GPT-4 judge' });
    await panel.getByLabel('Name').fill('Stats run');
    await panel.getByLabel('Model A').selectOption({ label: 'Model A' });
    await panel.getByLabel('Opponent B').selectOption({ label: 'Model B' });
    await panel.getByLabel('Base URL').fill(judge.url);
    await panel.getByLabel('API key').fill(key);
    await panel.getByRole('button', { name: 'Judge in both orders' }).click();
    await page.getByText(`Judged ${N} questions in both orders`, { exact: false }).waitFor({ timeout: 60_000 });

    const run = page.getByRole('article', { name: 'Judge run Stats run' });
    const stats = run.getByTestId('judge-stats');
    // One error bar on the relative score, one on the raw win rate; the length-controlled rate beside the raw one.
    const relativeCi = stats.locator('[data-chart="relative"] [data-ci]');
    expect(await relativeCi.count()).toBe(1);
    const [low, high] = (await relativeCi.getAttribute('data-ci'))!.split(',').map(Number);
    expect(low).toBeLessThan(high);
    expect(await stats.locator('[data-chart="win-rate"] [data-ci]').count()).toBe(1);
    expect(await stats.locator('[data-chart="win-rate"]').innerText()).toMatch(/raw[\s\S]*50\.0%[\s\S]*95% CI[\s\S]*length-controlled[\s\S]*%/);
    expect(await stats.locator('[data-value="position-consistency"]').innerText()).toBe('66.7%');
    expect(await stats.locator('[data-value="first-position"]').innerText()).toBe('66.7%');
    expect(await stats.innerText()).toMatch(/length coefficient -?\d+\.\d\d · 1000 resamples of the questions, seed 1/);

    const questions = run.locator('details', { hasText: 'Question by question' });
    await questions.locator('summary').click();
    const table = questions.getByRole('table', { name: 'Per-question verdicts' });
    expect(await table.locator('tbody tr').count()).toBe(N);
    // Sorted by outcome from the keyboard: A's wins first, B's last; again, the other way round.
    const outcomeHeader = table.getByRole('columnheader', { name: /Outcome/ });
    await outcomeHeader.getByRole('button').focus();
    await page.keyboard.press('Enter');
    expect(await outcomeHeader.getAttribute('aria-sort')).toBe('ascending');
    const outcomes = () => table.locator('tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-outcome')));
    expect(await outcomes()).toEqual([...Array(4).fill('a'), ...Array(4).fill('inconsistent'), ...Array(4).fill('b')]);
    await page.keyboard.press('Enter');
    expect(await outcomeHeader.getAttribute('aria-sort')).toBe('descending');
    expect((await outcomes())[0]).toBe('b');
    await questions.getByLabel('Show outcomes').selectOption({ label: 'inconsistent (the orders disagree)' });
    expect(await outcomes()).toEqual(Array(4).fill('inconsistent'));

    // Both answers side by side, as markdown with the model's HTML removed.
    await table.getByRole('button', { name: 'Read question 1', exact: true }).click();
    const a = table.getByRole('region', { name: 'Answer of Model A' });
    expect(await a.locator('strong').innerText()).toBe("A's answer");
    expect(await a.locator('img[onerror]').count()).toBe(0);
    expect(await table.getByRole('region', { name: 'Answer of Model B' }).innerText()).toMatch(/B's answer to 1\./);
    expect(await page.evaluate(() => (window as { __xss?: number }).__xss)).toBeUndefined();

    const csvDownload = page.waitForEvent('download');
    await questions.getByRole('button', { name: 'CSV' }).click();
    const csv = (await readFile((await (await csvDownload).path())!, 'utf8')).trim().split('\r\n');
    expect(csv[0]).toBe('question_id,category,a_first_a,a_first_b,b_first_a,b_first_b,outcome,length_a,length_b,answer_a,answer_b');
    expect(csv).toHaveLength(N + 1);
    expect(csv.find((l) => l.startsWith('1,'))).toMatch(/^1,generic,7,6,6,7,inconsistent,\d+,\d+,/);
    const jsonDownload = page.waitForEvent('download');
    await questions.getByRole('button', { name: 'JSON' }).click();
    const json = JSON.parse(await readFile((await (await jsonDownload).path())!, 'utf8'));
    expect(json).toHaveLength(N);
    expect(json.find((q: { question_id: string }) => q.question_id === '3')).toMatchObject({ outcome: 'a', a_first: { a: 9, b: 5 }, b_first: { a: 8, b: 6 } });

    await studio.open('reports');
    const report = page.getByRole('region', { name: 'GPT-4 judge report' });
    const mine = report.locator('[data-chart="relative"]').filter({ hasText: 'Relative score against Model B' });
    await mine.waitFor();
    expect(await mine.locator('[data-ci]').count()).toBe(1);
    expect(await mine.innerText()).toMatch(/95% CI \d+%–\d+%/);
    expect(await report.locator('tbody').first().innerText()).toMatch(/Stats run[\s\S]*50\.0% \(\d+\.\d%–\d+\.\d%\)[\s\S]*66\.7%/);
    expect(studio.errors).toEqual([]);
  });

  test('runs stored before per-question statistics still load: no lengths, and no per-question data when nothing was read', async () => {
    const { page } = studio;
    const verdict = (questionId: string, first: 'a' | 'b', a: number, b: number) => ({ questionId, category: 'generic', first, text: `${a} ${b}`, points: { a, b }, cached: false });
    const old = (id: string, name: string, verdicts: unknown[]) => ({
      id, name, createdAt: 1, prompt: 'vicuna', model: 'gpt-4', baseURL: 'http://127.0.0.1:9/v1', evalSetId: 'gone',
      answerSets: { a: 'gone-a', b: 'gone-b' }, labels: { a: 'Old A', b: 'Old B' }, verdicts,
    });
    const records = [
      old('old-1', 'Old run', [verdict('1', 'a', 8, 6), verdict('1', 'b', 7, 6), verdict('2', 'a', 5, 7), verdict('2', 'b', 6, 8)]),
      old('old-2', 'Old unread run', [{ questionId: '1', category: 'generic', first: 'a', text: 'no idea', points: null, cached: false }]),
    ];
    await page.evaluate(async (rows) => {
      const db = await new Promise<IDBDatabase>((resolve, reject) => {
        const req = indexedDB.open('instruct-studio');
        req.onsuccess = () => resolve(req.result);
        req.onerror = () => reject(req.error);
      });
      const tx = db.transaction('judgeRuns', 'readwrite');
      for (const row of rows) tx.objectStore('judgeRuns').put(row);
      await new Promise((resolve) => (tx.oncomplete = resolve));
      db.close();
    }, records);
    await page.reload();
    await studio.open('evaluate');
    const oldRun = page.getByRole('article', { name: 'Judge run Old run' });
    await oldRun.waitFor();
    expect(await oldRun.getByTestId('judge-stats').innerText()).toMatch(/no length-controlled rate: the answer lengths are unknown/);
    await oldRun.locator('summary', { hasText: 'Question by question' }).click();
    expect(await oldRun.getByRole('table', { name: 'Per-question verdicts' }).locator('tbody tr').count()).toBe(2);
    expect(await oldRun.innerText()).toMatch(/The answers are not shown/);
    const unread = page.getByRole('article', { name: 'Judge run Old unread run' });
    await unread.locator('summary', { hasText: 'Question by question' }).click();
    expect(await unread.getByTestId('no-question-data').innerText()).toMatch(/No per-question data/);
    expect(await unread.getByTestId('judge-stats').count()).toBe(0);
    await studio.open('reports');
    await page.getByRole('region', { name: 'GPT-4 judge report' }).locator('[data-chart="relative"]').filter({ hasText: 'Relative score against Old B' }).waitFor();
    expect(studio.errors).toEqual([]);
  });
});
