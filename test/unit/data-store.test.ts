import 'fake-indexeddb/auto';
import { describe, expect, test } from 'vitest';
import { DB_VERSION, openStudioDB } from '../../src/data/db';
import { BadRowsError, ImportError } from '../../src/data/formats';
import { NameError } from '../../src/data/names';
import { DatasetStore } from '../../src/data/store';

let dbCount = 0;
const freshName = () => `studio-test-${process.pid}-${++dbCount}`;

const alpaca = (n: number) => Array.from({ length: n }, (_, i) => ({ instruction: `Instruction number ${i}`, input: i % 3 ? '' : `input ${i}`, output: `Output ${i}` }));

describe('StudioDB', () => {
  test('migrations run in order and keep data written by older versions', async () => {
    const name = freshName();
    const v1 = await openStudioDB(name, 1);
    expect([...v1.objectStoreNames].sort()).toEqual(['datasets', 'records', 'settings']);
    await v1.put('settings', 'https://example.invalid/v1', 'teacher.baseURL');
    v1.close();
    const latest = await openStudioDB(name);
    expect(latest.version).toBe(DB_VERSION);
    expect([...latest.objectStoreNames]).toEqual(expect.arrayContaining(['checkpoints', 'datasets', 'jobItems', 'jobs', 'records', 'requestCache', 'runData', 'runs', 'settings']));
    expect(await latest.get('settings', 'teacher.baseURL')).toBe('https://example.invalid/v1');
    latest.close();
  });
});

describe('DatasetStore', () => {
  test('import stores every row in file order and lists the dataset', async () => {
    const store = await DatasetStore.open(freshName());
    const meta = await store.importText('small', JSON.stringify(alpaca(25)), { kind: 'paste' });
    expect(meta).toMatchObject({ name: 'small', format: 'alpaca', rowCount: 25 });
    const rows = await store.rows(meta.id);
    expect(rows.map((r) => r.instruction)).toEqual(alpaca(25).map((r) => r.instruction));
    expect(rows.map((r) => r.seq)).toEqual([...Array(25).keys()]);
    expect((await store.list()).map((d) => d.id)).toEqual([meta.id]);
  });

  test('a malformed file changes nothing', async () => {
    const store = await DatasetStore.open(freshName());
    await store.importText('first', JSON.stringify(alpaca(3)), { kind: 'paste' });
    const before = { datasets: await store.db.getAll('datasets'), records: await store.db.count('records') };
    const bad = JSON.stringify([...alpaca(10), { instruction: 7 }]);
    await expect(store.importText('bad', bad, { kind: 'paste' })).rejects.toBeInstanceOf(ImportError);
    await expect(store.importText('cut', JSON.stringify(alpaca(10)).slice(0, -30), { kind: 'paste' })).rejects.toThrow(/row 10/);
    expect(await store.db.getAll('datasets')).toEqual(before.datasets);
    expect(await store.db.count('records')).toBe(before.records);
  });

  test('a failing write aborts the whole import transaction', async () => {
    const store = await DatasetStore.open(freshName());
    const rows = alpaca(50) as { instruction: string; input: string; output: string; label?: unknown }[];
    rows[40].label = () => 'functions cannot be stored';
    await expect(store.create('x', 'alpaca', { kind: 'paste' }, rows as never)).rejects.toThrow();
    expect(await store.db.count('datasets')).toBe(0);
    expect(await store.db.count('records')).toBe(0);
  });

  test('edit, delete, append and remove keep counts right and touch one dataset only', async () => {
    const store = await DatasetStore.open(freshName());
    const a = await store.importText('a', JSON.stringify(alpaca(10)), { kind: 'paste' });
    const b = await store.importText('b', JSON.stringify(alpaca(4)), { kind: 'paste' });
    const rows = await store.rows(a.id);
    await store.updateRow({ ...rows[2], output: 'edited' });
    expect((await store.rows(a.id))[2].output).toBe('edited');
    expect((await store.deleteRows(a.id, [0, 5, 5, 99])).rowCount).toBe(8);
    expect((await store.append(a.id, [{ instruction: 'new', input: '', output: '' }])).rowCount).toBe(9);
    const after = await store.rows(a.id);
    expect(after.map((r) => r.seq)).toEqual([1, 2, 3, 4, 6, 7, 8, 9, 10]);
    await expect(store.updateRow({ ...rows[0], output: 'x' })).rejects.toThrow(/no longer/);
    await store.remove(a.id);
    expect((await store.list()).map((d) => d.id)).toEqual([b.id]);
    expect(await store.db.count('records')).toBe(4);
  });

  test('dedupe and split write new datasets', async () => {
    const store = await DatasetStore.open(freshName());
    const rows = [
      { instruction: 'Write a short poem about the sea.', input: '', output: '1' },
      { instruction: 'Write a short poem about the ocean.', input: '', output: '2' },
      { instruction: 'Explain how vaccines work.', input: '', output: '3' },
      { instruction: 'write a SHORT poem about the sea!', input: '', output: '4' },
    ];
    const meta = await store.importText('dups', JSON.stringify(rows), { kind: 'paste' });
    const { dataset, removed } = await store.dedupe(meta.id);
    expect(removed).toBe(2);
    expect((await store.rows(dataset.id)).map((r) => r.output)).toEqual(['1', '3']);
    expect(dataset.origin).toEqual({ kind: 'derived', from: meta.id, how: 'dedupe' });

    const big = await store.importText('big', JSON.stringify(alpaca(200)), { kind: 'paste' });
    const { train, validation } = await store.split(big.id, 0.1, 3);
    expect(train.rowCount + validation.rowCount).toBe(200);
    expect(validation.rowCount).toBe(20);
    const seen = [...await store.rows(train.id), ...await store.rows(validation.id)].map((r) => r.instruction).sort();
    expect(seen).toEqual(alpaca(200).map((r) => r.instruction).sort());
  });

  test('rename trims the name and refuses an empty or taken one, changing nothing', async () => {
    const store = await DatasetStore.open(freshName());
    const a = await store.importText('a', JSON.stringify(alpaca(2)), { kind: 'paste' });
    await store.importText('b', JSON.stringify(alpaca(2)), { kind: 'paste' });
    expect((await store.rename(a.id, '  Alpaca GPT-4  ')).name).toBe('Alpaca GPT-4');
    await expect(store.rename(a.id, ' ')).rejects.toThrow(NameError);
    await expect(store.rename(a.id, 'B')).rejects.toThrow(/already called “b”/);
    expect((await store.get(a.id)).name).toBe('Alpaca GPT-4');
    expect((await store.rename(a.id, 'alpaca gpt-4')).name).toBe('alpaca gpt-4');
  });

  test('dedupe keeps what it removed, near which kept row and the score; rows go back in place; undo deletes the copy', async () => {
    const store = await DatasetStore.open(freshName());
    const rows = [
      { instruction: 'Write a short poem about the sea.', input: '', output: '1' },
      { instruction: 'Explain how vaccines work.', input: '', output: '2' },
      { instruction: 'Write a short poem about the ocean.', input: '', output: '3' },
      { instruction: 'Explain how vaccines work in the body.', input: '', output: '4' },
      { instruction: 'Name three rivers.', input: '', output: '5' },
    ];
    const source = await store.importText('poems', JSON.stringify(rows), { kind: 'paste' });
    const { dataset, removed } = await store.dedupe(source.id);
    expect(removed).toBe(2);
    expect(dataset.name).toBe('poems (deduped)');
    expect(dataset.dedupe!.threshold).toBe(0.7);
    expect(dataset.dedupe!.removed.map((r) => [r.seq, r.keptSeq, r.row.output])).toEqual([[2, 0, '3'], [3, 1, '4']]);
    expect(dataset.dedupe!.removed[0].score).toBeCloseTo(2 * 6 / 7 * 6 / 7 / (12 / 7), 6); // LCS 6 of 7 tokens each
    expect(dataset.dedupe!.removed.every((r) => r.score > 0.7 && r.score <= 1)).toBe(true);
    expect((await store.rows(dataset.id)).map((r) => [r.seq, r.output])).toEqual([[0, '1'], [1, '2'], [4, '5']]);

    // A second dedupe of the deduped set, and a split of it, name each step once.
    expect((await store.dedupe(dataset.id)).dataset.name).toBe('poems (deduped) 2');
    expect((await store.split(dataset.id, 0.34, 1)).train.name).toBe('poems (deduped, train)');

    // Rows put back take their old places and leave the list; the source is untouched throughout.
    const back = await store.putBack(dataset.id, [3]);
    expect(back.rowCount).toBe(4);
    expect(back.dedupe!.removed.map((r) => r.seq)).toEqual([2]);
    expect((await store.rows(dataset.id)).map((r) => r.output)).toEqual(['1', '2', '4', '5']);
    expect((await store.get(dataset.id)).dedupe!.removed).toHaveLength(1);
    expect((await store.rows(source.id)).map((r) => r.output)).toEqual(['1', '2', '3', '4', '5']);

    // Undo: the deduped copy goes, the source is what the page opens.
    expect((await store.undoDedupe(dataset.id)).id).toBe(source.id);
    await expect(store.get(dataset.id)).rejects.toThrow(/does not exist/);
    await expect(store.undoDedupe(source.id)).rejects.toThrow(/not made by dedupe/);

    // Without its source, undo is refused and the rows can still be put back.
    const again = (await store.dedupe(source.id)).dataset;
    await store.remove(source.id);
    await expect(store.undoDedupe(again.id)).rejects.toThrow(/deleted.*put the removed rows back/);
    const all = await store.putBack(again.id, again.dedupe!.removed.map((r) => r.seq));
    expect((await store.rows(again.id)).map((r) => r.output)).toEqual(['1', '2', '3', '4', '5']);
    expect(all.dedupe!.removed).toEqual([]);
  });

  test('import of the good rows only: the bad ones are counted and listed, nothing stored when the whole import is refused', async () => {
    const store = await DatasetStore.open(freshName());
    const text = JSON.stringify([...alpaca(4), { instruction: 1 }, ...alpaca(2), 'x']);
    await expect(store.importText('mixed', text, { kind: 'paste' })).rejects.toBeInstanceOf(BadRowsError);
    expect(await store.db.count('datasets')).toBe(0);
    const { dataset, skipped, problems } = await store.importGoodRows('mixed', text, { kind: 'paste' });
    expect([dataset.rowCount, skipped]).toEqual([6, 2]);
    expect(problems.map((p) => p.row)).toEqual([5, 8]);
    await expect(store.importGoodRows('bad', '[1]', { kind: 'paste' })).rejects.toBeInstanceOf(BadRowsError);
    expect(await store.db.count('datasets')).toBe(1);
  });
});
