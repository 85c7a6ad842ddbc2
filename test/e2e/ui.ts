// Steps through the playground's UI shared by the browser tests, done the way a user does them.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
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

/** Picks config.json and model.safetensors in the file input and waits for the model card. */
export async function loadStoriesFromFiles(page: Page): Promise<void> {
  await page
    .getByLabel('Model files')
    .setInputFiles([path.join(stories260K, 'config.json'), path.join(stories260K, 'model.safetensors')]);
  await page.getByRole('region', { name: 'local files' }).waitFor({ timeout: 120_000 });
}

/** The ids shown in a sample's output ("461, 461, 401"), as numbers. */
export function parseShownIds(text: string): number[] {
  return text.split(',').map((s) => s.trim()).filter(Boolean).map(Number);
}
