// Teacher page state: settings (the key stays in this browser's IndexedDB, shown masked, removable), the
// connection test, and jobs: generation jobs created from a dataset, and feedback jobs rating the responses of
// answer sets or a dataset; run, pause, resume, cancel, retry failed rows (and unreadable verdicts).
// Jobs that were running when the page went away resume when it comes back.
import type { Row } from '../../data/types';
import type { AnswerSetRecord, EvalSetRecord, EvalStore } from '../../eval/store';
import { normalizeBaseURL, OPENAI_BASE_URL, TeacherClient } from '../../teacher/client';
import { redact } from '../../teacher/errors';
import {
  candidatesFromAnswerSets, candidatesFromRows, feedbackResults, onlyQuestions, pairsHistogram, planFeedback,
  type FeedbackCandidate, type FeedbackPlan, type ScoreDistribution, type Unparsed,
} from '../../teacher/feedback';
import { jobRows } from '../../teacher/output';
import { estimateCost, type CostEstimate } from '../../teacher/pricing';
import { JobRunner, newJob, requeue, type Progress } from '../../teacher/runner';
import { type GenerationParams, type JobItem, type JobLang, type JobMode, type JobRecord } from '../../teacher/types';
import { API_KEY, DEFAULT_SETTINGS, SETTINGS_KEY, type TeacherSettings } from '../../teacher/settings';
import { datasetsStateOf } from './datasets.svelte';
import { messageOf } from '../lib/message';
import { useServices, type Services } from '../services';
import { sharedState } from './shared.svelte';

/** What a feedback job rates: answer sets for one eval set, a dataset's responses, or both (the dataset's rows
 * for the eval set's questions join the answer sets). */
export interface FeedbackInput {
  evalSetId: string | null;
  answerSetIds: string[];
  datasetId: string | null;
}

/** A feedback job's input before it starts: what would be asked. */
export interface FeedbackPreview extends Omit<FeedbackPlan, 'rows'> {
  /** Requests to send: one per distinct response to a prompt. */
  requests: number;
  /** Dataset rows left out because their prompt is not one of the eval set's questions. */
  dropped: number;
  name: string;
}

/** A feedback job's results as its card shows them (the rows themselves are in the written datasets). */
export interface FeedbackView {
  prompts: number;
  scored: number;
  pairs: number;
  ties: number;
  /** Index k: prompts that yield k pairs. */
  pairsHistogram: number[];
  distribution: ScoreDistribution;
  /** Unreadable verdicts (the first 200), shown with their text and retryable. */
  unparsed: Unparsed[];
  unparsedCount: number;
  failed: number;
  pending: number;
}

/** A job as the page shows it. */
export interface JobView {
  job: JobRecord;
  progress: Progress | null;
  running: boolean;
}

export class TeacherState {
  settings = $state<TeacherSettings>(structuredClone(DEFAULT_SETTINGS));
  /** Whether a key is stored; the key itself never enters page state. */
  hasKey = $state(false);
  jobs = $state.raw<JobView[]>([]);
  /** Failed rows of each job, loaded when asked for. */
  failures = $state.raw<Record<string, JobItem[]>>({});
  /** Feedback inputs: eval sets and answer sets from the Evaluate page's store. */
  evalSets = $state.raw<EvalSetRecord[]>([]);
  answerSets = $state.raw<AnswerSetRecord[]>([]);
  /** Results of feedback jobs, loaded when their card shows them. */
  feedback = $state.raw<Record<string, FeedbackView>>({});
  connection = $state<{ ok: boolean; message: string } | null>(null);
  testing = $state(false);
  error = $state<string | null>(null);
  notice = $state<string | null>(null);
  #runners = new Map<string, JobRunner>();
  #key: string | null = null;
  #ready: Promise<void> | null = null;
  #progressAt = new Map<string, number>();

  constructor(private readonly services: Services) {}

  #stores() {
    return this.services.stores();
  }

  /** Loads settings and jobs once, and resumes jobs a reload interrupted. */
  init(): Promise<void> {
    this.#ready ??= this.#init().catch((e: unknown) => {
      this.error = messageOf(e);
    });
    return this.#ready;
  }

  async #init(): Promise<void> {
    const { jobs, settings } = await this.#stores();
    const saved = await settings.get<Partial<TeacherSettings>>(SETTINGS_KEY);
    if (saved) this.settings = { ...structuredClone(DEFAULT_SETTINGS), ...saved };
    this.#key = (await settings.get<string>(API_KEY)) ?? null;
    this.hasKey = this.#key !== null;
    // Judge jobs belong to their judge runs on the Evaluate page, which shows and resumes them.
    this.jobs = (await jobs.listJobs()).filter((job) => !job.spec.judge).map((job) => ({ job, progress: null, running: false }));
    for (const view of this.jobs) {
      if (view.job.status === 'running' && this.#key) void this.resume(view.job.id);
    }
  }

  async saveSettings(): Promise<void> {
    const { settings } = await this.#stores();
    this.settings.baseURL = normalizeBaseURL(this.settings.baseURL) || OPENAI_BASE_URL;
    await settings.set(SETTINGS_KEY, $state.snapshot(this.settings));
    this.notice = 'Settings saved in this browser.';
  }

  async setKey(key: string): Promise<void> {
    const trimmed = key.trim();
    if (!trimmed) return;
    const { settings } = await this.#stores();
    await settings.set(API_KEY, trimmed);
    this.#key = trimmed;
    this.hasKey = true;
    this.connection = null;
  }

  async removeKey(): Promise<void> {
    const { settings } = await this.#stores();
    await settings.delete(API_KEY);
    this.#key = null;
    this.hasKey = false;
    this.connection = null;
  }

  #client(): TeacherClient {
    if (!this.#key) throw new Error('No API key: enter one in Teacher settings (it is stored in this browser only).');
    return new TeacherClient({ baseURL: this.settings.baseURL, apiKey: this.#key });
  }

  #redact(text: string): string {
    return redact(text, this.#key ? [this.#key] : []);
  }

  async testConnection(): Promise<void> {
    this.testing = true;
    this.connection = null;
    try {
      const models = await this.#client().listModels(AbortSignal.timeout(20_000));
      const want = [this.settings.teacherModel, this.settings.translatorModel];
      const missing = want.filter((m) => !models.includes(m));
      this.connection = {
        ok: true,
        message: `Connected: ${models.length} models${missing.length ? `; not listed: ${missing.join(', ')}` : `; ${want.join(' and ')} available`}.`,
      };
    } catch (e) {
      this.connection = { ok: false, message: this.#redact(messageOf(e)) };
    } finally {
      this.testing = false;
    }
  }

  /** A generation job over every row of a dataset (instruction and input), with the settings as they are now. */
  async #generationJob(datasetId: string, lang: JobLang, mode: JobMode): Promise<{ job: JobRecord; items: JobItem[] }> {
    const { datasets } = await this.#stores();
    const meta = await datasets.get(datasetId);
    const rows = await datasets.rows(datasetId);
    if (!rows.length) throw new Error(`“${meta.name}” has no rows.`);
    const s = $state.snapshot(this.settings);
    const params = { temperature: s.temperature, top_p: s.top_p, max_tokens: s.max_tokens };
    return newJob({
      name: `${meta.name} → ${s.teacherModel}${lang === 'zh' ? ' (Chinese)' : ''}`,
      baseURL: s.baseURL, lang, mode,
      teacher: { model: s.teacherModel, params },
      translator: lang === 'zh' ? { model: s.translatorModel, params } : undefined,
      concurrency: s.concurrency, maxAttempts: s.maxAttempts, budgetUSD: s.budgetUSD, prices: s.prices,
      source: { datasetId, name: meta.name },
    }, rows.map((r) => ({ instruction: r.instruction, input: r.input })));
  }

  /** What a generation job over this dataset would cost, shown before Start; null when it cannot be made. */
  async estimateJob(datasetId: string, lang: JobLang, mode: JobMode): Promise<CostEstimate | null> {
    try {
      const { job, items } = await this.#generationJob(datasetId, lang, mode);
      return estimateCost(job.spec, items);
    } catch {
      return null;
    }
  }

  /** Creates a job over every row of a dataset (instruction and input) and starts it. */
  async createJob(datasetId: string, lang: JobLang, mode: JobMode): Promise<void> {
    this.error = null;
    try {
      const { jobs } = await this.#stores();
      const { job, items } = await this.#generationJob(datasetId, lang, mode);
      await jobs.createJob(job, items);
      this.jobs = [{ job, progress: null, running: false }, ...this.jobs];
      await this.resume(job.id);
    } catch (e) {
      this.error = this.#redact(messageOf(e));
    }
  }

  async #evals(): Promise<EvalStore> {
    return (await this.services.stores()).evals;
  }

  /** Loads the eval sets and answer sets a feedback job can rate (they change on the Evaluate page). */
  async loadFeedbackInputs(): Promise<void> {
    try {
      const store = await this.#evals();
      [this.evalSets, this.answerSets] = await Promise.all([store.evalSets(), store.answerSets()]);
    } catch (e) {
      this.error = messageOf(e);
    }
  }

  /** The responses an input holds, grouped by prompt, and a name for the job. Throws with what to pick. */
  async #feedbackPlan(input: FeedbackInput): Promise<{ plan: FeedbackPlan; dropped: number; name: string; datasetId?: string }> {
    const { datasets } = await this.#stores();
    let candidates: FeedbackCandidate[] = [];
    const names: string[] = [];
    let dropped = 0;
    if (input.answerSetIds.length) {
      const store = await this.#evals();
      const evalSet = input.evalSetId ? await store.evalSet(input.evalSetId) : undefined;
      if (!evalSet) throw new Error('Pick the eval set the answer sets answer: their answers are matched to its questions.');
      const sets: AnswerSetRecord[] = [];
      for (const id of input.answerSetIds) {
        const set = await store.answerSet(id);
        if (!set) throw new Error('An answer set was deleted meanwhile: pick the answer sets again.');
        sets.push(set);
      }
      // Sources in the order the sets were made, however they were ticked.
      sets.sort((a, b) => a.createdAt - b.createdAt);
      candidates = candidatesFromAnswerSets(evalSet.items, sets);
      names.push(evalSet.name);
      if (input.datasetId) {
        const meta = await datasets.get(input.datasetId);
        const kept = onlyQuestions(candidatesFromRows(await datasets.rows(input.datasetId), meta.name), evalSet.items);
        candidates.push(...kept.kept);
        dropped = kept.dropped;
        names.push(meta.name);
      }
    } else if (input.datasetId) {
      const meta = await datasets.get(input.datasetId);
      candidates = candidatesFromRows(await datasets.rows(input.datasetId), meta.name);
      names.push(meta.name);
    } else {
      throw new Error('Pick answer sets (with their eval set) or a dataset whose rows hold responses.');
    }
    const plan = planFeedback(candidates);
    if (!plan.rows.length) throw new Error('There is nothing to rate: every response is empty.');
    return { plan, dropped, name: names.join(' + '), datasetId: input.datasetId ?? undefined };
  }

  /** What a feedback job over this input would ask, or why it cannot start. */
  async previewFeedback(input: FeedbackInput): Promise<FeedbackPreview> {
    const { plan, dropped, name } = await this.#feedbackPlan(input);
    const { rows: _rows, ...counts } = plan;
    return { ...counts, requests: plan.rows.length, dropped, name };
  }

  /** Creates a feedback job (one row per response to rate) and starts it. */
  async createFeedbackJob(input: FeedbackInput, mode: JobMode, params: GenerationParams): Promise<void> {
    this.error = null;
    try {
      const { jobs } = await this.#stores();
      const { plan, name, datasetId } = await this.#feedbackPlan(input);
      const s = $state.snapshot(this.settings);
      const { job, items } = newJob({
        name: `Feedback on ${name} by ${s.teacherModel}`,
        baseURL: s.baseURL, lang: 'en', mode, prompt: 'feedback',
        teacher: { model: s.teacherModel, params },
        concurrency: s.concurrency, maxAttempts: s.maxAttempts, budgetUSD: s.budgetUSD, prices: s.prices,
        source: { datasetId, name },
      }, plan.rows);
      await jobs.createJob(job, items);
      this.jobs = [{ job, progress: null, running: false }, ...this.jobs];
      await this.resume(job.id);
    } catch (e) {
      this.error = this.#redact(messageOf(e));
    }
  }

  /** Reads a feedback job's rows into what its card shows. */
  async loadFeedback(id: string): Promise<void> {
    try {
      const { jobs } = await this.#stores();
      const r = feedbackResults(await jobs.loadItems(id));
      this.feedback = {
        ...this.feedback,
        [id]: {
          prompts: r.pairsPerPrompt.length, scored: r.scored, pairs: r.pairs.length, ties: r.ties,
          pairsHistogram: pairsHistogram(r.pairsPerPrompt), distribution: r.distribution,
          unparsed: r.unparsed.slice(0, 200), unparsedCount: r.unparsed.length, failed: r.failed, pending: r.pending,
        },
      };
    } catch (e) {
      this.error = messageOf(e);
    }
  }

  /** Asks again for unreadable verdicts (all, or the given rows), bypassing the request cache. */
  async retryUnparsed(id: string, indices?: number[]): Promise<void> {
    const { jobs } = await this.#stores();
    const which = indices ?? feedbackResults(await jobs.loadItems(id)).unparsed.map((u) => u.index);
    const n = await requeue(jobs, id, which, true);
    const job = await jobs.loadJob(id);
    if (job) this.#update(id, { job });
    this.notice = `${n} verdict${n === 1 ? '' : 's'} asked for again.`;
    await this.resume(id);
  }

  #update(id: string, patch: Partial<JobView>): void {
    this.jobs = this.jobs.map((v) => (v.job.id === id ? { ...v, ...patch } : v));
  }

  async resume(id: string): Promise<void> {
    if (this.#runners.has(id)) return;
    this.error = null;
    let client: TeacherClient;
    try {
      client = this.#client();
    } catch (e) {
      this.error = messageOf(e);
      return;
    }
    const { jobs } = await this.#stores();
    const view = this.jobs.find((v) => v.job.id === id);
    // Settings changed since the job started (concurrency, budget, prices) apply when it resumes.
    if (view && view.job.status !== 'running') {
      const s = $state.snapshot(this.settings);
      const job = { ...view.job, spec: { ...view.job.spec, concurrency: s.concurrency, budgetUSD: s.budgetUSD, prices: s.prices } };
      await jobs.saveJob(job);
    }
    const runner = new JobRunner(id, {
      store: jobs, chat: client, batch: client,
      onProgress: (progress) => {
        // At most a few repaints a second, however fast rows finish.
        const now = performance.now();
        if (progress.status === 'running' && now - (this.#progressAt.get(id) ?? 0) < 200) return;
        this.#progressAt.set(id, now);
        this.#update(id, { progress, job: { ...this.jobs.find((v) => v.job.id === id)!.job, status: progress.status } });
      },
    });
    this.#runners.set(id, runner);
    this.#update(id, { running: true });
    try {
      const job = await this.#withLock(id, () => runner.run());
      if (job) {
        if (job.error) job.error = this.#redact(job.error);
        this.#update(id, { job, progress: runner.progress(), running: false });
        if (job.status === 'done') await this.#writeOutput(job);
        // A resume that stopped at once: the budget was not raised enough to send even one more request.
        if (job.status === 'budget' && runner.progress().requests === 0) {
          this.error = `“${job.spec.name}” sent nothing: ${job.error} The budget is under Teacher settings; save after changing it.`;
        }
      } else {
        this.#update(id, { running: false });
        this.notice = 'This job is running in another tab.';
      }
    } catch (e) {
      this.error = this.#redact(messageOf(e));
      this.#update(id, { running: false });
    } finally {
      this.#runners.delete(id);
      if (this.failures[id]) await this.loadFailures(id);
      if (this.jobs.find((v) => v.job.id === id)?.job.spec.prompt === 'feedback') await this.loadFeedback(id);
    }
  }

  /** Runs fn under a per-job Web Lock, so two tabs never run the same job; null if another tab holds it. */
  async #withLock<T>(id: string, fn: () => Promise<T>): Promise<T | null> {
    if (!('locks' in navigator)) return fn();
    return navigator.locks.request(`instruct-studio-job-${id}`, { ifAvailable: true }, (lock) => (lock ? fn() : null));
  }

  pause(id: string): void {
    this.#runners.get(id)?.pause();
  }

  cancel(id: string): void {
    this.#runners.get(id)?.cancel();
  }

  async retryFailed(id: string, indices?: number[]): Promise<void> {
    const { jobs } = await this.#stores();
    const n = await requeue(jobs, id, indices ?? 'errors');
    const job = await jobs.loadJob(id);
    if (job) this.#update(id, { job });
    this.notice = `${n} row${n === 1 ? '' : 's'} queued again.`;
    await this.resume(id);
  }

  async loadFailures(id: string): Promise<void> {
    const { jobs } = await this.#stores();
    const failed = (await jobs.loadItems(id)).filter((i) => i.status === 'error' || (i.status === 'pending' && i.error));
    this.failures = { ...this.failures, [id]: failed.slice(0, 200).map((i) => ({ ...i, error: i.error && this.#redact(i.error) })) };
  }

  async deleteJob(id: string): Promise<void> {
    this.#runners.get(id)?.cancel();
    const { jobs } = await this.#stores();
    await jobs.deleteJob(id);
    this.jobs = this.jobs.filter((v) => v.job.id !== id);
  }

  /** Writes (or rewrites) the job's answers as a dataset recording model and parameters. */
  async #writeOutput(job: JobRecord): Promise<void> {
    if (job.spec.prompt === 'feedback') return this.#writeFeedback(job);
    const { jobs, datasets } = await this.#stores();
    const rows = jobRows(job.spec, await jobs.loadItems(job.id));
    if (job.outputDatasetId) await datasets.remove(job.outputDatasetId);
    const meta = await datasets.create(job.spec.name, 'alpaca', { kind: 'job', jobId: job.id }, rows);
    const updated = { ...job, outputDatasetId: meta.id };
    await jobs.saveJob(updated);
    this.#update(job.id, { job: updated });
    await datasetsStateOf(this.services).refresh();
    this.notice = `Saved ${rows.length.toLocaleString('en')} answers as the dataset “${meta.name}”.`;
  }

  /** Writes (or rewrites) a feedback job's scores as a comparison dataset, and its pairs as a pairs dataset. */
  async #writeFeedback(job: JobRecord): Promise<void> {
    const { jobs, datasets } = await this.#stores();
    const r = feedbackResults(await jobs.loadItems(job.id));
    for (const id of [job.outputDatasetId, job.pairsDatasetId]) if (id) await datasets.remove(id);
    const origin = { kind: 'job', jobId: job.id } as const;
    const scores = await datasets.create(`${job.spec.name} (scores)`, 'comparison', origin, r.rows);
    const pairs = await datasets.create(`${job.spec.name} (pairs)`, 'pairs-prompt', origin, r.pairs satisfies Row[]);
    const updated = { ...job, outputDatasetId: scores.id, pairsDatasetId: pairs.id };
    await jobs.saveJob(updated);
    this.#update(job.id, { job: updated });
    await datasetsStateOf(this.services).refresh();
    const n = (x: number) => x.toLocaleString('en');
    this.notice = `Saved ${n(r.scored)} scored responses to ${n(r.rows.length)} prompts as “${scores.name}” and ${n(r.pairs.length)} pairs as “${pairs.name}”`
      + `; ${n(r.ties)} tied pair${r.ties === 1 ? '' : 's'} dropped`
      + (r.unparsed.length ? `; ${n(r.unparsed.length)} verdict${r.unparsed.length === 1 ? '' : 's'} unreadable (not counted).` : '.');
  }
}

const makeTeacherState = (services: Services) => new TeacherState(services);

/** The page's teacher state: one per page load, so jobs keep running while other pages are open. */
export function useTeacherState(): TeacherState {
  return sharedState(useServices(), makeTeacherState);
}
