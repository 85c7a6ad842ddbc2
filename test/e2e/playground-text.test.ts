// The playground on a model with a tokenizer: a small random Llama with the Llama 2 vocabulary from
// ../shared, picked as local files. Samples stream as text, side by side, with their own seeds.
import { copyFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { tinyConfig, writeRandomModel } from '../fixtures/random-model';
import { openStudio, repoRoot, type Studio } from './harness';

const tokenizerDir = path.resolve(repoRoot, '../shared/fixtures/llama2-tokenizer');
const haveTokenizer = existsSync(tokenizerDir);
if (!haveTokenizer) console.warn(`[playground-text] ${tokenizerDir} is absent: the text-prompt browser tests are skipped`);

describe.skipIf(!haveTokenizer)('playground with a tokenizer (random weights, Llama 2 vocabulary)', () => {
  let studio: Studio;
  let files: string[];

  beforeAll(async () => {
    const { dir } = await writeRandomModel(tinyConfig({ vocabSize: 32000, maxPositionEmbeddings: 256 }), 7);
    for (const name of ['tokenizer.json', 'tokenizer_config.json']) await copyFile(path.join(tokenizerDir, name), path.join(dir, name));
    files = ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json'].map((name) => path.join(dir, name));
    studio = await openStudio();
    await studio.open('playground');
    await studio.page.getByLabel('Model files').setInputFiles(files);
    await studio.page.getByRole('region', { name: 'local files' }).waitFor({ timeout: 120_000 });
  });

  afterAll(async () => {
    await studio?.close();
  });

  test('without a chat template, Alpaca is the default and Chat is off', async () => {
    const { page } = studio;
    expect(await page.getByRole('region', { name: 'local files' }).innerText()).toMatch(/Tokenizer\s+yes$/m);
    expect(await page.getByRole('radio', { name: 'Chat' }).isDisabled()).toBe(true);
    expect(await page.getByRole('radio', { name: 'Alpaca' }).isChecked()).toBe(true);
    await page.getByRole('button', { name: /Generate/ }).click();
    expect(await page.getByRole('form', { name: 'Prompt' }).getByRole('alert').innerText()).toContain('Enter an instruction');
  });

  test('two Alpaca samples stream as text side by side', async () => {
    const { page } = studio;
    await page.getByLabel('Instruction').fill('Give three tips for staying healthy.');
    await page.getByLabel('Temperature').fill('1');
    await page.getByLabel('Samples', { exact: true }).fill('2');
    await page.getByLabel('Max new tokens').fill('8');
    await page.getByLabel('Instruction').press('Control+Enter');

    const texts: string[] = [];
    for (const [i, name] of ['Sample 1', 'Sample 2'].entries()) {
      const sample = page.getByRole('article', { name });
      await sample.locator('footer .badge:not(.live)').waitFor({ timeout: 240_000 });
      expect(await sample.innerText()).toContain(`seed ${42 + i}`);
      const footer = await sample.locator('footer').innerText();
      expect(footer).toMatch(/^(max new tokens|end of sequence)/);
      const text = await sample.locator('output').innerText();
      if (footer.startsWith('max new tokens')) {
        expect(footer).toContain('8 tokens');
        expect(text.length).toBeGreaterThan(0);
      }
      texts.push(text);
    }
    expect(texts[0]).not.toBe(texts[1]);
    expect(await page.getByLabel('Instruction').inputValue()).toBe('Give three tips for staying healthy.');
    expect(studio.errors).toEqual([]);
  });
});
