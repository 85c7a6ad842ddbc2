// Evaluate with what the studio already holds: ROUGE-L of a stored answer set, or of a dataset's outputs, against a
// stored dataset's labels (no export and re-import), and answer sets renamed inline by keyboard.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { go } from './ui';
import { openStudio, type Studio } from './harness';

const unnatural = [
  { instruction: 'Is the sky blue?', input: '', output: 'yes', label: 'yes' },
  { instruction: 'Name the animal.', input: 'It meows.', output: 'a cat', label: 'the cat sat down' },
  { instruction: 'Count to seven.', input: '', output: 'one to seven', label: 'one two three four five six seven' },
];

describe('evaluating stored sets', () => {
  let studio: Studio;

  beforeAll(async () => {
    studio = await openStudio();
  });

  afterAll(async () => {
    await studio?.close();
  });

  const answers = () => studio.page.getByRole('heading', { name: 'Answer sets' }).locator('..').locator('li');

  test('answer sets rename inline: Enter saves, Escape cancels, empty and taken names are refused', async () => {
    const { page } = studio;
    await studio.open('datasets');
    await page.getByLabel('Dataset file').setInputFiles({ name: 'unnatural.jsonl', mimeType: 'application/json', buffer: Buffer.from(unnatural.map((r) => JSON.stringify(r)).join('\n')) });
    await page.getByRole('status').filter({ hasText: 'Imported 3 rows into “unnatural”.' }).waitFor();

    await go(page, 'Evaluate');
    await page.getByLabel('Dataset', { exact: true }).selectOption({ label: 'unnatural (3)' });
    await page.getByRole('button', { name: 'Use', exact: true }).click();
    await page.getByText('“unnatural” is now an eval set of 3 questions.').waitFor();
    for (const [name, texts] of [['tiny', ['Yes.', 'the cat sat', 'one two']], ['other', ['no', 'no', 'no']]] as const) {
      await page.getByLabel('Answer set name').fill(name);
      await page.getByLabel('Answer file').setInputFiles({
        name: `${name}.jsonl`, mimeType: 'application/json',
        buffer: Buffer.from(texts.map((text, i) => JSON.stringify({ question_id: i + 1, text })).join('\n')),
      });
      await page.getByText(`Imported 3 answers as “${name}”.`).waitFor();
    }

    const rename = page.getByRole('button', { name: 'Rename tiny' });
    await rename.focus();
    await page.keyboard.press('Enter');
    const field = page.getByLabel('New name for answer set tiny');
    expect(await field.inputValue()).toBe('tiny');
    await page.keyboard.type('discarded');
    await page.keyboard.press('Escape');
    await expect.poll(() => field.count()).toBe(0);
    expect(await page.evaluate(() => document.activeElement?.getAttribute('aria-label'))).toBe('Rename tiny');

    await page.keyboard.press('Enter');
    await field.fill('');
    await page.keyboard.press('Enter');
    expect(await answers().getByRole('alert').innerText()).toBe('The name is empty: type a name for the answer set.');
    await field.fill('Other');
    await page.keyboard.press('Enter');
    await expect.poll(() => answers().getByRole('alert').innerText()).toBe('Another answer set is already called “other”: pick another name.');
    expect(await field.inputValue()).toBe('Other');
    await field.fill('stories260K + LoRA');
    await page.keyboard.press('Enter');
    await expect.poll(() => answers().allInnerTexts()).toEqual([expect.stringMatching(/^other/), expect.stringMatching(/^stories260K \+ LoRA 3 answers/)]);
    // Every picker shows the new name, and a reload keeps it.
    const judge = page.getByRole('region', { name: 'GPT-4 judge' });
    expect(await judge.getByLabel('Model A').locator('option').allInnerTexts()).toContain('stories260K + LoRA');
    await page.reload();
    await page.getByRole('navigation', { name: 'Pipeline' }).waitFor();
    await expect.poll(() => answers().allInnerTexts()).toEqual([expect.stringMatching(/^other/), expect.stringMatching(/^stories260K \+ LoRA/)]);
    expect(studio.errors).toEqual([]);
  });

  test("ROUGE-L of a stored answer set and of a dataset's outputs against a stored dataset's labels", async () => {
    const { page } = studio;
    const panel = page.getByRole('region', { name: 'ROUGE-L' });
    await panel.getByLabel('References from').selectOption({ label: 'unnatural (3)' });
    await panel.getByLabel('Predictions from').selectOption({ label: 'stories260K + LoRA' });
    expect(await panel.getByLabel('Reference file').count()).toBe(0);
    await panel.getByRole('button', { name: 'Score' }).click();
    // F: yes/Yes. 1, "the cat sat" 6/7, "one two" 4/9.
    const mean = ((1 + 6 / 7 + 4 / 9) / 3).toFixed(4);
    await page.getByText(`ROUGE-L of “stories260K + LoRA”: mean F ${mean} over 3 items.`).waitFor();

    // The dataset's own outputs as the predictions, under a name typed here.
    await panel.getByLabel('Predictions from').selectOption({ label: 'unnatural (3)' });
    await panel.getByLabel('Name').fill('dataset outputs');
    await panel.getByRole('button', { name: 'Score' }).click();
    await page.getByText(/^ROUGE-L of “dataset outputs”: mean F 0\.\d{4} over 3 items\.$/).waitFor();

    // Answers to other questions are refused with the reason.
    await panel.getByLabel('References from').selectOption({ label: 'other' });
    await panel.getByLabel('Predictions from').selectOption({ label: 'unnatural (3)' });
    await panel.getByRole('button', { name: 'Score' }).click();
    await expect.poll(() => page.getByRole('alert').innerText()).toMatch(/“unnatural”: 3 of 3 questions have no answer/);

    await go(page, 'Reports');
    const chart = page.getByRole('region', { name: 'ROUGE-L report' }).locator('[data-chart="bars"]');
    await chart.waitFor();
    // Three bins have a reference (1, 4 and 7 words; none over 10), and "All".
    expect(await chart.locator('rect[data-series="stories260K + LoRA"]').count()).toBe(4);
    expect(await chart.locator('rect[data-series="dataset outputs"]').count()).toBe(4);
    expect(studio.errors).toEqual([]);
    expect(studio.warnings).toEqual([]);
  });
});
