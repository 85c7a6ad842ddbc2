// Content is text or sanitized markdown: script tags, event-handler attributes and javascript: links put
// through a dataset, an eval set, answer sets and their names reach the Datasets, Evaluate, Human eval, Reports
// and Teacher pages, and none of them runs. Markdown renders (bold, code blocks) with a raw toggle. The page
// ships a Content-Security-Policy, so even an inline script put into the page by other means is refused.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { openStudio, type Studio } from './harness';

// Each payload bumps window.__xss if it ever runs.
const payloads = [
  '<script>window.__xss = (window.__xss || 0) + 1</script>',
  '<img src="x" onerror="window.__xss = (window.__xss || 0) + 1">',
  '<svg onload="window.__xss = (window.__xss || 0) + 1"></svg>',
  '[click me](javascript:window.__xss=(window.__xss||0)+1)',
  '<a href="javascript:window.__xss=(window.__xss||0)+1">link</a>',
  '<iframe srcdoc="<script>parent.__xss=(parent.__xss||0)+1</script>"></iframe>',
  '<div style="x" onmouseover="window.__xss=(window.__xss||0)+1">hover</div>',
];
const evil = payloads.join('\n\n');
const markdown = 'Some **bold words** and code:\n\n```js\nconst x = 1;\n```\n';
const N = 3;

/** What the page holds that could run: script elements beyond the app's own, on* attributes, javascript: URLs. */
async function dangerous(page: Page) {
  return page.evaluate(() => {
    const all = [...document.querySelectorAll('*')];
    return {
      ran: (window as unknown as { __xss?: number }).__xss ?? 0,
      scripts: [...document.querySelectorAll('script')].filter((s) => !s.src).length,
      handlers: all.flatMap((el) => [...el.attributes].filter((a) => a.name.startsWith('on')).map((a) => `${el.tagName} ${a.name}`)),
      jsUrls: all.filter((el) => /^\s*javascript:/i.test(el.getAttribute('href') ?? el.getAttribute('src') ?? '')).length,
      frames: document.querySelectorAll('iframe, object, embed').length,
      violations: (window as unknown as { __violations?: string[] }).__violations ?? [],
    };
  });
}

describe('untrusted content', () => {
  let studio: Studio;
  let dir = '';
  const file = (name: string) => path.join(dir, name);

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'xss-e2e-'));
    const ids = Array.from({ length: N }, (_, i) => i + 1);
    await writeFile(file('questions.jsonl'), ids.map((id) => JSON.stringify({ question_id: id, text: `Question ${id}? ${evil}`, category: 'generic' })).join('\n'));
    await writeFile(file('a.jsonl'), ids.map((id) => JSON.stringify({ question_id: id, text: `${markdown}\n${evil}` })).join('\n'));
    await writeFile(file('b.jsonl'), ids.map((id) => JSON.stringify({ question_id: id, text: `B ${id} ${evil}` })).join('\n'));
    await writeFile(file('rows.json'), JSON.stringify(ids.map((id) => ({ instruction: `Row ${id} ${evil}`, input: evil, output: `${markdown}\n${evil}` }))));
    studio = await openStudio();
    // Count CSP violations, should anything get that far.
    await studio.context.addInitScript(() => {
      const w = window as unknown as { __violations: string[] };
      w.__violations = [];
      document.addEventListener('securitypolicyviolation', (e) => w.__violations.push(`${e.violatedDirective} ${e.blockedURI}${e.sourceFile ? ` at ${e.sourceFile}:${e.lineNumber}` : ''}`));
    });
  });

  afterAll(async () => {
    await studio?.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('the page ships a CSP: scripts from the app only, no objects, no <base>', async () => {
    const { page } = studio;
    await studio.open('datasets');
    const csp = await page.locator('meta[http-equiv="Content-Security-Policy"]').getAttribute('content');
    expect(csp).toMatch(/script-src 'self' 'wasm-unsafe-eval'(;|$)/);
    expect(csp).toMatch(/object-src 'none'/);
    expect(csp).toMatch(/base-uri 'none'/);
    // An inline script added to the page is refused.
    const inline = await page.evaluate(() => {
      const s = document.createElement('script');
      s.textContent = 'window.__inline = 1';
      document.body.append(s);
      s.remove();
      return (window as unknown as { __inline?: number }).__inline ?? 0;
    });
    expect(inline).toBe(0);
    await expect.poll(async () => (await dangerous(page)).violations).toEqual(['script-src-elem inline']);
    // The refusal is logged by the browser; nothing else is.
    expect(studio.errors.filter((e) => !/Content Security Policy/.test(e))).toEqual([]);
    studio.errors.length = 0;
    await page.evaluate(() => ((window as unknown as { __violations: string[] }).__violations = []));
  });

  test('a dataset with payloads in every field: the table shows text, the row preview sanitized markdown', async () => {
    const { page } = studio;
    await page.getByLabel('Dataset file').setInputFiles(file('rows.json'));
    await page.getByRole('status').filter({ hasText: `Imported ${N} rows` }).waitFor();
    const first = page.locator('[data-testid="rows-viewport"] [role="row"]').first();
    expect(await first.innerText()).toContain('<script>');
    await first.click();
    const dialog = page.getByRole('dialog');
    await dialog.getByText('Output as formatted').click();
    const preview = dialog.getByTestId('output-preview');
    expect(await preview.locator('strong').innerText()).toBe('bold words');
    expect(await preview.locator('pre code').innerText()).toContain('const x = 1;');
    expect(await preview.locator('pre').evaluate((el) => getComputedStyle(el).fontFamily)).toMatch(/mono/i);
    // The javascript: link lost its target; clicking it runs nothing.
    await preview.getByText('click me').click();
    await preview.getByText('hover').hover();
    expect(await dangerous(page)).toEqual({ ran: 0, scripts: 0, handlers: [], jsUrls: 0, frames: 0, violations: [] });
    await dialog.getByRole('button', { name: 'Cancel' }).click();
  });

  test('eval and answer sets with payloads, and a payload as a name, through Evaluate, Human eval and Reports', async () => {
    const { page } = studio;
    await studio.open('evaluate');
    await page.getByLabel('Eval set file').setInputFiles(file('questions.jsonl'));
    await page.getByText(`Imported ${N} questions`).waitFor();
    const names = ['<img src=x onerror="window.__xss=1">A', 'B <script>window.__xss=1</script>'];
    for (const [name, f] of [[names[0], 'a.jsonl'], [names[1], 'b.jsonl']]) {
      await page.getByLabel('Answer set name').fill(name);
      await page.getByLabel('Answer file').setInputFiles(file(f));
      await page.getByText(`Imported ${N} answers as “${name}”.`).waitFor();
    }
    expect(await dangerous(page)).toMatchObject({ ran: 0, handlers: [], jsUrls: 0, frames: 0 });

    await studio.open('human-eval');
    const form = page.getByRole('region', { name: 'New session' });
    await form.getByLabel('Name').fill('<b onclick="window.__xss=1">S</b>');
    await form.getByLabel('Answers A').selectOption({ label: names[0] });
    await form.getByLabel('Answers B').selectOption({ label: names[1] });
    await form.getByRole('button', { name: 'Create session' }).click();
    await page.getByText(/^Created/).waitFor();
    await page.getByLabel('Your name').fill('<i onmouseover=x>Eve</i>');
    await page.getByRole('button', { name: /^Rate / }).click();
    const rating = page.getByRole('region', { name: 'Rating' });
    // The answer that carries markdown renders it; the toggle shows it raw.
    const side = await rating.locator('article').filter({ has: page.locator('strong', { hasText: 'bold words' }) }).getAttribute('aria-label');
    const formatted = rating.getByRole('article', { name: side! });
    expect(await formatted.locator('pre code').innerText()).toContain('const x = 1;');
    await rating.getByLabel('Raw text').check();
    expect(await formatted.innerText()).toContain('Some **bold words** and code:');
    expect(await formatted.innerText()).toContain('<script>window.__xss');
    await rating.getByLabel('Raw text').uncheck();
    await rating.getByText('hover').first().hover();
    expect(await dangerous(page)).toEqual({ ran: 0, scripts: 0, handlers: [], jsUrls: 0, frames: 0, violations: [] });
    await page.keyboard.press('1');
    await page.getByRole('button', { name: 'Close' }).click();

    for (const route of ['reports', 'teacher', 'datasets', 'playground']) {
      await studio.open(route);
      await page.waitForTimeout(300);
      expect(await dangerous(page), route).toEqual({ ran: 0, scripts: 0, handlers: [], jsUrls: 0, frames: 0, violations: [] });
    }
    expect(studio.errors).toEqual([]);
  });
});
