// Steps through the studio's UI shared by the browser tests, done the way a user does them, and what they read back.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import type { RerankRequest } from '../../src/engine/api';
import { fixtures } from './harness';

export const stories260K = path.join(fixtures, 'stories260K');

export interface Goldens {
  input_ids: number[];
  logits_first5_per_position: number[][];
  argmax_per_position: number[];
  logsumexp_per_position: number[];
  next_token_nll: number[];
  mean_next_token_nll: number;
  greedy_from_bos_39: number[];
}

export const goldens: Goldens = JSON.parse(readFileSync(path.join(stories260K, 'goldens.json'), 'utf8'));

/** Picks a model folder's config.json and model.safetensors in the file input and waits for the model card. */
export async function loadModelFromFiles(page: Page, dir: string): Promise<void> {
  await page.getByLabel('Model files').setInputFiles([path.join(dir, 'config.json'), path.join(dir, 'model.safetensors')]);
  await page.getByRole('region', { name: 'local files' }).waitFor({ timeout: 120_000 });
}

export function loadStoriesFromFiles(page: Page): Promise<void> {
  return loadModelFromFiles(page, stories260K);
}

/** The optimizer step the Train page's run panel shows. */
export async function shownStep(page: Page): Promise<number> {
  const text = await page.getByRole('status', { name: 'Step' }).innerText();
  return Number(/Step (\d+)/.exec(text)?.[1] ?? NaN);
}

/** The ids shown in a sample's output ("461, 461, 401"), as numbers. */
export function parseShownIds(text: string): number[] {
  return text.split(',').map((s) => s.trim()).filter(Boolean).map(Number);
}

/** 16 windows of the goldens' greedy story as pre-tokenized JSONL rows, the first 3 positions of each masked. */
export function storyRowsJsonl(): string {
  const story = goldens.greedy_from_bos_39;
  return Array.from({ length: 16 }, (_, i) => {
    const ids = [1, ...story.slice(1 + i, 9 + i)];
    return JSON.stringify({ input_ids: ids, labels: ids.map((id, t) => (t < 3 ? -100 : id)) });
  }).join('\n');
}

/** The points a chart draws for one series (e.g. "Loss", "train loss"), as {x: step, y: value}. */
export function seriesPoints(page: Page, chart: string, series: string): Promise<{ x: number; y: number }[]> {
  return page
    .locator(`figure[data-title="${chart}"] circle[data-series="${series}"]`)
    .evaluateAll((circles) => circles.map((c) => ({ x: Number(c.getAttribute('data-x')), y: Number(c.getAttribute('data-y')) })));
}

/** On the Datasets page: imports `rows` as a pasted dataset named `name` and waits for the import. */
export async function pasteDataset(page: Page, name: string, rows: unknown[]): Promise<void> {
  await page.getByText('Paste', { exact: true }).click();
  await page.getByLabel('Name for the pasted dataset').fill(name);
  await page.getByLabel('Pasted dataset', { exact: true }).fill(JSON.stringify(rows));
  await page.getByRole('button', { name: 'Import pasted text' }).click();
  await page.getByRole('status').filter({ hasText: `Imported ${rows.length} rows` }).waitFor();
}

/** On the Teacher page: stores the API key and points the teacher at `baseUrl` (the settings are saved by the caller). */
export async function connectTeacher(page: Page, key: string, baseUrl: string): Promise<void> {
  await page.getByLabel('API key').fill(key);
  await page.getByRole('button', { name: 'Store key' }).click();
  await page.getByTestId('key-status').waitFor();
  await page.getByLabel('Base URL').fill(baseUrl);
}

/** Goes to a page through the navigation (a hash change: the model and engine stay). */
export async function go(page: Page, title: string): Promise<void> {
  await page.getByRole('navigation', { name: 'Pipeline' }).getByRole('link', { name: title, exact: true }).click();
}

/** The Rerank page's ranked list as shown: generation-order sample number, reward and text of each item, best first. */
export function rankedItems(page: Page): Promise<{ sample: number; reward: number; rank: number; text: string; pressed: boolean }[]> {
  return page.getByRole('list', { name: 'Ranked samples' }).locator('li').evaluateAll((items) => items.map((li) => ({
    sample: Number(li.getAttribute('data-sample')),
    reward: Number(li.getAttribute('data-reward')),
    rank: Number(li.getAttribute('data-rank')),
    text: li.querySelector('.text')?.textContent ?? '',
    pressed: li.querySelector('button')?.getAttribute('aria-pressed') === 'true',
  })));
}

/** The engine's own rerank of a request, through the console API: each sample's text, ids and reward, in generation order. */
export function engineRerank(page: Page, request: RerankRequest) {
  return page.evaluate(async (r) => {
    const result = await window.studioEngine.rerank(r);
    return { texts: result.samples.map((s) => s.text), ids: result.samples.map((s) => s.ids), rewards: result.rewards, prompts: result.samples.map((s) => s.prompt) };
  }, request);
}
