// The run lifecycle shared by the Train page and the CLI: a run record, checkpoints stored with the curve up to
// them (even when the checkpoint arrives before its step's event), resume from the last checkpoint with the curve
// cut there, and the checks that refuse another model, changed data or other settings. The same lifecycle runs on
// each book: IndexedDB (RunStore), a CLI run folder, and memory.
import 'fake-indexeddb/auto';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { runDir } from '../../src/cli/run-dir';
import { RunStore, type NewRun } from '../../src/data/runs';
import type { LoraAdapter } from '../../src/model/lora';
import type { TrainExample } from '../../src/train/data';
import { defaultSftSettings, type Checkpoint, type TrainEvent } from '../../src/train/run';
import { checkDataset, checkModel, checkRows, checkSettings, memoryRunBook, RunResumeError, RunSession, runTotalSteps, type RunBook } from '../../src/train/session';

const model = { label: 'stories260K', parameterCount: 260_000, vocabSize: 512 };
const rows: TrainExample[] = [
  { inputIds: [1, 5, 9], labels: [-100, 5, 9] },
  { inputIds: [1, 7], labels: [-100, 7] },
];
const newRun: NewRun = {
  kind: 'sft',
  name: 'rows.jsonl',
  model,
  data: { kind: 'tokenized', name: 'rows.jsonl', rowCount: rows.length },
  settings: { ...defaultSftSettings, rank: 1, steps: 6, checkpointEvery: 2 },
  maxLen: 64,
  trainOnInputs: false,
  totalSteps: 6,
};
const event = (step: number): TrainEvent => ({ step, totalSteps: 6, epoch: step / 6, lr: 0.01, loss: 2 / step });

function checkpointAt(step: number): Checkpoint {
  const adapter: LoraAdapter = {
    rank: 1,
    alpha: 2,
    dropout: 0,
    targets: ['q_proj'],
    baseModel: 'stories260K',
    modules: [{ layer: 0, target: 'q_proj', inFeatures: 2, outFeatures: 2, A: Float32Array.from([step, 1]), B: Float32Array.from([0, step]) }],
  };
  return { step, adapter, optimizer: { m: [new Float32Array(2).fill(step), new Float32Array(2)], v: [new Float32Array(2), new Float32Array(2).fill(0.5)] } };
}

let serial = 0;
const books: [string, () => Promise<RunBook>][] = [
  ['IndexedDB (RunStore)', () => RunStore.open(`session-test-${process.pid}-${++serial}`)],
  ['a CLI run folder', async () => runDir(path.join(await mkdtemp(path.join(tmpdir(), 'run-dir-')), 'run'))],
  ['memory', async () => memoryRunBook()],
];

describe.each(books)('a run in %s', (_, open) => {
  test('a checkpoint is stored with the curve up to its step, even when it arrives before that step’s event', async () => {
    const book = await open();
    const seen: number[] = [];
    const session = await RunSession.start(book, newRun, rows, 0, (_run, events) => seen.push(events.length));
    expect(session.run).toMatchObject({ status: 'running', checkpointStep: null, events: [] });
    expect(session.startStep).toBe(0);
    session.onEvent(event(1));
    expect(session.onEvent(event(1))).toBe(false);
    const saving = session.saveCheckpoint(checkpointAt(2));
    session.onEvent(event(2));
    await saving;
    session.onEvent(event(3));
    expect((await book.get(session.id)).events.map((e) => e.step)).toEqual([1, 2]);
    expect((await book.checkpoint(session.id))?.step).toBe(2);
    expect(session.events.map((e) => e.step)).toEqual([1, 2, 3]);
    expect(seen.at(-1)).toBe(3);
  });

  test('a reload mid-run: resume continues from the checkpoint with the curve cut there, and finishes', async () => {
    const book = await open();
    const first = await RunSession.start(book, newRun, rows);
    for (const step of [1, 2]) first.onEvent(event(step));
    await first.saveCheckpoint(checkpointAt(2));
    first.onEvent(event(3));
    // The page is gone: the record still says running, its curve ends at the checkpoint.
    const resumed = await RunSession.resume(book, first.id, model);
    expect(resumed.startStep).toBe(2);
    expect(resumed.checkpoint?.adapter.modules[0].A).toEqual(Float32Array.from([2, 1]));
    expect(resumed.checkpoint?.optimizer.m[0]).toBeInstanceOf(Float32Array);
    expect(resumed.events.map((e) => e.step)).toEqual([1, 2]);
    expect(resumed.run).toMatchObject({ status: 'running', error: null });
    for (const step of [3, 4, 5, 6]) resumed.onEvent(event(step));
    await resumed.saveCheckpoint(checkpointAt(6));
    const done = await resumed.finish({ status: 'finished', steps: 6, truncated: 0 });
    expect(done.status).toBe('finished');
    expect(done.events.map((e) => e.step)).toEqual([1, 2, 3, 4, 5, 6]);
    await expect(RunSession.resume(book, first.id, model)).rejects.toThrow('finished all its 6 steps');
  });

  test('a failed run keeps its checkpoint and says why; another model cannot resume it', async () => {
    const book = await open();
    const session = await RunSession.start(book, newRun, rows);
    session.onEvent(event(1));
    await session.saveCheckpoint(checkpointAt(1));
    const failed = await session.fail('Training stopped at step 2: the loss became NaN.');
    expect(failed).toMatchObject({ status: 'failed', error: 'Training stopped at step 2: the loss became NaN.', checkpointStep: 1 });
    const other = { ...model, label: 'SmolLM2-135M', parameterCount: 134_515_008 };
    await expect(RunSession.resume(book, session.id, other)).rejects.toThrow('This run trained stories260K, but SmolLM2-135M is loaded: load stories260K to resume it.');
    await expect(RunSession.resume(book, session.id, null)).rejects.toThrow(RunResumeError);
    expect((await book.get(session.id)).status).toBe('failed');
    expect((await RunSession.resume(book, session.id, model)).startStep).toBe(1);
  });
});

test('a CLI run folder holds one run, readable as JSON, with its rows', async () => {
  const dir = path.join(await mkdtemp(path.join(tmpdir(), 'run-dir-')), 'run');
  const folder = runDir(dir);
  expect(await folder.stored()).toBeNull();
  const session = await RunSession.start(folder, newRun, rows);
  expect(JSON.parse(await readFile(path.join(dir, 'run.json'), 'utf8'))).toMatchObject({ id: session.id, name: 'rows.jsonl', status: 'running' });
  expect(await folder.rows()).toEqual(rows);
  await expect(RunSession.start(folder, newRun, rows)).rejects.toThrow('already holds a run');
});

describe('resume checks', () => {
  const stored = { settings: newRun.settings, maxLen: 64, trainOnInputs: false };

  test('other settings are refused, each named; how often to log, validate and checkpoint, and gradient checkpointing, may change', () => {
    expect(() => checkSettings(stored, { ...stored, settings: { ...stored.settings, checkpointEvery: 5, logEvery: 3, evalEvery: 2 } })).not.toThrow();
    expect(() => checkSettings(stored, { ...stored, settings: { ...stored.settings, gradientCheckpointing: 'on' } })).not.toThrow();
    expect(() => checkSettings(stored, { ...stored, settings: { ...stored.settings, lr: 0.001 }, maxLen: 32 })).toThrow(
      'This run cannot resume with other settings: lr 0.001 (the run\'s: 0.0003), maxLen 32 (the run\'s: 64).',
    );
    expect(() => checkSettings(stored, { ...stored, settings: { ...stored.settings, targets: ['q_proj'] } })).toThrow('targets ["q_proj"]');
  });

  test('a changed or deleted dataset is refused; pre-tokenized rows must be the same', () => {
    const run = { data: { kind: 'dataset', datasetId: 'd1', name: 'alpaca', format: 'alpaca', rowCount: 10, updatedAt: 5 } as const };
    expect(() => checkDataset(run, { rowCount: 10, updatedAt: 5 })).not.toThrow();
    expect(() => checkDataset(run, { rowCount: 10, updatedAt: 6 })).toThrow('The dataset "alpaca" changed after this run started');
    expect(() => checkDataset(run, null)).toThrow('was deleted');
    expect(() => checkRows(rows, rows.map((r) => ({ ...r })))).not.toThrow();
    expect(() => checkRows(rows, [rows[0], { ...rows[1], labels: [7, 7] }])).toThrow('The data differs from the 2 rows this run started on');
    expect(() => checkModel({ model }, { ...model, vocabSize: 32000 }, 'resume it')).toThrow(RunResumeError);
  });

  test('total steps leave the validation split out', () => {
    const settings = { ...defaultSftSettings, epochs: 2, batchSize: 4, valFraction: 0.2 };
    // 10 rows, 2 for validation: 8 train rows, 2 batches per epoch, 2 epochs.
    expect(runTotalSteps(10, settings)).toBe(4);
    expect(runTotalSteps(1, { ...settings, valFraction: 1 })).toBe(0);
    expect(runTotalSteps(10, { ...settings, steps: 7 })).toBe(7);
  });
});
