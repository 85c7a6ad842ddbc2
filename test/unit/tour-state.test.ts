import 'fake-indexeddb/auto';
import { describe, expect, test } from 'vitest';
import { Services } from '../../src/app/services';
import { TOUR_STEPS, TourState } from '../../src/app/state/tour.svelte';
import { sharedStudioDB } from '../../src/data/db';
import { RunStore } from '../../src/data/runs';
import { DatasetStore } from '../../src/data/store';
import type { EngineClient } from '../../src/engine/client';
import { EvalStore } from '../../src/eval/store';
import type { LoraAdapter } from '../../src/model/lora';
import { defaultSftSettings } from '../../src/train/run';

/** The tour reads the stores only: its services have no engine, and any use of one fails the test. */
const services = new Services(new Proxy({}, { get: (_, name) => { throw new Error(`the tour asked the engine for ${String(name)}`); } }) as EngineClient);

/** localStorage as the browser keeps it across a reload: one map, read by each new page's state. */
function storage() {
  const map = new Map<string, string>();
  return { getItem: (k: string) => map.get(k) ?? null, setItem: (k: string, v: string) => void map.set(k, v) };
}

describe('the guided tour', () => {
  test('has the paper\'s eight steps in order', () => {
    expect(TOUR_STEPS.map((s) => s.id)).toEqual(['data', 'teacher', 'sft', 'compare', 'reward', 'rerank', 'judge', 'reports']);
  });

  test('progress ticked by hand survives a reload, and the next step follows it', () => {
    const local = storage();
    const before = new TourState(services, local);
    expect(before.next?.id).toBe('data');
    before.set('data', true);
    before.set('teacher', true);
    before.set('teacher', false);
    before.set('compare', true);
    const after = new TourState(services, local);
    expect(after.done.sort()).toEqual(['compare', 'data']);
    expect(after.next?.id).toBe('teacher');
    after.reset();
    expect(new TourState(services, local).done).toEqual([]);
  });

  test('visiting Reports completes its step; an unreadable record starts afresh', () => {
    const local = storage();
    local.setItem('studio.tour', '{not json');
    const tour = new TourState(services, local);
    expect(tour.done).toEqual([]);
    tour.visited('datasets');
    expect(tour.isDone('reports')).toBe(false);
    tour.visited('reports');
    expect(new TourState(services, local).isDone('reports')).toBe(true);
  });

  test('steps the stored data shows done are checked off and kept', async () => {
    const db = await sharedStudioDB();
    await new DatasetStore(db).create('alpaca', 'alpaca', { kind: 'paste' }, [{ instruction: 'a', input: '', output: 'b' }]);
    const runs = new RunStore(db);
    const run = await runs.create({ name: 'sft', model: { label: 'm', parameterCount: 1, vocabSize: 8 }, data: { kind: 'tokenized', name: 'f', rowCount: 1 }, settings: defaultSftSettings, maxLen: 8, trainOnInputs: false, totalSteps: 1 }, [{ inputIds: [1, 2], labels: [1, 2] }]);
    const adapter: LoraAdapter = { rank: 1, alpha: 1, dropout: 0, targets: ['q_proj'], baseModel: 'm', modules: [] };
    await runs.saveCheckpoint(run.id, { step: 1, adapter, optimizer: { m: [], v: [] } }, []);
    const evals = await EvalStore.open();
    await evals.putJudgeRun({ id: 'j', name: 'j', createdAt: 1, prompt: 'vicuna', model: 'gpt-4', baseURL: 'u', evalSetId: 'e', answerSets: { a: 'a', b: 'b' }, labels: { a: 'a', b: 'b' }, verdicts: [{ questionId: '1', category: 'generic', first: 'a', text: '8 7', points: { a: 8, b: 7 }, cached: false }] });
    const local = storage();
    const tour = new TourState(services, local);
    await tour.detect();
    expect(tour.error).toBeNull();
    expect(tour.done.sort()).toEqual(['data', 'judge', 'sft']);
    expect(new TourState(services, local).done.sort()).toEqual(['data', 'judge', 'sft']);
  });
});
