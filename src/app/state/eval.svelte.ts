// Evaluate page state: eval sets and answer sets (imported from files or stored datasets; generated ones come
// from its AnswerGenerator), GPT-4 judge runs (both orders, progress, cancel, retry of unparseable verdicts,
// resumable since every verdict is cached), and ROUGE-L runs. Everything is kept in EvalStore; judged answers
// in the studio's request cache.
import { sharedStudioDB } from '../../data/db';
import { SettingsStore } from '../../data/settings';
import { DatasetStore } from '../../data/store';
import type { DatasetMeta } from '../../data/types';
import { alignAnswers, answersCover, evalItemsFromRows, parseAnswerSet, parseEvalSet, type EvalItem } from '../../eval/eval-set';
import { Judge, judgeTasks, summarize, type JudgeSummary, type JudgeTask, type Verdict, type VerdictCache } from '../../eval/judge';
import type { JudgePromptId } from '../../eval/judge-prompts';
import { nameProblem } from '../../data/names';
import { rougeOfSources, type RougeSource } from '../../eval/rouge-report';
import { parseScoreFile } from '../../eval/score-file';
import {
  EvalStore, type AnswerSetRecord, type EvalSetRecord, type JudgeRunRecord, type RougeRunRecord, type ScoreFileRecord,
} from '../../eval/store';
import { normalizeBaseURL, OPENAI_BASE_URL, TeacherClient } from '../../teacher/client';
import { IdbJobStore } from '../../teacher/idb-store';
import { API_KEY, SETTINGS_KEY } from '../../teacher/settings';
import { messageOf } from '../lib/message';
import { AnswerGenerator } from './eval-answers.svelte';

const stem = (name: string) => name.replace(/\.(jsonl?|json)$/i, '');

export interface JudgeForm {
  name: string;
  evalSetId: string;
  a: string;
  b: string;
  prompt: JudgePromptId;
  baseURL: string;
  model: string;
  concurrency: number;
}

export interface JudgeProgress {
  runId: string;
  done: number;
  total: number;
  requests: number;
  cacheHits: number;
}

/** The Teacher page's settings an API answer run uses. */
/** Eval datasets in the studio that can serve as question sets. */
const QUESTION_FORMATS = new Set(['vicuna80', 'fastchat-question', 'user-oriented', 'alpaca', 'unnatural']);

export class EvalState {
  evalSets = $state.raw<EvalSetRecord[]>([]);
  answerSets = $state.raw<AnswerSetRecord[]>([]);
  judgeRuns = $state.raw<JudgeRunRecord[]>([]);
  rougeRuns = $state.raw<RougeRunRecord[]>([]);
  scoreFiles = $state.raw<ScoreFileRecord[]>([]);
  /** Stored datasets that can become eval sets. */
  datasets = $state.raw<DatasetMeta[]>([]);
  /** Every stored dataset (ROUGE-L reads references and predictions from any). */
  allDatasets = $state.raw<DatasetMeta[]>([]);
  judgeForm = $state<JudgeForm>({
    name: '', evalSetId: '', a: '', b: '', prompt: 'vicuna', baseURL: OPENAI_BASE_URL, model: 'gpt-4', concurrency: 4,
  });
  /** A key typed here is used for this page load only; empty means the key saved on the Teacher page. */
  sessionKey = $state('');
  hasStoredKey = $state(false);
  progress = $state<JudgeProgress | null>(null);
  /** A judge run is in flight. */
  running = $state(false);
  /** Answer sets written by the loaded model or an API model. */
  readonly answers = new AnswerGenerator(this);
  busy = $state<string | null>(null);
  error = $state<string | null>(null);
  notice = $state<string | null>(null);
  #store: Promise<EvalStore> | null = null;
  #ready: Promise<void> | null = null;
  #abort: AbortController | null = null;

  store(): Promise<EvalStore> {
    this.#store ??= EvalStore.open();
    return this.#store;
  }

  /** Runs `fn` with the store, showing `label` while it runs and its error after. */
  async task<T>(label: string, fn: (store: EvalStore) => Promise<T>): Promise<T | undefined> {
    this.busy = label;
    this.error = null;
    this.notice = null;
    try {
      return await fn(await this.store());
    } catch (e) {
      this.error = messageOf(e);
      return undefined;
    } finally {
      this.busy = null;
    }
  }

  init(): Promise<void> {
    this.#ready ??= this.task('Opening evaluations…', async () => {
      await this.refresh();
      const settings = new SettingsStore(await sharedStudioDB());
      const teacher = await settings.get<{ baseURL?: string; teacherModel?: string }>(SETTINGS_KEY);
      if (teacher?.baseURL) this.judgeForm.baseURL = teacher.baseURL;
      this.hasStoredKey = !!(await settings.get<string>(API_KEY));
    }).then(() => undefined);
    return this.#ready;
  }

  async refresh(): Promise<void> {
    const store = await this.store();
    [this.evalSets, this.answerSets, this.judgeRuns, this.rougeRuns, this.scoreFiles] = await Promise.all([
      store.evalSets(), store.answerSets(), store.judgeRuns(), store.rougeRuns(), store.scoreFiles(),
    ]);
    const datasets = await new DatasetStore(await sharedStudioDB()).list();
    this.allDatasets = datasets;
    this.datasets = datasets.filter((d) => QUESTION_FORMATS.has(d.format));
    const form = this.judgeForm;
    if (!this.evalSets.some((s) => s.id === form.evalSetId)) form.evalSetId = this.evalSets[0]?.id ?? '';
    const answers = this.answers.form;
    if (!this.evalSets.some((s) => s.id === answers.evalSetId)) answers.evalSetId = this.evalSets[0]?.id ?? '';
    if (!this.answerSets.some((s) => s.id === form.a)) form.a = this.answerSets[0]?.id ?? '';
    if (!this.answerSets.some((s) => s.id === form.b)) form.b = this.answerSets[1]?.id ?? this.answerSets[0]?.id ?? '';
  }

  async importEvalSet(file: File): Promise<void> {
    await this.task(`Importing ${file.name}…`, async (store) => {
      const items = parseEvalSet(await file.text(), file.name);
      await store.putEvalSet({ id: crypto.randomUUID(), name: stem(file.name), items, createdAt: Date.now() });
      await this.refresh();
      this.notice = `Imported ${items.length} questions as the eval set “${stem(file.name)}”.`;
    });
  }

  /** A stored dataset (Vicuna-80, User-Oriented, Alpaca rows) as an eval set. */
  async evalSetFromDataset(datasetId: string): Promise<void> {
    await this.task('Copying questions…', async (store) => {
      const datasets = new DatasetStore(await sharedStudioDB());
      const meta = await datasets.get(datasetId);
      const items = evalItemsFromRows(await datasets.rows(datasetId));
      await store.putEvalSet({ id: crypto.randomUUID(), name: meta.name, items, createdAt: Date.now() });
      await this.refresh();
      this.notice = `“${meta.name}” is now an eval set of ${items.length} questions.`;
    });
  }

  async importAnswerSet(file: File, name: string): Promise<void> {
    await this.task(`Importing ${file.name}…`, async (store) => {
      const rows = parseAnswerSet(await file.text(), file.name);
      const label = name.trim() || rows.find((r) => r.model)?.model || stem(file.name);
      await store.putAnswerSet({ id: crypto.randomUUID(), name: label, origin: { kind: 'file', name: file.name }, rows, createdAt: Date.now() });
      await this.refresh();
      this.notice = `Imported ${rows.length} answers as “${label}”.`;
    });
  }

  /** The paper's score file (scores per model, no texts), kept as its distributions for Reports. */
  async importScoreFile(file: File): Promise<void> {
    await this.task(`Reading ${file.name}…`, async (store) => {
      const models = parseScoreFile(await file.text());
      await store.putScoreFile({ id: crypto.randomUUID(), name: stem(file.name), models, createdAt: Date.now() });
      await this.refresh();
      this.notice = `Read the scores of ${models.length} model${models.length === 1 ? '' : 's'} from “${file.name}”.`;
    });
  }

  async deleteScoreFile(id: string): Promise<void> {
    await this.task('Deleting…', async (store) => {
      await store.deleteScoreFile(id);
      await this.refresh();
    });
  }

  async deleteAnswerSet(id: string): Promise<void> {
    await this.task('Deleting…', async (store) => {
      await store.deleteAnswerSet(id);
      await this.refresh();
    });
  }

  /** Renames an answer set; resolves to why the name was refused (empty, taken), or null once saved. */
  async renameAnswerSet(id: string, name: string): Promise<string | null> {
    const problem = nameProblem(name, this.answerSets.filter((s) => s.id !== id).map((s) => s.name), 'answer set');
    if (problem) return problem;
    try {
      const store = await this.store();
      const record = await store.answerSet(id);
      if (!record) return 'This answer set was deleted (in another tab?): reload the page.';
      const renamed = { ...record, name: name.trim() };
      await store.putAnswerSet(renamed);
      this.answerSets = this.answerSets.map((s) => (s.id === id ? renamed : s));
      return null;
    } catch (e) {
      return messageOf(e);
    }
  }

  evalSet(id: string): EvalSetRecord | undefined {
    return this.evalSets.find((s) => s.id === id);
  }

  /** The answer sets that answer every question of an eval set: the only ones a picker for it offers. */
  answerSetsFor(evalSetId: string): AnswerSetRecord[] {
    const items = this.evalSet(evalSetId)?.items ?? [];
    return this.answerSets.filter((s) => answersCover(items, s.rows));
  }

  answerSet(id: string): AnswerSetRecord | undefined {
    return this.answerSets.find((s) => s.id === id);
  }

  /** The answers of an answer set for each question of an eval set; throws when some are missing. */
  answersFor(items: readonly EvalItem[], answerSetId: string): Map<string, string> {
    const set = this.answerSet(answerSetId);
    if (!set) throw new Error('pick an answer set');
    return alignAnswers(items, set.rows, `answer set “${set.name}”`);
  }

  async #judge(run: JudgeRunRecord, tasks: JudgeTask[], fresh: boolean, key: string): Promise<void> {
    const evalSet = this.evalSet(run.evalSetId);
    if (!evalSet) throw new Error('the eval set of this run was deleted');
    const answers = { a: this.answersFor(evalSet.items, run.answerSets.a), b: this.answersFor(evalSet.items, run.answerSets.b) };
    const store = await this.store();
    const cacheStore = new IdbJobStore(await sharedStudioDB());
    const cache: VerdictCache = { get: (k) => cacheStore.cacheGet(k), put: (k, r) => cacheStore.cachePut(k, r) };
    this.#abort = new AbortController();
    this.running = true;
    const keyOf = (v: { questionId: string; first: string }) => `${v.questionId}\u0000${v.first}`;
    const verdicts = new Map(run.verdicts.map((v) => [keyOf(v), v]));
    const progress: JudgeProgress = { runId: run.id, done: 0, total: tasks.length, requests: 0, cacheHits: 0 };
    this.progress = progress;
    const judge = new Judge({
      chat: new TeacherClient({ baseURL: run.baseURL, apiKey: key }),
      cache,
      baseURL: run.baseURL,
      model: run.model,
      prompt: run.prompt,
      concurrency: this.judgeForm.concurrency,
      signal: this.#abort.signal,
      onVerdict: (v: Verdict) => {
        verdicts.set(keyOf(v), v);
        this.progress = { ...progress, done: ++progress.done, requests: judge.requests, cacheHits: judge.cacheHits };
        run = { ...run, verdicts: [...verdicts.values()] };
        this.judgeRuns = this.judgeRuns.map((r) => (r.id === run.id ? run : r));
        void store.putJudgeRun(run);
      },
    });
    try {
      await judge.run(tasks, answers, fresh);
    } finally {
      await store.putJudgeRun(run);
      this.#abort = null;
      this.running = false;
      this.progress = null;
    }
  }

  /** The key for API calls: one typed on this page, else the Teacher page's. */
  async apiKey(): Promise<string> {
    if (this.sessionKey.trim()) return this.sessionKey.trim();
    const key = await new SettingsStore(await sharedStudioDB()).get<string>(API_KEY);
    if (!key) throw new Error('no API key: save one on the Teacher page, or type one here for this session');
    return key;
  }

  /** Starts a judge run over the form's eval set and answer sets, every question in both orders. */
  async startJudge(): Promise<void> {
    const f = this.judgeForm;
    await this.task('Judging…', async (store) => {
      const evalSet = this.evalSet(f.evalSetId);
      const a = this.answerSet(f.a), b = this.answerSet(f.b);
      if (!evalSet || !a || !b) throw new Error('pick an eval set and two answer sets');
      if (a.id === b.id) throw new Error('pick two different answer sets');
      this.answersFor(evalSet.items, a.id);
      this.answersFor(evalSet.items, b.id);
      const key = await this.apiKey();
      const run: JudgeRunRecord = {
        id: crypto.randomUUID(),
        name: f.name.trim() || `${a.name} vs ${b.name}`,
        createdAt: Date.now(),
        prompt: f.prompt,
        model: f.model.trim(),
        baseURL: normalizeBaseURL(f.baseURL),
        evalSetId: evalSet.id,
        answerSets: { a: a.id, b: b.id },
        labels: { a: a.name, b: b.name },
        verdicts: [],
      };
      await store.putJudgeRun(run);
      this.judgeRuns = [run, ...this.judgeRuns];
      await this.#judge(run, judgeTasks(evalSet.items), false, key);
      this.#reportDone(run.id);
    });
  }

  /** Judges what a run still lacks (after a cancel or failures); answered ones come from the cache. */
  async resumeJudge(runId: string): Promise<void> {
    await this.#runAgain(runId, (run, all) => all.filter((t) => !run.verdicts.some((v) => v.questionId === t.item.id && v.first === t.first && v.text !== null)), false);
  }

  /** Asks the judge again, bypassing the cache, for verdicts that could not be parsed. */
  async retryUnparsed(runId: string): Promise<void> {
    await this.#runAgain(runId, (run, all) => all.filter((t) => run.verdicts.some((v) => v.questionId === t.item.id && v.first === t.first && v.text !== null && !v.points)), true);
  }

  async #runAgain(runId: string, pick: (run: JudgeRunRecord, all: JudgeTask[]) => JudgeTask[], fresh: boolean): Promise<void> {
    await this.task('Judging…', async () => {
      const run = this.judgeRuns.find((r) => r.id === runId);
      const evalSet = run && this.evalSet(run.evalSetId);
      if (!run || !evalSet) throw new Error('this run or its eval set no longer exists');
      const tasks = pick(run, judgeTasks(evalSet.items));
      if (!tasks.length) {
        this.notice = 'Nothing to judge: every verdict is in.';
        return;
      }
      await this.#judge(run, tasks, fresh, await this.apiKey());
      this.#reportDone(run.id);
    });
  }

  #reportDone(runId: string): void {
    const run = this.judgeRuns.find((r) => r.id === runId);
    if (!run) return;
    const s = summarize(run.verdicts);
    this.notice = `Judged ${s.n} question${s.n === 1 ? '' : 's'} in both orders: ${s.a_total} : ${s.b_total}`
      + `${s.unparsed.length ? `; ${s.unparsed.length} verdict(s) could not be read` : ''}${s.failed.length ? `; ${s.failed.length} failed` : ''}.`;
  }

  cancel(): void {
    this.#abort?.abort();
  }

  summary(run: JudgeRunRecord): JudgeSummary {
    return summarize(run.verdicts);
  }

  async deleteJudgeRun(id: string): Promise<void> {
    await this.task('Deleting…', async (store) => {
      await store.deleteJudgeRun(id);
      await this.refresh();
    });
  }

  /** ROUGE-L of predictions against references (each a file, a stored dataset or an answer set), per item and by reference length. */
  async runRouge(refs: RougeSource, preds: RougeSource, options: { name: string; stem: boolean; cjk: boolean }): Promise<void> {
    await this.task('Scoring…', async (store) => {
      const datasets = new DatasetStore(await sharedStudioDB());
      const stored = {
        dataset: async (id: string) => ({ name: (await datasets.get(id)).name, rows: await datasets.rows(id) }),
        answerSet: (id: string) => this.answerSet(id),
      };
      const { predictions, report } = await rougeOfSources(refs, preds, stored, { stem: options.stem, cjk: options.cjk });
      const run: RougeRunRecord = {
        id: crypto.randomUUID(), name: options.name.trim() || predictions, createdAt: Date.now(),
        stem: options.stem, cjk: options.cjk, report,
      };
      await store.putRougeRun(run);
      await this.refresh();
      this.notice = `ROUGE-L of “${run.name}”: mean F ${report.mean_f?.toFixed(4) ?? '–'} over ${report.items.length} items.`;
    });
  }

  async deleteRougeRun(id: string): Promise<void> {
    await this.task('Deleting…', async (store) => {
      await store.deleteRougeRun(id);
      await this.refresh();
    });
  }
}

// Created when this module loads, outside any component (see eval-hhh.svelte.ts).
const evalState = new EvalState();

/** The page's evaluation state: one per page load, so a judge run keeps going while other pages are open. */
export function useEvalState(): EvalState {
  return evalState;
}
