import 'fake-indexeddb/auto';
import { openDB } from 'idb';
import { describe, expect, test } from 'vitest';
import { DB_VERSION, legacyEvalDBName, openStudioDB } from '../../src/data/db';
import { EvalStore, type AnswerSetRecord, type EvalSetRecord, type JudgeRunRecord, type RougeRunRecord, type ScoreFileRecord } from '../../src/eval/store';
import type { HhhRating, HhhSession } from '../../src/eval/hhh';

let dbCount = 0;
const freshName = () => `studio-db-test-${process.pid}-${++dbCount}`;

const ALL_STORES = [
  'answerSets', 'checkpoints', 'datasets', 'evalSets', 'hhhProgress', 'hhhRatings', 'hhhSessions', 'jobItems', 'jobs',
  'judgeRuns', 'records', 'requestCache', 'rougeRuns', 'runData', 'runs', 'scoreFiles', 'settings',
];

/** The stores each version added, in order: what a browser holding that version has. */
const STORES_BY_VERSION = [
  ['datasets', 'records', 'settings'],
  ['jobs', 'jobItems', 'requestCache'],
  ['runs', 'checkpoints', 'runData'],
  ['evalSets', 'answerSets', 'judgeRuns', 'rougeRuns', 'hhhSessions', 'hhhRatings', 'hhhProgress', 'scoreFiles'],
];

const evalSet: EvalSetRecord = { id: 'vicuna80', name: 'Vicuna 80', createdAt: 1, items: [{ id: 'q1', instruction: 'Name a colour.', input: '', category: 'generic' }] };
const answerSet: AnswerSetRecord = { id: 'answers-a', name: 'LLaMA-GPT4 7B', createdAt: 2, origin: { kind: 'file', name: 'a.jsonl' }, rows: [{ id: 'q1', instruction: null, input: '', text: 'Blue.', model: null }] };
const judgeRun: JudgeRunRecord = {
  id: 'judge-1', name: 'a vs b', createdAt: 3, prompt: 'vicuna', model: 'gpt-4', baseURL: 'http://127.0.0.1:9/v1', evalSetId: 'vicuna80',
  answerSets: { a: 'answers-a', b: 'answers-b' }, labels: { a: 'a', b: 'b' }, verdicts: [],
};
const rougeRun = { id: 'rouge-1', name: 'rouge', createdAt: 4, stem: true, cjk: false, report: { overall: 0.5 } } as unknown as RougeRunRecord;
const session: HhhSession = { id: 'hhh-1', name: 'session', createdAt: 5, seed: 3, labels: { a: 'x', b: 'y' }, evalSet: 'vicuna80', items: [] };
const rating: HhhRating = { sessionId: 'hhh-1', rater: 'ann', itemId: 'q1', helpful: 'a', comment: '', ratedAt: 9 };
const progress = { sessionId: 'hhh-1', rater: 'ann', index: 7 };
const scoreFile: ScoreFileRecord = { id: 'scores-1', name: 'gpt4_llm_cmp_data_scores.json', createdAt: 6, models: [] };

/** The evaluation database an older studio kept beside StudioDB, as it wrote it: version 1, or 2 with score files. */
async function writeLegacyEvalDB(name: string, version: 1 | 2) {
  const db = await openDB(name, version, {
    upgrade(db) {
      for (const store of ['evalSets', 'answerSets', 'judgeRuns', 'rougeRuns', 'hhhSessions']) db.createObjectStore(store, { keyPath: 'id' });
      db.createObjectStore('hhhRatings', { keyPath: ['sessionId', 'rater', 'itemId'] });
      db.createObjectStore('hhhProgress', { keyPath: ['sessionId', 'rater'] });
      if (version === 2) db.createObjectStore('scoreFiles', { keyPath: 'id' });
    },
  });
  await db.put('evalSets', evalSet);
  await db.put('answerSets', answerSet);
  await db.put('judgeRuns', judgeRun);
  await db.put('rougeRuns', rougeRun);
  await db.put('hhhSessions', session);
  await db.put('hhhRatings', rating);
  await db.put('hhhProgress', progress);
  if (version === 2) await db.put('scoreFiles', scoreFile);
  db.close();
}

const databaseNames = async () => (await indexedDB.databases()).map((d) => d.name);

describe('StudioDB migrations', () => {
  test.each(STORES_BY_VERSION.map((_, i) => i + 1))('a database at version %i upgrades to the latest with every store', async (version) => {
    const name = freshName();
    const old = await openStudioDB(name, version);
    expect([...old.objectStoreNames].sort()).toEqual(STORES_BY_VERSION.slice(0, version).flat().sort());
    await old.put('settings', `written at version ${version}`, 'probe');
    old.close();
    const latest = await openStudioDB(name);
    expect(latest.version).toBe(DB_VERSION);
    expect([...latest.objectStoreNames].sort()).toEqual(ALL_STORES);
    expect(await latest.get('settings', 'probe')).toBe(`written at version ${version}`);
    latest.close();
  });

  test('one database walked through every version keeps what each version wrote', async () => {
    const name = freshName();
    for (let version = 1; version <= DB_VERSION; version++) {
      const db = await openStudioDB(name, version);
      await db.put('settings', version, `written.at.${version}`);
      for (let earlier = 1; earlier <= version; earlier++) expect(await db.get('settings', `written.at.${earlier}`)).toBe(earlier);
      db.close();
    }
  });

  test('the latest version is the number of migrations, and every store has one', () => {
    expect(DB_VERSION).toBe(STORES_BY_VERSION.length);
    expect(STORES_BY_VERSION.flat().sort()).toEqual(ALL_STORES);
  });
});

describe('evaluations from the older separate database', () => {
  test.each([1, 2] as const)('are copied into StudioDB on first open (evaluation database version %i), and the old database is deleted', async (legacyVersion) => {
    const name = freshName();
    const v3 = await openStudioDB(name, 3);
    await v3.put('settings', 'https://example.invalid/v1', 'teacher.baseURL');
    v3.close();
    await writeLegacyEvalDB(legacyEvalDBName(name), legacyVersion);

    const db = await openStudioDB(name);
    const evals = new EvalStore(db);
    expect(await evals.evalSets()).toEqual([evalSet]);
    expect(await evals.answerSets()).toEqual([answerSet]);
    expect(await evals.judgeRuns()).toEqual([judgeRun]);
    expect(await evals.rougeRuns()).toEqual([rougeRun]);
    expect(await evals.sessions()).toEqual([session]);
    expect(await evals.ratings('hhh-1')).toEqual([rating]);
    expect(await evals.progress('hhh-1', 'ann')).toBe(7);
    expect(await evals.scoreFiles()).toEqual(legacyVersion === 2 ? [scoreFile] : []);
    expect(await db.get('settings', 'teacher.baseURL')).toBe('https://example.invalid/v1');
    expect(await databaseNames()).not.toContain(legacyEvalDBName(name));
    db.close();
  });

  test('are copied when StudioDB did not exist yet (a browser that only ever evaluated)', async () => {
    const name = freshName();
    await writeLegacyEvalDB(legacyEvalDBName(name), 2);
    const db = await openStudioDB(name);
    expect(await new EvalStore(db).judgeRuns()).toEqual([judgeRun]);
    expect(await databaseNames()).not.toContain(legacyEvalDBName(name));
    db.close();
  });

  test('are copied once: later opens keep what changed since', async () => {
    const name = freshName();
    await writeLegacyEvalDB(legacyEvalDBName(name), 2);
    const first = await openStudioDB(name);
    await new EvalStore(first).putJudgeRun({ ...judgeRun, name: 'renamed' });
    first.close();
    const again = await openStudioDB(name);
    expect((await new EvalStore(again).judgeRuns()).map((r) => r.name)).toEqual(['renamed']);
    again.close();
  });

  test('a leftover older database beside an upgraded StudioDB is deleted without being copied again', async () => {
    // A page closed after the upgrade committed and before the old database was deleted.
    const name = freshName();
    (await openStudioDB(name)).close();
    await writeLegacyEvalDB(legacyEvalDBName(name), 2);
    const db = await openStudioDB(name);
    expect(await new EvalStore(db).judgeRuns()).toEqual([]);
    expect(await databaseNames()).not.toContain(legacyEvalDBName(name));
    db.close();
  });

  test('stay where they are while StudioDB is opened below the version that moves them', async () => {
    const name = freshName();
    await writeLegacyEvalDB(legacyEvalDBName(name), 2);
    (await openStudioDB(name, 3)).close();
    expect(await databaseNames()).toContain(legacyEvalDBName(name));
  });
});
