// No card is drawn over another: with 80-character names for datasets, eval sets and answer sets, and a model
// loaded, every page at 1100, 1400 and 1920 px wide lays its cards out side by side or stacked, never
// intersecting; none sticks out of the window or lets its content spill over its edge.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { openStudio, type Studio } from './harness';
import { loadStoriesFromFiles } from './ui';

const long = (what: string) => `${what} ${'x'.repeat(80)}`.slice(0, 80);
const widths = [1100, 1400, 1920];
const routes = ['datasets', 'teacher', 'playground', 'train', 'rerank', 'evaluate', 'human-eval', 'reports', 'workshop'];

/** Pairs of cards (.panel, not one inside the other) whose boxes intersect, cards past the window's edge, and
 * cards whose content spills out of them. */
async function overlaps(page: Page) {
  return page.evaluate(() => {
    const cards = [...document.querySelectorAll<HTMLElement>('.panel')].filter((el) => el.getClientRects().length > 0);
    const name = (el: HTMLElement) => `${el.tagName.toLowerCase()} "${(el.getAttribute('aria-label') ?? el.querySelector('h2, h3')?.textContent ?? '').trim().slice(0, 40)}"`;
    const boxes = cards.map((el) => ({ el, r: el.getBoundingClientRect() }));
    const found: string[] = [];
    for (let i = 0; i < boxes.length; i++) {
      const a = boxes[i];
      if (a.r.right > document.documentElement.clientWidth + 0.5) found.push(`${name(a.el)} ends at ${a.r.right} px, past the window`);
      // Content wider than its card spills over the card beside it.
      if (getComputedStyle(a.el).overflowX === 'visible' && a.el.scrollWidth > a.el.clientWidth + 1) {
        found.push(`${name(a.el)} holds content ${a.el.scrollWidth - a.el.clientWidth} px wider than itself`);
      }
      for (let j = i + 1; j < boxes.length; j++) {
        const b = boxes[j];
        if (a.el.contains(b.el) || b.el.contains(a.el)) continue;
        const w = Math.min(a.r.right, b.r.right) - Math.max(a.r.left, b.r.left);
        const h = Math.min(a.r.bottom, b.r.bottom) - Math.max(a.r.top, b.r.top);
        if (w > 0.5 && h > 0.5) found.push(`${name(a.el)} and ${name(b.el)} overlap by ${w.toFixed(0)} x ${h.toFixed(0)} px`);
      }
    }
    return { cards: cards.length, found };
  });
}

describe('layout', () => {
  let studio: Studio;
  let dir = '';
  const file = (name: string) => path.join(dir, name);

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'layout-e2e-'));
    const ids = [1, 2, 3];
    await writeFile(file(`${long('eval set')}.jsonl`), ids.map((id) => JSON.stringify({ question_id: id, text: `Question ${id}?`, category: 'generic' })).join('\n'));
    await writeFile(file('answers.jsonl'), ids.map((id) => JSON.stringify({ question_id: id, text: `Answer ${id}.` })).join('\n'));
    await writeFile(file(`${long('dataset')}.json`), JSON.stringify(ids.map((id) => ({ instruction: `Say ${id}.`, input: '', output: `${id}` }))));
    studio = await openStudio();
  });

  afterAll(async () => {
    await studio?.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('long names everywhere and a model loaded', async () => {
    const { page } = studio;
    await page.setViewportSize({ width: 1400, height: 900 });
    await studio.open('datasets');
    await page.getByLabel('Dataset file').setInputFiles(file(`${long('dataset')}.json`));
    await page.getByRole('status').filter({ hasText: 'Imported 3 rows' }).waitFor();
    await studio.open('evaluate');
    await page.getByLabel('Eval set file').setInputFiles(file(`${long('eval set')}.jsonl`));
    await page.getByText('Imported 3 questions').waitFor();
    for (const name of [long('answers A'), long('answers B')]) {
      await page.getByLabel('Answer set name').fill(name);
      await page.getByLabel('Answer file').setInputFiles(file('answers.jsonl'));
      await page.getByText(`Imported 3 answers as “${name}”.`).waitFor();
    }
    await studio.open('playground');
    await loadStoriesFromFiles(page);
    expect(studio.errors).toEqual([]);
  });

  test.each(widths)('no two cards intersect on any page at %i px', async (width) => {
    const { page } = studio;
    await page.setViewportSize({ width, height: 1000 });
    const problems: string[] = [];
    for (const route of routes) {
      await studio.open(route);
      await page.locator('main .panel').first().waitFor();
      await page.waitForTimeout(200);
      const { cards, found } = await overlaps(page);
      expect(cards, route).toBeGreaterThan(0);
      problems.push(...found.map((f) => `${route}: ${f}`));
    }
    expect(problems).toEqual([]);
    expect(studio.errors).toEqual([]);
  });
});
