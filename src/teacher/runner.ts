// The job runner. Rows are answered by a bounded pool of workers; every try that fails for a passing reason
// (429, 5xx, timeout, dropped connection, broken JSON) is retried with exponential backoff and jitter, and a
// Retry-After holds every worker, not just the one that was told. An answer is written to the request cache
// before the row is marked done, both through the JobStore, so a crash at any point loses nothing that was
// paid for: on restart, answered rows are skipped and answered requests come from the cache.
// The budget cap is kept before a request goes out: what is spent, plus the most the requests in flight and
// the next one can cost (prompt as estimated, answer at max_tokens), stays within it.
import { runBatches, type BatchHost } from './batch';
import type { BatchApi, ChatApi } from './client';
import { requestKey } from './cache';
import { TeacherError } from './errors';
import { budgetMessage, costOf, estimateCost, priceOf, requestCostBound } from './pricing';
import { applyStep, nextStep } from './prompts';
import type { ChatRequest, ChatResult, JobItem, JobRecord, JobSpec, JobStatus, JobStore, JudgedPair, RatedResponse } from './types';

export interface Progress {
  status: JobStatus;
  total: number;
  done: number;
  errors: number;
  pending: number;
  inFlight: number;
  tokensIn: number;
  tokensOut: number;
  /** USD paid so far for this job. */
  cost: number;
  budgetUSD: number | null;
  /** Requests answered from the cache in this session. */
  cacheHits: number;
  /** Requests sent in this session, retries included. */
  requests: number;
  retries: number;
  /** Rows finished per minute, over the last minute of this session. */
  perMinute: number;
  etaSeconds: number | null;
  /** Models used by this job that have no price in the table. */
  unpriced: string[];
}

export interface RunnerOptions {
  store: JobStore;
  chat: ChatApi;
  /** Needed for jobs in batch mode. */
  batch?: BatchApi;
  onProgress?: (progress: Progress) => void;
  /** Called with each row after it changed and was stored. */
  onItem?: (item: JobItem) => void;
  /** Backoff base and cap: try k waits about base * 2^(k-1), at most max, with jitter. */
  baseDelayMs?: number;
  maxDelayMs?: number;
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  random?: () => number;
  now?: () => number;
}

export class JobNotFoundError extends Error {
  override name = 'JobNotFoundError';
  constructor(id: string) {
    super(`job ${id} does not exist (deleted?): reload the Teacher page`);
  }
}

/** Sleeps ms, returning early (without throwing) when the signal fires. */
export function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted || ms <= 0) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

export interface SourceRow {
  instruction: string;
  input: string;
  /** Feedback jobs: the response to rate. */
  rates?: RatedResponse;
  /** Judge jobs: the pair to judge. */
  judges?: JudgedPair;
}

/** Builds a job and its pending rows; the caller stores them with JobStore.createJob. */
export function newJob(spec: JobSpec, sources: readonly SourceRow[], now = Date.now()): { job: JobRecord; items: JobItem[] } {
  const id = crypto.randomUUID();
  const job: JobRecord = { id, spec, status: 'ready', total: sources.length, createdAt: now, updatedAt: now };
  const items = sources.map((s, index): JobItem => ({
    jobId: id, index, instruction: s.instruction, input: s.input, status: 'pending',
    ...(s.rates ? { rates: s.rates } : {}),
    ...(s.judges ? { judges: s.judges } : {}),
    attempts: 0, tokensIn: 0, tokensOut: 0, cost: 0, updatedAt: now,
  }));
  return { job, items };
}

/** Queues failed rows again (all, or the given indices); `fresh` also bypasses the cache for them. */
export async function requeue(store: JobStore, jobId: string, which: 'errors' | readonly number[], fresh = false): Promise<number> {
  const items = await store.loadItems(jobId);
  const wanted = which === 'errors' ? null : new Set(which);
  let n = 0;
  for (const item of items) {
    if (wanted ? !wanted.has(item.index) : item.status !== 'error') continue;
    item.status = 'pending';
    item.attempts = 0;
    delete item.error;
    if (fresh) {
      item.fresh = true;
      delete item.output;
      delete item.translation;
    }
    item.updatedAt = Date.now();
    await store.saveItem(item);
    n++;
  }
  const job = await store.loadJob(jobId);
  if (job && n > 0 && job.status === 'done') await store.saveJob({ ...job, status: 'ready', updatedAt: Date.now() });
  return n;
}

type Stop = 'pause' | 'cancel' | 'budget' | 'failed';

export class JobRunner {
  readonly #opts: Required<Pick<RunnerOptions, 'baseDelayMs' | 'maxDelayMs' | 'sleep' | 'random' | 'now'>> & RunnerOptions;
  #job!: JobRecord;
  #items: JobItem[] = [];
  #stop: Stop | null = null;
  #error: string | undefined;
  /** Fires on pause or cancel: wakes sleeping workers (the batch poller listens to it). */
  readonly #wake = new AbortController();
  /** One controller per sleep and per request in flight (not one shared signal with a listener each). */
  readonly #sleeps = new Set<AbortController>();
  readonly #requestsInFlight = new Set<AbortController>();
  #holdUntil = 0;
  #inFlight = 0;
  /** USD paid for this job's rows (kept as a sum, not recounted per request). */
  #spent = 0;
  /** The most the requests in flight can cost, reserved against the budget until they settle. */
  #reserved = 0;
  /** Workers waiting for a request in flight to settle before they decide on the budget. */
  #settleWaiters: (() => void)[] = [];
  #cacheHits = 0;
  #requests = 0;
  #retries = 0;
  #finishedAt: number[] = [];
  #startedAt = 0;
  #used = false;

  constructor(readonly jobId: string, options: RunnerOptions) {
    this.#opts = {
      baseDelayMs: 1000,
      maxDelayMs: 60_000,
      sleep: abortableSleep,
      random: Math.random,
      now: Date.now,
      ...options,
    };
  }

  /**
   * Runs the job until every row is done or failed, or it is paused, cancelled, over budget or fails.
   * A runner runs once; resuming a paused job takes a new runner.
   */
  run(): Promise<JobRecord> {
    if (this.#used) return Promise.reject(new Error('this JobRunner already ran: create a new one to resume the job'));
    this.#used = true;
    return this.#run();
  }

  /** Stops launching requests; requests in flight finish and are kept. */
  pause(): void {
    this.#halt('pause');
  }

  /** Stops now: requests in flight are aborted (their rows stay pending). */
  cancel(): void {
    this.#halt('cancel');
    this.#abortRequests();
  }

  #halt(reason: Stop): void {
    this.#stop ??= reason;
    this.#wake.abort();
    for (const c of this.#sleeps) c.abort();
  }

  #abortRequests(): void {
    for (const c of this.#requestsInFlight) c.abort();
  }

  /** Sleeps until ms passed or the job stops. */
  async #sleep(ms: number): Promise<void> {
    const c = new AbortController();
    if (this.#stop) return;
    this.#sleeps.add(c);
    try {
      await this.#opts.sleep(ms, c.signal);
    } finally {
      this.#sleeps.delete(c);
    }
  }

  progress(): Progress {
    const p: Progress = {
      status: this.#job?.status ?? 'ready', total: this.#items.length, done: 0, errors: 0, pending: 0,
      inFlight: this.#inFlight, tokensIn: 0, tokensOut: 0, cost: 0, budgetUSD: this.#job?.spec.budgetUSD ?? null,
      cacheHits: this.#cacheHits, requests: this.#requests, retries: this.#retries, perMinute: 0, etaSeconds: null, unpriced: [],
    };
    for (const item of this.#items) {
      if (item.status === 'done') p.done++;
      else if (item.status === 'error') p.errors++;
      else p.pending++;
      p.tokensIn += item.tokensIn;
      p.tokensOut += item.tokensOut;
      p.cost += item.cost;
    }
    const now = this.#opts.now();
    this.#finishedAt = this.#finishedAt.filter((t) => now - t <= 60_000);
    const window = Math.min(60_000, now - this.#startedAt);
    if (this.#finishedAt.length && window > 0) {
      p.perMinute = (this.#finishedAt.length * 60_000) / window;
      p.etaSeconds = p.pending ? (p.pending / p.perMinute) * 60 : 0;
    }
    if (this.#job) {
      const spec = this.#job.spec;
      const models = [spec.teacher.model, ...(spec.lang === 'zh' && spec.translator ? [spec.translator.model] : [])];
      p.unpriced = models.filter((m) => !priceOf(spec.prices, m));
    }
    return p;
  }

  async #run(): Promise<JobRecord> {
    const { store } = this.#opts;
    const job = await store.loadJob(this.jobId);
    if (!job) throw new JobNotFoundError(this.jobId);
    this.#job = job;
    this.#items = await store.loadItems(this.jobId);
    this.#spent = this.#items.reduce((sum, i) => sum + i.cost, 0);
    this.#startedAt = this.#opts.now();
    await this.#setStatus('running');
    if (job.spec.mode === 'batch') {
      if (!this.#opts.batch) throw new Error('batch mode needs a client with the files and batches API');
      await runBatches(this.#batchHost(this.#opts.batch));
    } else {
      const queue = this.#items.filter((i) => i.status === 'pending');
      const workers = Array.from({ length: Math.max(1, Math.min(job.spec.concurrency, queue.length)) }, async () => {
        for (let item = queue.shift(); item && !this.#stop; item = queue.shift()) await this.#answer(item);
      });
      await Promise.all(workers);
    }
    return this.#finish();
  }

  async #finish(): Promise<JobRecord> {
    const status: JobStatus = this.#stop === 'pause' ? 'paused'
      : this.#stop === 'cancel' ? 'cancelled'
      : this.#stop === 'budget' ? 'budget'
      : this.#stop === 'failed' ? 'failed'
      : this.#items.some((i) => i.status === 'pending') ? 'paused' : 'done';
    await this.#setStatus(status, this.#error);
    return this.#job;
  }

  async #setStatus(status: JobStatus, error?: string): Promise<void> {
    this.#job = { ...this.#job, status, updatedAt: this.#opts.now() };
    if (error) this.#job.error = error;
    else delete this.#job.error;
    await this.#opts.store.saveJob(this.#job);
    this.#emit();
  }

  #emit(): void {
    this.#opts.onProgress?.(this.progress());
  }

  async #saveItem(item: JobItem): Promise<void> {
    item.updatedAt = this.#opts.now();
    await this.#opts.store.saveItem(item);
    this.#opts.onItem?.(item);
    this.#emit();
  }

  /** Takes one row through its remaining steps. Leaves it pending when the job stops midway. */
  async #answer(item: JobItem): Promise<void> {
    const spec = this.#job.spec;
    try {
      for (let next = nextStep(spec, item); next; next = nextStep(spec, item)) {
        const result = await this.#cachedOrRequest(next.request, item);
        if (!result) return;
        applyStep(item, next.step, result.text);
        if (result.paid) {
          item.tokensIn += result.usage.prompt_tokens;
          item.tokensOut += result.usage.completion_tokens;
          item.cost += costOf(spec.prices, next.request.model, result.usage);
        }
        if (next.step === 'answer') {
          item.status = 'done';
          item.attempts = 0;
          delete item.error;
          delete item.fresh;
          this.#finishedAt.push(this.#opts.now());
        }
        await this.#saveItem(item);
      }
    } catch (e) {
      const error = e instanceof TeacherError ? e : new TeacherError('request', e instanceof Error ? e.message : String(e));
      item.status = 'error';
      item.error = error.message;
      await this.#saveItem(item);
    }
  }

  async #cachedOrRequest(request: ChatRequest, item: JobItem): Promise<(ChatResult & { paid: boolean }) | null> {
    const { store } = this.#opts;
    const key = await requestKey(this.#job.spec.baseURL, request);
    if (!item.fresh) {
      const hit = await store.cacheGet(key);
      if (hit) {
        this.#cacheHits++;
        return { ...hit, paid: false };
      }
    }
    const result = await this.#request(request, item);
    if (!result) return null;
    // Cache first: if we die before the row is saved, the rerun finds the answer here instead of paying again.
    await store.cachePut(key, result);
    return { ...result, paid: true };
  }

  /**
   * Whether a request that may cost up to `bound` can go out now: 'go' (its bound is then reserved), 'wait'
   * for a request in flight to settle (its real cost may leave room), or 'stop' at the budget.
   */
  #budgetCheck(bound: number): 'go' | 'wait' | 'stop' {
    const budget = this.#job.spec.budgetUSD;
    if (budget !== null && this.#spent + this.#reserved + bound > budget) return this.#inFlight > 0 ? 'wait' : 'stop';
    this.#reserved += bound;
    return 'go';
  }

  #settled(): Promise<void> {
    return new Promise((resolve) => this.#settleWaiters.push(resolve));
  }

  /** Stops at the budget, saying what it would take to go on. */
  #stopAtBudget(next: number): void {
    const rest = estimateCost(this.#job.spec, this.#items).maxUSD;
    this.#error = budgetMessage(this.#job.spec.budgetUSD!, this.#spent, next, rest);
    this.#halt('budget');
    // Workers waiting on a settle would otherwise wait for requests that never come.
    for (const wake of this.#settleWaiters.splice(0)) wake();
  }

  /** One request with retries. Returns null when the job stopped; throws TeacherError when the row fails. */
  async #request(request: ChatRequest, item: JobItem): Promise<ChatResult | null> {
    const { chat, now } = this.#opts;
    for (;;) {
      while (!this.#stop && this.#holdUntil > now()) await this.#sleep(this.#holdUntil - now());
      if (this.#stop) return null;
      const bound = requestCostBound(this.#job.spec.prices, request);
      const budget = this.#budgetCheck(bound);
      if (budget === 'wait') {
        await this.#settled();
        continue;
      }
      if (budget === 'stop') {
        this.#stopAtBudget(bound);
        return null;
      }
      let error: TeacherError;
      const controller = new AbortController();
      this.#requestsInFlight.add(controller);
      this.#inFlight++;
      this.#requests++;
      this.#emit();
      try {
        const result = await chat.chat(request, controller.signal);
        // Counted here, before the waiting workers look at the budget again.
        this.#spent += costOf(this.#job.spec.prices, request.model, result.usage);
        return result;
      } catch (e) {
        error = e instanceof TeacherError ? e : new TeacherError('malformed', e instanceof Error ? e.message : String(e));
      } finally {
        this.#inFlight--;
        this.#reserved = this.#inFlight ? this.#reserved - bound : 0;
        this.#requestsInFlight.delete(controller);
        for (const wake of this.#settleWaiters.splice(0)) queueMicrotask(wake);
      }
      if (error.kind === 'aborted' || this.#stop === 'cancel') return null;
      if (error.kind === 'auth') {
        this.#error = error.message;
        this.#halt('failed');
        this.#abortRequests();
        return null;
      }
      if (!error.retryable) throw error;
      item.attempts++;
      if (item.attempts >= this.#job.spec.maxAttempts) {
        throw new TeacherError(error.kind, `${error.message} (gave up after ${item.attempts} tries)`, error.status);
      }
      this.#retries++;
      if (error.retryAfterMs !== undefined) this.#holdUntil = Math.max(this.#holdUntil, now() + error.retryAfterMs);
      await this.#sleep(this.#backoff(item.attempts, error.retryAfterMs));
    }
  }

  /** Exponential backoff with jitter (half fixed, half random); never shorter than Retry-After. */
  #backoff(attempt: number, retryAfter: number | undefined): number {
    const { baseDelayMs, maxDelayMs, random } = this.#opts;
    const exp = Math.min(maxDelayMs, baseDelayMs * 2 ** (attempt - 1));
    const jittered = exp / 2 + random() * (exp / 2);
    return retryAfter === undefined ? jittered : retryAfter + random() * Math.min(retryAfter * 0.1, 1000);
  }

  /** What the batch mode needs from the runner: rows, store, stop state and bookkeeping. */
  #batchHost(api: BatchApi): BatchHost {
    return {
      api,
      job: () => this.#job,
      saveJob: async (job) => {
        this.#job = job;
        await this.#opts.store.saveJob(job);
        this.#emit();
      },
      items: this.#items,
      store: this.#opts.store,
      saveItem: (item) => this.#saveItem(item),
      stopped: () => this.#stop !== null,
      wake: this.#wake.signal,
      sleep: this.#opts.sleep,
      now: this.#opts.now,
      countCacheHit: () => void this.#cacheHits++,
      countFinished: () => void this.#finishedAt.push(this.#opts.now()),
      fail: (message) => {
        this.#error = message;
        this.#halt('failed');
      },
      overBudget: (message) => {
        this.#error = message;
        this.#halt('budget');
      },
    };
  }
}
