// Evaluate page state: eval sets and answer sets (imported from files or stored datasets; generated ones come
// from its AnswerGenerator), GPT-4 judge runs (both orders, progress, cancel, retry of unparseable verdicts,
// resumable), and ROUGE-L runs. Everything is kept in EvalStore; judged answers in the studio's request cache.
// A judge run is judged by a job on the teacher's job runner (stored with the teacher's jobs, not listed on the
// Teacher page): Retry-After, the Teacher page's budget and prices, the cost meter and the Batch API.
import type { DatasetMeta } from '../../data/types';
import { alignAnswers, answersCover, evalItemsFromRows, parseAnswerSet, parseEvalSet, type EvalItem } from '../../eval/eval-set';
import {
  judgeJobSpec, judgeSources, judgeTasks, parseVerdict, summarize, taskKey, verdictOf, type JudgeSettings, type JudgeSummary,
} from '../../eval/judge';
import type { JudgePromptId } from '../../eval/judge-prompts';
import { judgeStats, type JudgeStats, type QuestionVerdict } from '../../eval/judge-stats';
import { answerLengthsOf, judgedAnswers, runQuestions, type JudgedAnswers } from '../../eval/reports';
import { nameProblem } from '../../data/names';
import { rougeOfSources, type RougeSource } from '../../eval/rouge-report';
import { parseScoreFile } from '../../eval/score-file';
import {
  type EvalStore, type AnswerSetRecord, type EvalSetRecord, type JudgeRunRecord, type RougeRunRecord, type ScoreFileRecord,
} from '../../eval/store';
import { normalizeBaseURL, OPENAI_BASE_URL, TeacherClient } from '../../teacher/client';
import { redact } from '../../teacher/errors';
import type { IdbJobStore } from '../../teacher/idb-store';
import { estimateCost, type CostEstimate } from '../../teacher/pricing';
import { JobRunner, newJob, requeue, type Progress } from '../../teacher/runner';
import { API_KEY, DEFAULT_SETTINGS, SETTINGS_KEY, type TeacherSettings } from '../../teacher/settings';
import type { JobMode, JobRecord } from '../../teacher/types';
import { messageOf } from '../lib/message';
import { useServices, type Services } from '../services';
import { AnswerGenerator } from './eval-answers.svelte';
import { sharedState } from './shared.svelte';
import { runTask } from './task';

const stem = (name: string) => name.replace(/\.(jsonl?|json)$/i, '');

export interface JudgeForm {
  name: string;
  evalSetId: string;
  a: string;
  b: string;
  prompt: JudgePromptId;
  baseURL: string;
  model: string;
  /** Online, or through the Batch API (half price, up to 24 h). */
  mode: JobMode;
  concurrency: number;
}

/** The judge job of a run: the runner's progress (verdicts, requests, retries, cost against the budget). */
export interface JudgeProgress extends Progress {
  runId: string;
}

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
    name: '', evalSetId: '', a: '', b: '', prompt: 'vicuna', baseURL: OPENAI_BASE_URL, model: 'gpt-4', mode: 'online', concurrency: 4,
  });
  /** The Teacher page's settings: a judge job takes its budget, prices and tries from there. */
  teacherSettings = $state.raw<TeacherSettings>(DEFAULT_SETTINGS);
  /** A key typed here is used for this page load only; empty means the key saved on the Teacher page. */
  sessionKey = $state('');
  hasStoredKey = $state(false);
  /** The last judge job's progress; kept after it stops, so its cost stays in view. */
  progress = $state.raw<JudgeProgress | null>(null);
  /** A judge run is in flight. */
  running = $state(false);
  /** Answer sets written by the loaded model or an API model. */
  readonly answers = new AnswerGenerator(this);
  busy = $state<string | null>(null);
  error = $state<string | null>(null);
  notice = $state<string | null>(null);
  #ready: Promise<void> | null = null;
  #runner: JobRunner | null = null;

  constructor(readonly services: Services) {}

  async store(): Promise<EvalStore> {
    return (await this.services.stores()).evals;
  }

  /** Runs `fn` with the store, showing `label` while it runs and its error after. */
  task<T>(label: string, fn: (store: EvalStore) => Promise<T>): Promise<T | undefined> {
    return runTask(this, label, async () => fn(await this.store()));
  }

  init(): Promise<void> {
    this.#ready ??= this.task('Opening evaluations…', async () => {
      await this.refresh();
      const settings = (await this.services.stores()).settings;
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
    await this.#loadTeacherSettings();
    const datasets = await (await this.services.stores()).datasets.list();
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
      const datasets = (await this.services.stores()).datasets;
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

  async #loadTeacherSettings(): Promise<void> {
    const saved = await (await this.services.stores()).settings.get<Partial<TeacherSettings>>(SETTINGS_KEY);
    this.teacherSettings = { ...DEFAULT_SETTINGS, ...saved };
  }

  /** How a run's job is judged: its endpoint and prompt, this form's mode and concurrency, the Teacher page's budget. */
  #judgeSettings(run: Pick<JudgeRunRecord, 'baseURL' | 'model' | 'prompt'>): JudgeSettings {
    const t = this.teacherSettings;
    return {
      baseURL: run.baseURL, model: run.model, prompt: run.prompt, mode: this.judgeForm.mode, concurrency: this.judgeForm.concurrency,
      maxAttempts: t.maxAttempts, budgetUSD: t.budgetUSD, prices: t.prices,
    };
  }

  /** What judging the form's eval set and answer sets would cost (null until the form is complete). */
  judgeEstimate(): CostEstimate | null {
    const f = this.judgeForm;
    const evalSet = this.evalSet(f.evalSetId);
    if (!evalSet || !f.a || !f.b || f.a === f.b || !f.model.trim()) return null;
    try {
      const answers = { a: this.answersFor(evalSet.items, f.a), b: this.answersFor(evalSet.items, f.b) };
      const spec = judgeJobSpec('estimate', '', this.#judgeSettings({ baseURL: f.baseURL, model: f.model.trim(), prompt: f.prompt }));
      return estimateCost(spec, newJob(spec, judgeSources(judgeTasks(evalSet.items), answers)).items);
    } catch {
      return null;
    }
  }

  /** The stored job that judges a run, created on first use with one row per question and order. */
  async #judgeJob(run: JudgeRunRecord, jobs: IdbJobStore): Promise<JobRecord> {
    const existing = (await jobs.listJobs()).find((j) => j.spec.judge?.runId === run.id);
    if (existing) return existing;
    const evalSet = this.evalSet(run.evalSetId);
    if (!evalSet) throw new Error('the eval set of this run was deleted');
    const answers = { a: this.answersFor(evalSet.items, run.answerSets.a), b: this.answersFor(evalSet.items, run.answerSets.b) };
    const { job, items } = newJob(judgeJobSpec(run.name, run.id, this.#judgeSettings(run)), judgeSources(judgeTasks(evalSet.items), answers));
    // Verdicts the run already holds (judged before its job existed) are rows already answered.
    const held = new Map(run.verdicts.filter((v) => v.text !== null).map((v) => [taskKey(v.questionId, v.first), v.text!]));
    for (const item of items) {
      const text = held.get(taskKey(item.judges!.questionId, item.judges!.first));
      if (text !== undefined) Object.assign(item, { status: 'done', output: text });
    }
    await jobs.createJob(job, items);
    return job;
  }

  /**
   * Runs a judge run's job (after `prepare` queues what it should ask), writing each verdict to the run as it
   * comes. Says why it stopped: at the budget (what to raise), cancelled, or refused by the endpoint.
   */
  async #judge(runId: string, key: string, prepare: (jobs: IdbJobStore, job: JobRecord) => Promise<void> = async () => {}): Promise<void> {
    let run = this.judgeRuns.find((r) => r.id === runId);
    if (!run) throw new Error('this run no longer exists');
    const store = await this.store();
    const jobs = (await this.services.stores()).jobs;
    await this.#loadTeacherSettings();
    const found = await this.#judgeJob(run, jobs);
    await prepare(jobs, found);
    // This form's concurrency and mode and the Teacher page's budget, prices and tries apply when a run (re)starts.
    const s = this.#judgeSettings(run);
    const job: JobRecord = { ...found, spec: { ...found.spec, mode: s.mode, concurrency: s.concurrency, maxAttempts: s.maxAttempts, budgetUSD: s.budgetUSD, prices: s.prices } };
    await jobs.saveJob(job);
    if (!(await jobs.loadItems(job.id)).some((i) => i.status === 'pending')) {
      this.notice = 'Nothing to judge: every verdict is in.';
      return;
    }
    const verdicts = new Map(run.verdicts.map((v) => [taskKey(v.questionId, v.first), v]));
    const client = new TeacherClient({ baseURL: run.baseURL, apiKey: key });
    const runner = new JobRunner(job.id, {
      store: jobs, chat: client, batch: client,
      onItem: (item) => {
        const verdict = verdictOf(job.spec, item);
        if (!verdict || !run) return;
        verdicts.set(taskKey(verdict.questionId, verdict.first), verdict);
        run = { ...run, verdicts: [...verdicts.values()] };
        this.judgeRuns = this.judgeRuns.map((r) => (r.id === runId ? run! : r));
        void store.putJudgeRun(run);
      },
      onProgress: (p) => (this.progress = { ...p, runId }),
    });
    this.#runner = runner;
    this.running = true;
    let ended: JobRecord;
    try {
      ended = await runner.run();
    } finally {
      await store.putJudgeRun(run);
      this.#runner = null;
      this.running = false;
    }
    if (ended.status === 'failed') throw new Error(redact(ended.error ?? 'the judge endpoint refused the run', [key]));
    if (ended.status === 'budget') {
      this.error = `${ended.error} The judge uses the Teacher page's budget: raise it under Teacher settings, save, then press “Judge the rest”.`;
    } else if (ended.status === 'cancelled' || ended.status === 'paused') {
      this.notice = 'Stopped: the verdicts received are kept; “Judge the rest” goes on from there.';
    } else {
      this.#reportDone(runId);
    }
  }

  /** The key for API calls: one typed on this page, else the Teacher page's. */
  async apiKey(): Promise<string> {
    if (this.sessionKey.trim()) return this.sessionKey.trim();
    const key = await (await this.services.stores()).settings.get<string>(API_KEY);
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
      const answers = { a: this.answersFor(evalSet.items, a.id), b: this.answersFor(evalSet.items, b.id) };
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
        answerLengths: answerLengthsOf(answers),
      };
      await store.putJudgeRun(run);
      this.judgeRuns = [run, ...this.judgeRuns];
      await this.#judge(run.id, key);
    });
  }

  /** Judges what a run still lacks (after a stop, a reload or failures); answered ones come from the cache. */
  async resumeJudge(runId: string): Promise<void> {
    await this.task('Judging…', async () => this.#judge(runId, await this.apiKey(), async (jobs, job) => void (await requeue(jobs, job.id, 'errors'))));
  }

  /** Asks the judge again, bypassing the cache, for verdicts that could not be parsed. */
  async retryUnparsed(runId: string): Promise<void> {
    await this.task('Judging…', async () => this.#judge(runId, await this.apiKey(), async (jobs, job) => {
      const prompt = job.spec.judge!.prompt;
      const unread = (await jobs.loadItems(job.id)).filter((i) => i.status === 'done' && i.output !== undefined && !parseVerdict(prompt, i.output));
      await requeue(jobs, job.id, unread.map((i) => i.index), true);
    }));
  }

  #reportDone(runId: string): void {
    const run = this.judgeRuns.find((r) => r.id === runId);
    if (!run) return;
    const s = summarize(run.verdicts);
    this.notice = `Judged ${s.n} question${s.n === 1 ? '' : 's'} in both orders: ${s.a_total} : ${s.b_total}`
      + `${s.unparsed.length ? `; ${s.unparsed.length} verdict(s) could not be read` : ''}${s.failed.length ? `; ${s.failed.length} failed` : ''}.`;
  }

  cancel(): void {
    this.#runner?.cancel();
  }

  summary(run: JudgeRunRecord): JudgeSummary {
    return summarize(run.verdicts);
  }

  /** The run's questions judged in both orders, with their answers' lengths where known. */
  questions(run: JudgeRunRecord): QuestionVerdict[] {
    return runQuestions(run, this.evalSets, this.answerSets);
  }

  stats(questions: readonly QuestionVerdict[]): JudgeStats {
    return judgeStats(questions);
  }

  /** The answers the run judged, while its eval set and answer sets are stored. */
  judgedAnswers(run: JudgeRunRecord): JudgedAnswers | null {
    return judgedAnswers(run, this.evalSet(run.evalSetId)?.items, this.answerSets);
  }

  async deleteJudgeRun(id: string): Promise<void> {
    await this.task('Deleting…', async (store) => {
      const jobs = (await this.services.stores()).jobs;
      for (const job of await jobs.listJobs()) if (job.spec.judge?.runId === id) await jobs.deleteJob(job.id);
      await store.deleteJudgeRun(id);
      await this.refresh();
    });
  }

  /** ROUGE-L of predictions against references (each a file, a stored dataset or an answer set), per item and by reference length. */
  async runRouge(refs: RougeSource, preds: RougeSource, options: { name: string; stem: boolean; cjk: boolean }): Promise<void> {
    await this.task('Scoring…', async (store) => {
      const datasets = (await this.services.stores()).datasets;
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

const makeEvalState = (services: Services) => new EvalState(services);
export const evalStateOf = (services: Services): EvalState => sharedState(services, makeEvalState);

/** The page's evaluation state: one per page load, so a judge run keeps going while other pages are open. */
export function useEvalState(): EvalState {
  return evalStateOf(useServices());
}
