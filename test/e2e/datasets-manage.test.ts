// Managing datasets in the browser: an import with bad rows lists them (the first 50, line and reason) and stores
// nothing until the user imports the good rows alone; datasets rename inline by keyboard, refusing empty and taken
// names; derived names say each step once; dedupe lists what it left out, puts rows back and undoes.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { openStudio, type Studio } from './harness';

describe('managing datasets', () => {
  let studio: Studio;

  beforeAll(async () => {
    studio = await openStudio();
    studio.page.on('dialog', (dialog) => void dialog.accept());
    await studio.open('datasets');
  });

  afterAll(async () => {
    await studio?.close();
  });

  const list = () => studio.page.getByRole('list', { name: 'Stored datasets' });
  const names = () => list().locator('.name').allInnerTexts();
  const rowCount = () => studio.page.getByTestId('row-count').innerText();

  test('an import with bad rows lists each of them, stores nothing, then imports the good rows on request', async () => {
    const { page } = studio;
    // 120 JSON Lines rows; every other one from row 2 on is bad: 60 bad rows, 50 listed.
    const lines = Array.from({ length: 120 }, (_, i) => (i % 2 === 0
      ? JSON.stringify({ instruction: `Good instruction ${i}`, input: '', output: `out ${i}` })
      : i === 1 ? '{"instruction": "cut' : JSON.stringify({ instruction: i, output: 'x' })));
    await page.getByLabel('Dataset file').setInputFiles({ name: 'mixed.jsonl', mimeType: 'application/json', buffer: Buffer.from(lines.join('\n')) });
    const problems = page.getByRole('region', { name: '“mixed” was not imported' });
    await problems.waitFor();
    expect(await page.getByRole('alert').first().innerText()).toMatch(/^row 2 \(line 2\): invalid JSON.*; and 59 more bad rows \(60 of 120\)\. Nothing was imported\.$/);
    expect(await problems.getByTestId('bad-row-count').innerText()).toBe('60 of 120 rows are bad; the first 50:');
    const items = problems.getByRole('list', { name: 'Bad rows' }).locator('li');
    expect(await items.count()).toBe(50);
    expect(await items.nth(0).innerText()).toMatch(/^row 2 \(line 2\): invalid JSON/);
    expect(await items.nth(1).innerText()).toMatch(/^row 4 \(line 4\): instruction: .*expected string/);
    expect(await items.nth(49).innerText()).toMatch(/^row 100 \(line 100\)/);
    expect(await problems.getByText('… and 10 more.').count()).toBe(1);
    expect(await page.getByText('No datasets yet: import one.').count()).toBe(1);

    await problems.getByRole('button', { name: 'Import the 60 good rows, leave 60 out' }).click();
    await page.getByRole('status').filter({ hasText: 'Imported 60 rows into “mixed”; left out 60 bad rows.' }).waitFor();
    expect(await rowCount()).toBe('60 of 60 rows');
    expect(await names()).toEqual(['mixed']);
    expect(await problems.count()).toBe(0);
    expect(studio.errors).toEqual([]);
  });

  test('a dataset renames inline: Enter saves, Escape cancels, empty and taken names are refused and kept', async () => {
    const { page } = studio;
    await page.getByLabel('Dataset file').setInputFiles({
      name: 'other.json', mimeType: 'application/json',
      buffer: Buffer.from(JSON.stringify([{ instruction: 'Say hi.', input: '', output: 'hi' }])),
    });
    await page.getByRole('status').filter({ hasText: 'Imported 1 rows into “other”.' }).waitFor();
    expect(await names()).toEqual(['other', 'mixed']);

    // F2 on the focused dataset opens the field with its name selected; Escape leaves the name alone.
    await list().getByRole('button', { name: /^mixed/ }).click();
    await expect.poll(() => page.locator('#dataset-title').innerText()).toBe('mixed');
    await page.keyboard.press('F2');
    const field = page.getByLabel('New name for dataset mixed');
    expect(await field.inputValue()).toBe('mixed');
    await page.keyboard.type('Changed my mind');
    await page.keyboard.press('Escape');
    await expect.poll(() => field.count()).toBe(0);
    expect(await names()).toEqual(['other', 'mixed']);
    expect(await page.evaluate(() => document.activeElement?.textContent)).toMatch(/mixed/);

    await list().getByRole('button', { name: 'Rename dataset mixed' }).click();
    await field.fill('   ');
    await page.keyboard.press('Enter');
    expect(await list().getByRole('alert').innerText()).toBe('The name is empty: type a name for the dataset.');
    await field.fill('OTHER ');
    await page.keyboard.press('Enter');
    await expect.poll(() => list().getByRole('alert').innerText()).toBe('Another dataset is already called “other”: pick another name.');
    expect(await field.inputValue()).toBe('OTHER ');
    expect(await field.getAttribute('aria-invalid')).toBe('true');
    await field.fill('Mixed rows (good ones)');
    await page.keyboard.press('Enter');
    await expect.poll(() => names()).toEqual(['other', 'Mixed rows (good ones)']);
    expect(await page.locator('#dataset-title').innerText()).toBe('Mixed rows (good ones)');

    // The name is stored: a reload shows it.
    await page.reload();
    await page.getByRole('navigation', { name: 'Pipeline' }).waitFor();
    await expect.poll(() => names()).toEqual(['other', 'Mixed rows (good ones)']);
    expect(studio.errors).toEqual([]);
  });

  test('dedupe lists what it left out, near which kept row and the score; rows go back; derived names stay clean; undo', async () => {
    const { page } = studio;
    const rows = [
      'Write a short poem about the sea.', 'Explain how vaccines work.', 'Write a short poem about the ocean.',
      'Explain how vaccines work in the body.', 'Name three rivers in Europe.', 'Give three tips for staying healthy.',
      'Describe the water cycle.', 'Name three rivers in Asia.',
    ].map((instruction, i) => ({ instruction, input: '', output: `answer ${i + 1}` }));
    await page.getByLabel('Dataset file').setInputFiles({ name: 'poems.json', mimeType: 'application/json', buffer: Buffer.from(JSON.stringify(rows)) });
    await page.getByRole('status').filter({ hasText: 'Imported 8 rows into “poems”.' }).waitFor();

    await page.getByRole('button', { name: 'Remove near-duplicates' }).click();
    await page.getByRole('status').filter({ hasText: 'Removed 3 near-duplicate instructions; kept 5 in “poems (deduped)”.' }).waitFor();
    expect(await rowCount()).toBe('5 of 5 rows');
    expect(await page.getByTestId('dedupe-summary').innerText()).toMatch(/Near-duplicates left out: 3 \(ROUGE-L F > 0\.7/);
    const table = page.getByRole('table', { name: 'Rows left out by dedupe' });
    const cells = await table.locator('tbody tr').evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('td')].slice(0, 5).map((td) => td.textContent)));
    expect(cells).toEqual([
      ['3', 'Write a short poem about the ocean.', '1', 'Write a short poem about the sea.', '0.857'],
      ['4', 'Explain how vaccines work in the body.', '2', 'Explain how vaccines work.', '0.727'],
      ['8', 'Name three rivers in Asia.', '5', 'Name three rivers in Europe.', '0.800'],
    ]);

    // A false positive goes back to its place.
    await table.getByRole('button', { name: 'Put row 8 back' }).click();
    await page.getByRole('status').filter({ hasText: 'Put 1 row back into “poems (deduped)”.' }).waitFor();
    expect(await rowCount()).toBe('6 of 6 rows');
    expect(await page.locator('[data-testid="rows-viewport"] [role="row"]').last().innerText()).toContain('Name three rivers in Asia.');
    expect(await table.locator('tbody tr').count()).toBe(2);

    // Split and dedupe again: each step is named once.
    await page.getByLabel('Validation percent').fill('34');
    await page.getByRole('button', { name: 'Split', exact: true }).click();
    await page.getByRole('status').filter({ hasText: /Split into “poems \(deduped, train\)” \(\d rows\) and “poems \(deduped, validation\)”/ }).waitFor();
    await list().getByRole('button', { name: /^poems \(deduped, train\)/ }).click();
    await page.getByRole('button', { name: 'Remove near-duplicates' }).click();
    await page.getByRole('status').filter({ hasText: /kept \d in “poems \(deduped, train\) 2”/ }).waitFor();
    expect(await names()).toEqual(['poems (deduped, train) 2', 'poems (deduped, validation)', 'poems (deduped, train)', 'poems (deduped)', 'poems', 'other', 'Mixed rows (good ones)']);

    // Undo: the deduped copy goes and its source opens again.
    await page.getByRole('button', { name: 'Undo dedupe' }).click();
    await page.getByRole('status').filter({ hasText: 'Undid the dedupe: deleted “poems (deduped, train) 2”; “poems (deduped, train)” is open.' }).waitFor();
    expect(await page.locator('#dataset-title').innerText()).toBe('poems (deduped, train)');
    expect(await names()).not.toContain('poems (deduped, train) 2');

    // With its source deleted, a deduped dataset is undone by putting every row back.
    await list().getByRole('button', { name: 'Delete dataset poems', exact: true }).click();
    await list().getByRole('button', { name: /^poems \(deduped\)/ }).click();
    expect(await page.getByText('The source dataset is deleted: undo by putting the rows back.').count()).toBe(1);
    await page.getByRole('button', { name: 'Put all 2 back' }).click();
    await page.getByRole('status').filter({ hasText: 'Put 2 rows back into “poems (deduped)”.' }).waitFor();
    const instructions = await page.locator('[data-testid="rows-viewport"] [role="row"]').allInnerTexts();
    expect(instructions.map((t) => /answer (\d)/.exec(t)?.[1])).toEqual(['1', '2', '3', '4', '5', '6', '7', '8']);
    expect(studio.errors).toEqual([]);
    expect(studio.warnings).toEqual([]);
  });
});
