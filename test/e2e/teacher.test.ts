// A teacher job in the browser against the fake OpenAI server: it starts from the Teacher page, the page is
// reloaded mid-run, the job resumes on its own, and the server counts every prompt answered exactly once.
// The key is stored masked, and appears nowhere in the page or the console.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startFakeOpenAI, type FakeOpenAI } from '../fakes/openai-server';
import { openStudio, type Studio } from './harness';
import { connectTeacher, pasteDataset } from './ui';

const KEY = 'sk-e2e-teacher-0123456789abcdef';
const N = 40;

describe('Teacher page', () => {
  let studio: Studio;
  let server: FakeOpenAI;

  beforeAll(async () => {
    server = await startFakeOpenAI({ apiKey: KEY, latencyMs: 30 });
    studio = await openStudio();
  });

  afterAll(async () => {
    await studio?.close();
    await server?.close();
  });

  test('a job survives a page reload: nothing lost, nothing paid twice', async () => {
    const { page } = studio;
    const consoleText: string[] = [];
    page.on('console', (m) => consoleText.push(m.text()));

    await studio.open('datasets');
    const rows = Array.from({ length: N }, (_, i) => ({ instruction: `Browser instruction ${i}`, input: i % 2 ? '' : `input ${i}`, output: '' }));
    await pasteDataset(page, 'seed instructions', rows);

    await studio.open('teacher');
    await connectTeacher(page, KEY, server.url);
    await page.getByLabel('Concurrency').fill('4');
    await page.getByRole('button', { name: 'Save settings' }).click();
    await page.getByRole('button', { name: 'Test connection' }).click();
    await page.getByText(/^Connected: 2 models; gpt-4 and gpt-3.5-turbo available/).waitFor();

    server.holdAfter(12);
    await page.getByLabel('Source dataset').selectOption({ label: `seed instructions (${N} rows)` });
    await page.getByRole('button', { name: 'Start' }).click();
    const until = async (what: string, ok: () => boolean) => {
      const end = Date.now() + 60_000;
      while (!ok()) {
        if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    // Every worker is stuck on a held request, so every answer received so far is stored.
    await until('4 held requests', () => server.heldCount === 4);
    const beforeReload = server.completedTotal;
    expect(beforeReload).toBeGreaterThanOrEqual(12);

    await page.reload();
    server.release(); // the held requests belonged to the old page: they are dropped, not answered
    await page.getByRole('navigation', { name: 'Pipeline' }).waitFor();
    const card = page.getByRole('article', { name: /seed instructions/ });
    await card.getByTestId('job-status').filter({ hasText: 'done' }).waitFor({ timeout: 120_000 });
    expect(await card.getByTestId('job-done').innerText()).toBe(`${N} / ${N}`);
    expect(server.duplicates()).toEqual([]);
    expect(server.completedTotal).toBe(N);

    // The answers became a dataset that records the model and parameters.
    await page.getByRole('status').filter({ hasText: `Saved ${N} answers` }).waitFor();
    await studio.open('datasets');
    await page.getByRole('button', { name: /^seed instructions → gpt-4/ }).click();
    await page.getByTestId('row-count').filter({ hasText: `${N} of ${N} rows` }).waitFor();
    await page.locator('[data-testid="rows-viewport"] [role="row"]').first().click();
    await page.getByRole('dialog').getByText('Written by gpt-4 (temperature 1, top_p 1, max_tokens 512)').waitFor();
    await page.keyboard.press('Escape');

    const html = await page.content();
    expect(html).not.toContain(KEY);
    expect(consoleText.join('\n')).not.toContain(KEY);
    expect(studio.errors.filter((e) => !/ERR_ABORTED|Failed to fetch|ERR_CONNECTION/.test(e))).toEqual([]);
  });
});
