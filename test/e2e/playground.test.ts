// The playground on stories260K picked as local files: greedy decoding streams into the page and ends on the
// goldens' ids; Esc cancels a run; a bad prompt shows an error and keeps what the user typed.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { openStudio, type Studio } from './harness';
import { goldens, loadStoriesFromFiles, parseShownIds, stories260K } from './ui';

describe('playground with stories260K from local files', () => {
  let studio: Studio;

  beforeAll(async () => {
    studio = await openStudio();
    await studio.open('playground');
    await loadStoriesFromFiles(studio.page);
  });

  afterAll(async () => {
    await studio?.close();
  });

  test('the model card describes the picked model', async () => {
    const card = studio.page.getByRole('region', { name: 'local files' });
    const text = await card.innerText();
    expect(text).toMatch(/Architecture\s+llama/);
    expect(text).toMatch(/Layers\s+5/);
    expect(text).toMatch(/Parameters\s+260K/);
    expect(text).toMatch(/Tokenizer\s+none/);
    expect(await studio.page.getByRole('radio', { name: 'Chat' }).isDisabled()).toBe(true);
  });

  test('the GPU panel shows the kernels checked and chosen for the model, and a self-test on demand', async () => {
    const { page } = studio;
    const panel = page.getByRole('region', { name: 'GPU' });
    const facts = await panel.innerText();
    expect(facts).toMatch(/Kernels for local files/);
    expect(facts).toMatch(/Weights\s+f32/);
    // SwiftShader has no shader-f16: every f32 check passes, every f16 one is not available.
    expect(facts).toMatch(/Checks\s+17 pass, 0 fail, 17 not available \(checked now\)/);
    expect(facts).toMatch(/Variants\s+timed on this GPU \(tuned now, [\d.]+ s\)/);
    await panel.getByText('Chosen variants by shape and rows').click();
    const choices = panel.getByRole('table', { name: 'Chosen kernel variants' });
    // stories260K's five hot shapes, each with a variant per row class (the timings decide which).
    expect(await choices.locator('tbody tr').count()).toBe(5);
    expect(await choices.locator('tbody tr').first().innerText()).toMatch(/^64→64(\s+(tiled|vector|subgroup|direct_\S+)){6}$/);
    await panel.getByRole('button', { name: 'Run kernel self-test' }).click();
    const rows = panel.getByRole('table', { name: 'Kernel self-test' }).locator('tbody tr');
    await rows.first().waitFor({ timeout: 120_000 });
    expect(await panel.innerText()).toMatch(/Self-test: 17 pass, 0 fail,\s+17 not available\./);
    // One row per variant and weight type: 17 f32 checks and 17 f16 ones.
    expect(await rows.count()).toBe(34);
    expect(await rows.filter({ hasText: 'direct_x16_y1' }).first().innerText()).toMatch(/matmul_forward\s+direct_x16_y1\s+f32\s+\S+e-\d+\s+pass/);
    expect(studio.errors).toEqual([]);
  });

  test('greedy generation from BOS streams token by token and ends on the golden ids', async () => {
    const { page } = studio;
    const expected = goldens.greedy_from_bos_39.slice(1);
    await page.getByLabel('Prompt token ids').fill(String(goldens.greedy_from_bos_39[0]));
    await page.getByLabel('Temperature').fill('0');
    await page.getByLabel('Samples', { exact: true }).fill('1');
    await page.getByLabel('Max new tokens').fill(String(expected.length));
    // Record how many ids the first sample shows after every DOM change.
    await page.evaluate(() => {
      const seen: number[] = [];
      Object.assign(window, { seenCounts: seen });
      new MutationObserver(() => {
        const shown = document.querySelector('[aria-label="Sample 1"] output')?.textContent ?? '';
        seen.push(shown.split(',').filter((s) => s.trim()).length);
      }).observe(document.body, { subtree: true, childList: true, characterData: true });
    });

    await page.keyboard.press('Control+Enter');
    const sample = page.getByRole('article', { name: 'Sample 1' });
    await sample.getByText('max new tokens').waitFor({ timeout: 240_000 });

    expect(parseShownIds(await sample.locator('output').innerText())).toEqual(expected);
    expect(await sample.locator('footer').innerText()).toMatch(new RegExp(`${expected.length} tokens\\s+[\\d.]+ tok/s`));
    const seen = await page.evaluate(() => (window as unknown as { seenCounts: number[] }).seenCounts);
    const partial = new Set(seen.filter((c) => c > 0 && c < expected.length));
    expect(partial.size, `counts seen while streaming: ${seen.join(' ')}`).toBeGreaterThanOrEqual(expected.length / 2);
    expect(seen).toEqual([...seen].sort((a, b) => a - b));
    expect(studio.errors).toEqual([]);
  });

  test('Esc cancels a run; every sample ends as cancelled', async () => {
    const { page } = studio;
    await page.getByLabel('Temperature').fill('0.9');
    await page.getByLabel('Samples', { exact: true }).fill('2');
    await page.getByLabel('Max new tokens').fill('400');
    await page.getByRole('button', { name: /Generate/ }).click();
    await page.getByRole('article', { name: 'Sample 2' }).getByText(/^([2-9]|\d{2,}) tokens$/).waitFor({ timeout: 120_000 });
    await page.keyboard.press('Escape');

    for (const name of ['Sample 1', 'Sample 2']) {
      const sample = page.getByRole('article', { name });
      await sample.getByText('cancelled').waitFor({ timeout: 120_000 });
      const count = parseShownIds(await sample.locator('output').innerText()).length;
      expect(count).toBeGreaterThan(0);
      expect(count).toBeLessThan(400);
    }
    expect(await page.getByRole('button', { name: /Generate/ }).isEnabled()).toBe(true);
    expect(studio.errors).toEqual([]);
  });

  test('bad prompts and engine refusals show an error and keep the input', async () => {
    const { page } = studio;
    await page.getByLabel('Prompt token ids').fill('1, 461, once');
    await page.getByRole('button', { name: /Generate/ }).click();
    const alert = page.getByRole('form', { name: 'Prompt' }).getByRole('alert');
    expect(await alert.innerText()).toContain('"once" is not a token id');
    expect(await page.getByLabel('Prompt token ids').inputValue()).toBe('1, 461, once');

    await page.getByLabel('Prompt token ids').fill('1, 9999');
    await page.getByRole('button', { name: /Generate/ }).click();
    expect(await alert.innerText()).toContain("Token id 9999 is out of range. This model's vocabulary has ids 0 to 511.");

    // The engine's own refusal comes back from the worker with its message.
    await page.getByLabel('Prompt token ids').fill('1, 461');
    await page.getByLabel('Max new tokens').fill('600');
    await page.getByRole('button', { name: /Generate/ }).click();
    await alert.getByText(/context of 512/).waitFor({ timeout: 60_000 });
    expect(await page.getByLabel('Prompt token ids').inputValue()).toBe('1, 461');
    expect(await page.getByLabel('Max new tokens').inputValue()).toBe('600');
    expect(studio.errors).toEqual([]);
  });

  test('dropping files onto the model panel loads them; a missing weight file is named', async () => {
    const { page } = studio;
    const read = async (name: string) => ({ name, base64: (await readFile(path.join(stories260K, name))).toString('base64') });
    const drop = (files: { name: string; base64: string }[]) =>
      page.evaluate((files) => {
        const data = new DataTransfer();
        for (const { name, base64 } of files) {
          data.items.add(new File([Uint8Array.from(atob(base64), (c) => c.charCodeAt(0))], name));
        }
        const panel = document.querySelector('section[aria-labelledby="model-panel-title"]')!;
        panel.dispatchEvent(new DragEvent('dragover', { dataTransfer: data, bubbles: true, cancelable: true }));
        panel.dispatchEvent(new DragEvent('drop', { dataTransfer: data, bubbles: true, cancelable: true }));
      }, files);
    const panel = page.getByRole('region', { name: 'Model', exact: true });

    await drop([await read('config.json')]);
    await panel.getByRole('alert').filter({ hasText: 'has no model.safetensors' }).waitFor({ timeout: 60_000 });
    // The model loaded before stays loaded.
    await page.getByRole('region', { name: 'local files' }).waitFor();

    await drop(await Promise.all(['config.json', 'model.safetensors'].map(read)));
    await panel.getByRole('status').filter({ hasText: /^Loaded from local files/ }).waitFor({ timeout: 120_000 });
    expect(await page.getByRole('region', { name: 'local files' }).innerText()).toMatch(/Layers\s+5/);
    expect(studio.errors).toEqual([]);
  });

  test('a crashed engine worker fails the running call with its message, and a reload of the model works again', async () => {
    const { page } = studio;
    await page.getByLabel('Prompt token ids').fill('1');
    await page.getByLabel('Temperature').fill('0.9');
    await page.getByLabel('Samples', { exact: true }).fill('1');
    await page.getByLabel('Max new tokens').fill('400');
    await page.getByRole('button', { name: /Generate/ }).click();
    await page.getByRole('article', { name: 'Sample 1' }).getByText(/^([2-9]|\d{2,}) tokens$/).waitFor({ timeout: 120_000 });
    const [worker] = page.workers();
    await worker.evaluate(() => {
      setTimeout(() => {
        throw new Error('simulated crash');
      });
    });

    const alert = page.getByRole('form', { name: 'Prompt' }).getByRole('alert');
    await alert.filter({ hasText: 'The engine worker stopped' }).waitFor({ timeout: 60_000 });
    expect(await alert.innerText()).toMatch(/simulated crash.*load it again to continue/s);
    await page.getByText('no model').waitFor();
    expect(await page.getByRole('button', { name: /Generate/ }).isDisabled()).toBe(true);

    await loadStoriesFromFiles(page);
    await page.getByLabel('Max new tokens').fill('3');
    await page.getByRole('button', { name: /Generate/ }).click();
    await page.getByRole('article', { name: 'Sample 1' }).getByText('max new tokens').waitFor({ timeout: 120_000 });
    expect(studio.errors.filter((e) => !e.includes('simulated crash'))).toEqual([]);
  });
});
