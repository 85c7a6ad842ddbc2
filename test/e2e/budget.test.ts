// The budget in the browser, and the judge as a job. Teacher page: the cost estimate shows before Start, the job
// stops before a request could pass the cap and says so, Resume with the same cap explains what to raise, and once
// it is raised Resume finishes without paying any prompt twice. Evaluate page: the judge shows its estimate, runs
// as a job on the teacher's runner, and rides out 429s with Retry-After, counting every retry.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startJudgeServer, type JudgeServer } from '../fakes/judge-server';
import { startFakeOpenAI, type FakeOpenAI } from '../fakes/openai-server';
import { openStudio, type Studio } from './harness';
import { connectTeacher, pasteDataset } from './ui';

const KEY = 'sk-e2e-budget-0123456789abcdef';
const N = 12;

describe('budget and judge jobs', () => {
  let studio: Studio;
  let server: FakeOpenAI;
  let judge: JudgeServer;
  let dir = '';

  beforeAll(async () => {
    server = await startFakeOpenAI({ apiKey: KEY, latencyMs: 20 });
    judge = await startJudgeServer({ apiKey: KEY, rateLimitFirst: 3 });
    dir = await mkdtemp(path.join(tmpdir(), 'budget-e2e-'));
    studio = await openStudio();
  });

  afterAll(async () => {
    await studio?.close();
    await server?.close();
    await judge?.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('estimate, start, stop before the cap, Resume explains, raise the cap, Resume finishes', async () => {
    const { page } = studio;
    await studio.open('datasets');
    const rows = Array.from({ length: N }, (_, i) => ({ instruction: `Budget instruction ${i}`, input: '', output: '' }));
    await pasteDataset(page, 'budget seeds', rows);

    await studio.open('teacher');
    await connectTeacher(page, KEY, server.url);
    await page.getByLabel('max_tokens', { exact: true }).fill('16');
    await page.getByLabel('Concurrency').fill('2');
    // Each request may cost up to ~$0.0027 (prompt + 16 answer tokens at gpt-4 prices) and costs ~$0.0018.
    await page.getByLabel('Budget', { exact: true }).fill('0.01');
    await page.getByRole('button', { name: 'Save settings' }).click();

    await page.getByLabel('Source dataset').selectOption({ label: `budget seeds (${N} rows)` });
    const estimate = page.getByTestId('cost-estimate');
    await expect.poll(() => estimate.innerText()).toMatch(new RegExp(`^Estimate: ${N} requests · ~[\\d.K]+ prompt tokens · \\$0\\.0\\d{3} for the prompts, at most \\$0\\.0[23]\\d\\d with every answer max_tokens long`));
    expect(await estimate.innerText()).toContain('Over the budget of $0.0100');

    await page.getByRole('button', { name: 'Start' }).click();
    const card = page.getByRole('article', { name: /^Job budget seeds/ });
    await expect.poll(() => card.getByTestId('job-status').innerText(), { timeout: 60_000 }).toBe('budget');
    const stoppedAt = server.completedTotal;
    expect(stoppedAt).toBeGreaterThan(0);
    expect(stoppedAt).toBeLessThan(N);
    const error = card.getByTestId('job-error');
    expect(await error.innerText()).toMatch(/^Stopped before passing the budget of \$0\.0100: \$0\.00\d\d spent, and the next request may cost up to \$0\.00\d\d\. Raise the budget to at least \$0\.01\d\d to go on/);
    const spent = Number(/: \$(0\.\d+) spent/.exec(await error.innerText())![1]);
    expect(spent).toBeLessThanOrEqual(0.01);

    // Resume with the same cap sends nothing and says what to raise.
    await card.getByRole('button', { name: 'Resume' }).click();
    await page.getByText(/^“budget seeds → gpt-4” sent nothing: Stopped before passing the budget of \$0\.0100: .* The budget is under Teacher settings; save after changing it\.$/).waitFor();
    expect(await card.getByTestId('job-status').innerText()).toBe('budget');
    expect(server.completedTotal).toBe(stoppedAt);

    await page.getByLabel('Budget', { exact: true }).fill('1');
    await page.getByRole('button', { name: 'Save settings' }).click();
    await card.getByRole('button', { name: 'Resume' }).click();
    await expect.poll(() => card.getByTestId('job-status').innerText(), { timeout: 60_000 }).toBe('done');
    expect(await card.getByTestId('job-done').innerText()).toBe(`${N} / ${N}`);
    expect(server.completedTotal).toBe(N);
    expect(server.duplicates()).toEqual([]);
    expect(await card.getByTestId('job-error').count()).toBe(0);
    expect(studio.errors).toEqual([]);
    expect(studio.warnings).toEqual([]);
  });

  test('the judge shows its estimate and runs as a job, waiting out 429 Retry-After', async () => {
    const { page } = studio;
    const ids = [1, 2, 3];
    await writeFile(path.join(dir, 'questions.jsonl'), ids.map((id) => JSON.stringify({ question_id: id, text: `Question ${id}?`, category: 'generic' })).join('\n'));
    await writeFile(path.join(dir, 'a.jsonl'), ids.map((id) => JSON.stringify({ question_id: id, text: `A ${id} [quality 8]` })).join('\n'));
    await writeFile(path.join(dir, 'b.jsonl'), ids.map((id) => JSON.stringify({ question_id: id, text: `B ${id} [quality 6]` })).join('\n'));
    await studio.open('evaluate');
    await page.getByLabel('Eval set file').setInputFiles(path.join(dir, 'questions.jsonl'));
    await page.getByText('Imported 3 questions as the eval set “questions”.').waitFor();
    for (const [name, f] of [['Judge A', 'a.jsonl'], ['Judge B', 'b.jsonl']]) {
      await page.getByLabel('Answer set name').fill(name);
      await page.getByLabel('Answer file').setInputFiles(path.join(dir, f));
      await page.getByText(`Imported 3 answers as “${name}”.`).waitFor();
    }
    const panel = page.getByRole('region', { name: 'GPT-4 judge' });
    await panel.getByLabel('Model A').selectOption({ label: 'Judge A' });
    await panel.getByLabel('Opponent B').selectOption({ label: 'Judge B' });
    await panel.getByLabel('Base URL').fill(judge.url);
    // Three questions in both orders, each with up to 1024 answer tokens at gpt-4 prices: within the $1 budget.
    const estimate = panel.getByTestId('cost-estimate');
    await expect.poll(() => estimate.innerText()).toMatch(/^Estimate: 6 requests · ~[\d.K]+ prompt tokens · \$0\.0\d{3} for the prompts, at most \$0\.[34]\d{3} with every answer max_tokens long/);
    expect(await estimate.innerText()).toContain('Within the budget of $1.00');

    await panel.getByRole('button', { name: 'Judge in both orders' }).click();
    await page.getByText(/^Judged 3 questions in both orders: 24 : 18/).waitFor({ timeout: 60_000 });
    // The first three requests got 429 with retry-after-ms: each was tried again, and all six verdicts came in.
    expect(judge.requests).toBe(9);
    expect(await panel.getByTestId('judge-progress').innerText()).toMatch(/6 \/ 6 verdicts · 9 requests · 3 retries · 0 from the cache · \$0\.0\d{3} of the \$1\.00 budget/);
    expect(await panel.getByTestId('judge-total').innerText()).toMatch(/Judge A 24 : 18 Judge B = 133\.3%/);
    // The judge job is not a teacher job: the Teacher page does not list it.
    await studio.open('teacher');
    expect(await page.getByRole('article', { name: /^Job / }).count()).toBe(1);
    // Chromium logs each refused request itself: those three lines are the 429s, nothing else.
    expect(studio.errors).toEqual(Array(3).fill('console: Failed to load resource: the server responded with a status of 429 (Too Many Requests)'));
    expect(studio.warnings).toEqual([]);
  });
});
