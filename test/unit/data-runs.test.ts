import 'fake-indexeddb/auto';
import { describe, expect, test } from 'vitest';
import { DB_VERSION, openStudioDB } from '../../src/data/db';
import { dpoSettingsOf, packExamples, packPairs, resumeEvents, rewardSettingsOf, RunNotFoundError, RunStore, runKind, unpackExamples, unpackPairs, type NewRun } from '../../src/data/runs';
import type { LoraAdapter } from '../../src/model/lora';
import type { TrainExample } from '../../src/train/data';
import type { PairExample } from '../../src/train/pairs';
import { defaultSftSettings, type Checkpoint, type DpoSettings, type RewardSettings, type TrainEvent } from '../../src/train/run';

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

describe('reward model runs', () => {
  const side = (ids: number[], labels = ids): TrainExample => ({ inputIds: ids, labels });
  const pairs: PairExample[] = [
    { chosen: side([1, 4, 7]), rejected: side([1, 4, 9, 9]), margin: 0 },
    { chosen: side([1, 5], [-100, 5]), rejected: side([1, 6, 6, 6, 9], [-100, 6, 6, 6, 9]), margin: 3 },
  ];
  const rewardRun = (data: NewRun['data']): NewRun => ({ ...newRun(data), kind: 'reward', settings: { ...defaultSftSettings, margin: true } as RewardSettings, trainOnInputs: false });
  const pairData = { kind: 'tokenized', name: 'pairs.jsonl', rowCount: pairs.length } as const;

  test('pairs pack as rows 2p (chosen) and 2p + 1 (rejected) with their margins, and unpack back', () => {
    const packed = packPairs('r', pairs);
    expect(Array.from(packed.offsets)).toEqual([0, 3, 7, 9, 14]);
    expect(Array.from(packed.margins!)).toEqual([0, 3]);
    expect(unpackPairs(packed)).toEqual(pairs);
    expect(() => unpackPairs(packExamples('r', examples))).toThrow(/not pairs/);
  });

  test('a reward run from a file stores its pairs and kind; examples() refuses them', async () => {
    const store = await RunStore.open(freshName());
    const run = await store.create(rewardRun(pairData), pairs, 1);
    expect(run).toMatchObject({ kind: 'reward', truncated: 1, status: 'running' });
    expect(runKind(await store.get(run.id))).toBe('reward');
    expect(await store.pairs(run.id)).toEqual(pairs);
    await expect(store.examples(run.id)).rejects.toThrow(/pairs\(\)/);
    expect(rewardSettingsOf(run).margin).toBe(true);
    await expect(store.create(rewardRun(pairData), examples)).rejects.toThrow(/preference pairs, not rows/);
    await expect(store.create(newRun(fileData), pairs)).rejects.toThrow(/rows, not preference pairs/);
  });

  test('an SFT run stored without a kind (before reward models) reads as SFT with margin off', async () => {
    const store = await RunStore.open(freshName());
    const sft = await store.create(newRun(fileData), examples);
    expect(sft.kind).toBe('sft');
    const { kind: _kind, ...old } = sft;
    await store.db.put('runs', old);
    const back = await store.get(sft.id);
    expect(back.kind).toBeUndefined();
    expect(runKind(back)).toBe('sft');
    expect(rewardSettingsOf(back).margin).toBe(false);
    expect(await store.examples(sft.id)).toEqual(examples);
    await expect(store.pairs(sft.id)).rejects.toThrow(/not pairs/);
  });

  test('a reward run checkpoints its score head with the adapter and resumes from it', async () => {
    const store = await RunStore.open(freshName());
    const run = await store.create(rewardRun(pairData), pairs);
    const checkpoint = checkpointAt(2);
    const withScore: Checkpoint = { ...checkpoint, adapter: { ...checkpoint.adapter, score: Float32Array.from([0.5, -1, 2]) } };
    const events = eventsTo(2).map((e) => ({ ...e, accuracy: 0.75, margin: 0.2, valAccuracy: 1, valMargin: 0.4 }));
    await store.saveCheckpoint(run.id, withScore, events);
    const back = await store.checkpoint(run.id);
    expect(back?.adapter.score).toEqual(Float32Array.from([0.5, -1, 2]));
    expect(resumeEvents(await store.get(run.id))).toEqual(events);
    await store.remove(run.id);
    expect(await store.db.get('runData', run.id)).toBeUndefined();
  });
});

describe('DPO runs', () => {
  const side = (ids: number[], labels = ids): TrainExample => ({ inputIds: ids, labels });
  const pairs: PairExample[] = [
    { chosen: side([1, 4, 7], [-100, 4, 7]), rejected: side([1, 4, 9], [-100, 4, 9]), margin: 0 },
    { chosen: side([1, 5, 7], [-100, 5, 7]), rejected: side([1, 5, 9, 9], [-100, 5, 9, 9]), margin: 0 },
  ];
  const pairData = { kind: 'tokenized', name: 'pairs.jsonl', rowCount: pairs.length } as const;
  const start = { runId: 'sft-run', name: 'SFT · rows.jsonl', step: 40 };
  const dpoRun = (): NewRun => ({ ...newRun(pairData), kind: 'dpo', settings: { ...defaultSftSettings, beta: 0.3 } as DpoSettings, start });

  test('a DPO run from a file stores its pairs, kind, beta and the SFT run it started from; rows are refused', async () => {
    const store = await RunStore.open(freshName());
    const run = await store.create(dpoRun(), pairs);
    const back = await store.get(run.id);
    expect(runKind(back)).toBe('dpo');
    expect(back.start).toEqual(start);
    expect(dpoSettingsOf(back).beta).toBe(0.3);
    expect(await store.pairs(run.id)).toEqual(pairs);
    await expect(store.create(dpoRun(), examples)).rejects.toThrow(/a DPO run stores preference pairs, not rows/);
  });

  test('a DPO checkpoint keeps its reference log-probs as a Float32Array through IndexedDB, so a resume has them', async () => {
    const store = await RunStore.open(freshName());
    const run = await store.create(dpoRun(), pairs);
    const reference = Float32Array.from([-3.25, -4.5, -2.125, -6.75]);
    await store.saveCheckpoint(run.id, { ...checkpointAt(3), reference }, eventsTo(3));
    const back = await store.checkpoint(run.id);
    expect(back?.reference).toBeInstanceOf(Float32Array);
    expect(back?.reference).toEqual(reference);
    expect(back?.step).toBe(3);
    // A later checkpoint replaces it, reference and all.
    await store.saveCheckpoint(run.id, { ...checkpointAt(6), reference: reference.map((v) => v - 1) }, eventsTo(6));
    expect(Array.from((await store.checkpoint(run.id))!.reference!)).toEqual([-4.25, -5.5, -3.125, -7.75]);
  });

  test('settings stored without beta read as the default beta', () => {
    expect(dpoSettingsOf({ settings: defaultSftSettings }).beta).toBe(0.1);
  });
});
