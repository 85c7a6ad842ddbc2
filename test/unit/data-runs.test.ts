import 'fake-indexeddb/auto';
import { describe, expect, test } from 'vitest';
import { DB_VERSION, openStudioDB } from '../../src/data/db';
import { packExamples, resumeEvents, RunNotFoundError, RunStore, unpackExamples, type NewRun } from '../../src/data/runs';
import type { LoraAdapter } from '../../src/model/lora';
import type { TrainExample } from '../../src/train/data';
import { defaultSftSettings, type Checkpoint, type TrainEvent } from '../../src/train/run';

let dbCount = 0;
const freshName = () => `studio-runs-test-${process.pid}-${++dbCount}`;

const examples: TrainExample[] = [
  { inputIds: [1, 5, 9, 14], labels: [-100, -100, 9, 14] },
  { inputIds: [1, 7], labels: [-100, 7] },
  { inputIds: [1, 3, 3, 3, 2], labels: [1, 3, 3, 3, 2] },
];

const newRun = (data: NewRun['data']): NewRun => ({
  name: 'run',
  model: { label: 'stories260K', parameterCount: 260_000, vocabSize: 512 },
  data,
  settings: { ...defaultSftSettings, rank: 2, steps: 6 },
  maxLen: 256,
  trainOnInputs: false,
  totalSteps: 6,
});

const fileData = { kind: 'tokenized', name: 'rows.jsonl', rowCount: examples.length } as const;

function checkpointAt(step: number): Checkpoint {
  const adapter: LoraAdapter = {
    rank: 2,
    alpha: 4,
    dropout: 0,
    targets: ['q_proj'],
    baseModel: 'stories260K',
    modules: [{ layer: 0, target: 'q_proj', inFeatures: 3, outFeatures: 2, A: Float32Array.from([1, 2, 3, 4, 5, step]), B: Float32Array.from([step, 0, 0, -1]) }],
  };
  return { step, adapter, optimizer: { m: [new Float32Array(6).fill(step), new Float32Array(4)], v: [new Float32Array(6), new Float32Array(4).fill(0.5)] } };
}

const eventsTo = (last: number): TrainEvent[] =>
  Array.from({ length: last }, (_, i) => ({ step: i + 1, totalSteps: 6, epoch: (i + 1) / 6, lr: 0.01, loss: 6 - i, tokensPerSecond: 100 }));

describe('StudioDB migration 3', () => {
  test('adds runs, checkpoints and runData to a version 2 database and keeps its data', async () => {
    const name = freshName();
    const v2 = await openStudioDB(name, 2);
    await v2.put('settings', 'kept', 'some.setting');
    v2.close();
    const latest = await openStudioDB(name);
    expect(latest.version).toBe(DB_VERSION);
    expect([...latest.objectStoreNames]).toEqual(expect.arrayContaining(['runs', 'checkpoints', 'runData']));
    expect(await latest.get('settings', 'some.setting')).toBe('kept');
    latest.close();
  });
});

describe('packed pre-tokenized rows', () => {
  test('unpack(pack(rows)) gives the rows back', () => {
    const packed = packExamples('r', examples);
    expect(Array.from(packed.offsets)).toEqual([0, 4, 6, 11]);
    expect(unpackExamples(packed)).toEqual(examples);
    expect(unpackExamples(packExamples('r', []))).toEqual([]);
  });
});

describe('RunStore', () => {
  test('a run from a file keeps its rows; a dataset run keeps only the reference', async () => {
    const store = await RunStore.open(freshName());
    const fromFile = await store.create(newRun(fileData), examples);
    expect(fromFile).toMatchObject({ status: 'running', checkpointStep: null, events: [], error: null });
    expect(await store.examples(fromFile.id)).toEqual(examples);

    const datasetData = { kind: 'dataset', datasetId: 'd1', name: 'alpaca', format: 'alpaca', rowCount: 10, updatedAt: 5 } as const;
    const fromDataset = await store.create(newRun(datasetData));
    expect((await store.get(fromDataset.id)).data).toEqual(datasetData);
    await expect(store.examples(fromDataset.id)).rejects.toThrow(/start a new run/);
    await expect(store.create(newRun(datasetData), examples)).rejects.toThrow(/only such a run/);
    await expect(store.create(newRun(fileData))).rejects.toThrow(/stores its rows/);
    expect((await store.list()).map((r) => r.id).sort()).toEqual([fromDataset.id, fromFile.id].sort());
  });

  test('a checkpoint replaces the previous one and stores the curve up to its step', async () => {
    const store = await RunStore.open(freshName());
    const run = await store.create(newRun(fileData), examples);
    expect(await store.checkpoint(run.id)).toBeNull();

    await store.saveCheckpoint(run.id, checkpointAt(2), eventsTo(2));
    const saved = await store.saveCheckpoint(run.id, checkpointAt(4), eventsTo(4));
    expect(saved.checkpointStep).toBe(4);
    expect(saved.events.map((e) => e.step)).toEqual([1, 2, 3, 4]);

    const back = await store.checkpoint(run.id);
    expect(back).toEqual(checkpointAt(4));
    expect(back?.adapter.modules[0].A).toBeInstanceOf(Float32Array);
    expect(await store.db.count('checkpoints')).toBe(1);
    expect((await store.get(run.id)).checkpointStep).toBe(4);
  });

  test('a failed run keeps its whole curve, and a resume continues from the checkpoint step', async () => {
    const store = await RunStore.open(freshName());
    const run = await store.create(newRun(fileData), examples);
    await store.saveCheckpoint(run.id, checkpointAt(4), eventsTo(4));
    const failed = await store.update(run.id, { status: 'failed', error: 'the loss became NaN', events: eventsTo(5) });
    expect(failed).toMatchObject({ status: 'failed', error: 'the loss became NaN', checkpointStep: 4 });
    expect(failed.events).toHaveLength(5);
    expect(resumeEvents(failed).map((e) => e.step)).toEqual([1, 2, 3, 4]);
    expect(resumeEvents({ ...failed, checkpointStep: null })).toEqual([]);
  });

  test('remove deletes the run, its checkpoint and its rows, and leaves other runs alone', async () => {
    const store = await RunStore.open(freshName());
    const a = await store.create(newRun(fileData), examples);
    const b = await store.create(newRun(fileData), examples);
    await store.saveCheckpoint(a.id, checkpointAt(2), eventsTo(2));
    await store.saveCheckpoint(b.id, checkpointAt(3), eventsTo(3));
    await store.remove(a.id);
    await expect(store.get(a.id)).rejects.toThrow(RunNotFoundError);
    expect(await store.checkpoint(a.id)).toBeNull();
    expect(await store.db.get('runData', a.id)).toBeUndefined();
    expect((await store.checkpoint(b.id))?.step).toBe(3);
    expect(await store.examples(b.id)).toEqual(examples);
    await expect(store.saveCheckpoint(a.id, checkpointAt(4), eventsTo(4))).rejects.toThrow(RunNotFoundError);
    await expect(store.update(a.id, { status: 'paused' })).rejects.toThrow(RunNotFoundError);
  });
});
