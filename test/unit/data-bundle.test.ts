import 'fake-indexeddb/auto';
import { describe, expect, test } from 'vitest';
import { BUNDLE_VERSION, BundleError, containsBytes, decodeBundle, emptyStores, encodeBundle } from '../../src/data/bundle';
import type { IDBPDatabase } from 'idb';
import { exportBundle, importBundle } from '../../src/data/bundle-io';
import { openStudioDB, type StudioDB } from '../../src/data/db';
import { RunStore } from '../../src/data/runs';
import { KERNEL_SETTING_PREFIX, SettingsStore } from '../../src/data/settings';
import { DatasetStore } from '../../src/data/store';
import { EvalStore, type JudgeRunRecord } from '../../src/eval/store';
import type { LoraAdapter } from '../../src/model/lora';
import { API_KEY, SETTINGS_KEY } from '../../src/teacher/settings';
import { defaultSftSettings, type TrainEvent } from '../../src/train/run';

let dbCount = 0;
type Project = IDBPDatabase<StudioDB>;
const freshProject = (): Promise<Project> => openStudioDB(`bundle-studio-${process.pid}-${++dbCount}`);

const SECRET = 'sk-test-THIS-KEY-MUST-NEVER-LEAVE-0123456789';

const adapter: LoraAdapter = {
  rank: 2,
  alpha: 4,
  dropout: 0.05,
  targets: ['q_proj', 'v_proj'],
  baseModel: 'stories260K',
  modules: [
    { layer: 0, target: 'q_proj', inFeatures: 3, outFeatures: 2, A: Float32Array.from([0.1, -2, 3e-7, 4, 5, 6]), B: Float32Array.from([1, 0, 0, -1]) },
    { layer: 0, target: 'v_proj', inFeatures: 3, outFeatures: 1, A: Float32Array.from([7, 8, 9, 10, 11, 12]), B: Float32Array.from([0.5, 0.25]) },
  ],
  score: Float32Array.from([1, 2, 3]),
};

const events: TrainEvent[] = [
  { step: 1, totalSteps: 3, epoch: 0.3, lr: 1e-4, loss: 5.5, tokensPerSecond: 120 },
  { step: 2, totalSteps: 3, epoch: 0.6, lr: 2e-4, loss: 4.25, valLoss: 4.5 },
  { step: 3, totalSteps: 3, epoch: 1, lr: 0, loss: NaN },
];

const judgeRun: JudgeRunRecord = {
  id: 'judge-1',
  name: 'tuned vs base',
  createdAt: 5,
  prompt: 'vicuna',
  model: 'gpt-4',
  baseURL: 'http://127.0.0.1:9/v1',
  evalSetId: 'vicuna80',
  answerSets: { a: 'answers-a', b: 'answers-b' },
  labels: { a: 'tuned', b: 'base' },
  verdicts: [],
};

/** A project with a dataset, an SFT run with its curve, checkpoint and tokenized rows, a judge run, a rating and settings. */
async function seed(project: Project) {
  const datasets = new DatasetStore(project);
  const dataset = await datasets.create('alpaca small', 'alpaca', { kind: 'paste' }, [
    { instruction: 'Name a colour.', input: '', output: 'Blue.' },
    { instruction: 'Add 2 and 3.', input: '', output: '5', meta: { category: 'math' } },
  ]);
  const runs = new RunStore(project);
  const run = await runs.create(
    { name: 'sft', model: { label: 'stories260K', parameterCount: 260_000, vocabSize: 512 }, data: { kind: 'tokenized', name: 'rows.jsonl', rowCount: 2 }, settings: { ...defaultSftSettings, rank: 2 }, maxLen: 64, trainOnInputs: false, totalSteps: 3 },
    [{ inputIds: [1, 2, 3], labels: [-100, 2, 3] }, { inputIds: [4, 5], labels: [4, 5] }],
  );
  await runs.saveCheckpoint(run.id, { step: 3, adapter, optimizer: { m: [new Float32Array(6).fill(0.5)], v: [new Float32Array(6).fill(0.25)] } }, events);
  const evals = new EvalStore(project);
  await evals.putJudgeRun(judgeRun);
  await evals.putSessionWithRatings(
    { id: 'hhh-1', name: 'session', createdAt: 1, seed: 3, labels: { a: 'x', b: 'y' }, evalSet: 'vicuna80', items: [] },
    [{ sessionId: 'hhh-1', rater: 'ana', itemId: 'q1', helpful: 'a', comment: 'clear', ratedAt: 9 }] as never,
  );
  const settings = new SettingsStore(project);
  await settings.set(SETTINGS_KEY, { baseURL: 'http://127.0.0.1:9/v1', teacherModel: 'gpt-4' });
  await settings.set(API_KEY, SECRET);
  await settings.set(KERNEL_CHOICES, [{ key: 'matmul_forward 1 64x64 f32', variant: 'direct_x16_y1' }]);
  return { datasetId: dataset.id, runId: run.id };
}

const KERNEL_CHOICES = `${KERNEL_SETTING_PREFIX}kernel choices|SwiftShader|abc`;

describe('bundle file format', () => {
  test('round-trips typed arrays, non-finite numbers and nested records', () => {
    const stores = emptyStores();
    stores.runs.push({ id: 'r', events: [{ loss: NaN }, { loss: Infinity }, { loss: -Infinity }], settings: { targets: ['q_proj'] } });
    // Data that looks like the format's own markers stays data.
    stores.datasets.push({ id: 'd', meta: { $blob: 0 }, other: { $number: 'NaN' }, $$deep: { $x: [1] } });
    stores.runData.push({ runId: 'r', offsets: Uint32Array.from([0, 2]), inputIds: Uint32Array.from([7, 8]), labels: Int32Array.from([-100, 8]), margins: Float32Array.from([0.5]) });
    const bytes = encodeBundle({ createdAt: 42, stores });
    expect(new TextDecoder().decode(bytes.subarray(0, 8))).toBe('ISBUNDLE');
    expect(new DataView(bytes.buffer).getUint32(8, true)).toBe(BUNDLE_VERSION);
    const back = decodeBundle(bytes);
    expect(back.createdAt).toBe(42);
    expect(back.stores.runs).toEqual(stores.runs);
    expect(back.stores.datasets).toEqual(stores.datasets);
    expect(back.stores.runData[0].labels).toBeInstanceOf(Int32Array);
    expect(back.stores.runData).toEqual(stores.runData);
  });

  const good = () => {
    const stores = emptyStores();
    stores.runs.push({ id: 'r' });
    stores.checkpoints.push({ runId: 'r', step: 1, A: Float32Array.from([1, 2]) });
    return encodeBundle({ createdAt: 1, stores });
  };
  const withHeader = (header: unknown) => {
    const json = new TextEncoder().encode(JSON.stringify(header));
    const out = new Uint8Array(16 + json.length + 8);
    out.set(new TextEncoder().encode('ISBUNDLE'));
    new DataView(out.buffer).setUint32(8, 1, true);
    new DataView(out.buffer).setUint32(12, json.length, true);
    out.set(json, 16);
    return out;
  };

  test.each([
    ['another file', () => new TextEncoder().encode('[{"instruction":"hi"}]'), /bundle signature/],
    ['a cut file', () => good().slice(0, 30), /cut short/],
    ['a newer version', () => { const b = good(); new DataView(b.buffer).setUint32(8, 9, true); return b; }, /version 9/],
    ['a blob outside the file', () => withHeader({ createdAt: 1, stores: {}, blobs: [{ type: 'Float32Array', offset: 0, length: 64 }] }), /outside the file/],
    ['an unknown typed array', () => withHeader({ createdAt: 1, stores: {}, blobs: [{ type: 'BigInt64Array', offset: 0, length: 8 }] }), /blob 0/],
    ['a missing blob', () => withHeader({ createdAt: 1, stores: { runs: [{ id: 'r', x: { $blob: 3 } }] }, blobs: [] }), /blob 3/],
    ['an unknown store', () => withHeader({ createdAt: 1, stores: { jobs: [] }, blobs: [] }), /store "jobs"/],
    ['a record without its key', () => withHeader({ createdAt: 1, stores: { datasets: [{ name: 'x' }] }, blobs: [] }), /datasets\[0\] has no "id"/],
    ['rows without their dataset', () => withHeader({ createdAt: 1, stores: { records: [{ datasetId: 'gone', seq: 0 }] }, blobs: [] }), /datasets "gone"/],
  ])('refuses %s with a message', (_what, bytes, message) => {
    expect(() => decodeBundle(bytes())).toThrow(BundleError);
    expect(() => decodeBundle(bytes())).toThrow(message);
  });

  test('containsBytes finds a needle anywhere, including at the end', () => {
    const hay = new TextEncoder().encode('aaab-key-x');
    expect(containsBytes(hay, new TextEncoder().encode('key-x'))).toBe(true);
    expect(containsBytes(hay, new TextEncoder().encode('key-y'))).toBe(false);
  });
});

describe('project bundle export and import', () => {
  test('a bundle imported into another project equals the original, and never holds the API key', async () => {
    const source = await freshProject();
    const { datasetId, runId } = await seed(source);
    const bytes = await exportBundle(source);
    expect(containsBytes(bytes, new TextEncoder().encode(SECRET))).toBe(false);
    expect(containsBytes(bytes, new TextEncoder().encode(API_KEY))).toBe(false);

    const target = await freshProject();
    const summary = await importBundle(target, bytes);
    expect(summary).toMatchObject({ datasets: 1, records: 2, runs: 1, checkpoints: 1, runData: 1, judgeRuns: 1, hhhSessions: 1, hhhRatings: 1, settings: 1 });

    const [from, to] = [source, target].map((p) => ({ datasets: new DatasetStore(p), runs: new RunStore(p), evals: new EvalStore(p), settings: new SettingsStore(p) }));
    expect(await to.datasets.list()).toEqual(await from.datasets.list());
    expect(await to.datasets.rows(datasetId)).toEqual(await from.datasets.rows(datasetId));
    const run = await to.runs.get(runId);
    expect(run).toEqual(await from.runs.get(runId));
    expect(run.events.map((e) => e.loss)).toEqual([5.5, 4.25, NaN]);
    const checkpoint = await to.runs.checkpoint(runId);
    expect(checkpoint).toEqual(await from.runs.checkpoint(runId));
    expect(checkpoint!.adapter.modules[0].A).toBeInstanceOf(Float32Array);
    expect(new Uint8Array(checkpoint!.adapter.modules[0].A.buffer)).toEqual(new Uint8Array(adapter.modules[0].A.buffer));
    expect(await to.runs.examples(runId)).toEqual(await from.runs.examples(runId));
    expect(await to.evals.judgeRuns()).toEqual([judgeRun]);
    expect(await to.evals.ratings('hhh-1')).toEqual(await from.evals.ratings('hhh-1'));
    expect(await to.settings.get(SETTINGS_KEY)).toEqual(await from.settings.get(SETTINGS_KEY));
    expect(await to.settings.get(API_KEY)).toBeUndefined();
    // This machine's kernel choices describe its GPU, not the project.
    expect(await from.settings.get(KERNEL_CHOICES)).toBeDefined();
    expect(await to.settings.get(KERNEL_CHOICES)).toBeUndefined();
  });

  test('import merges: what the browser had stays, its own key included, and a reimport replaces rather than duplicates', async () => {
    const source = await freshProject();
    const { datasetId } = await seed(source);
    const bytes = await exportBundle(source);
    const target = await freshProject();
    const local = await new DatasetStore(target).create('mine', 'alpaca', { kind: 'paste' }, [{ instruction: 'a', input: '', output: 'b' }]);
    await new SettingsStore(target).set(API_KEY, 'sk-students-own');
    await importBundle(target, bytes);
    await importBundle(target, bytes);
    const datasets = new DatasetStore(target);
    expect((await datasets.list()).map((d) => d.id).sort()).toEqual([datasetId, local.id].sort());
    expect(await datasets.rows(datasetId)).toHaveLength(2);
    expect(await new SettingsStore(target).get(API_KEY)).toBe('sk-students-own');
  });

  test('a bad bundle changes nothing', async () => {
    const source = await freshProject();
    await seed(source);
    const bytes = await exportBundle(source);
    const target = await freshProject();
    await expect(importBundle(target, bytes.slice(0, bytes.length - 3))).rejects.toThrow(BundleError);
    const stores = emptyStores();
    stores.datasets.push({ id: 'd', name: 'x' });
    stores.settings.push({ key: API_KEY, value: 'sk-smuggled' });
    await expect(importBundle(target, encodeBundle({ createdAt: 1, stores }))).rejects.toThrow(/API key/);
    expect(await new DatasetStore(target).list()).toEqual([]);
    expect(await new RunStore(target).list()).toEqual([]);
    expect(await new SettingsStore(target).get(API_KEY)).toBeUndefined();
  });

  test('an export refuses to carry the key when it was pasted into the data', async () => {
    const project = await freshProject();
    await seed(project);
    await new DatasetStore(project).create(`notes ${SECRET}`, 'alpaca', { kind: 'paste' }, []);
    await expect(exportBundle(project)).rejects.toThrow(/API key appears/);
  });
});
