// Batch API mode: the rows' next requests go out as JSONL files (at most 50,000 requests and 200 MB each),
// each file becomes a batch, and the batch ids are saved on the job before anything else happens, so a
// reload polls the same batches instead of paying for new ones. Results (output and error files) are joined
// back on custom_id; rows that need another step (Chinese mode) or another try go out in the next round.
// A round sends only the requests whose most possible cost (batch price) still fits the budget.
import { requestKey } from './cache';
import { parseCompletion, type BatchApi } from './client';
import { TeacherError } from './errors';
import { budgetMessage, costOf, estimateCost, requestCostBound } from './pricing';
import { applyStep, nextStep, type Step } from './prompts';
import type { BatchFileState, BatchRound, ChatRequest, JobItem, JobRecord, JobSpec, JobStore } from './types';

/** What the batch mode needs from the job runner: rows, store, stop state and bookkeeping. */
export interface BatchHost {
  api: BatchApi;
  job(): JobRecord;
  saveJob(job: JobRecord): Promise<void>;
  items: JobItem[];
  store: JobStore;
  saveItem(item: JobItem): Promise<void>;
  stopped(): boolean;
  wake: AbortSignal;
  sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  now: () => number;
  countCacheHit(): void;
  countFinished(): void;
  fail(message: string): void;
  /** Stops at the budget, with the message saying what to raise it to. */
  overBudget(message: string): void;
}

export const MAX_REQUESTS_PER_FILE = 50_000;
export const MAX_BYTES_PER_FILE = 200 * 1024 * 1024;

export interface BatchLimits {
  maxRequests: number;
  maxBytes: number;
}

const TERMINAL = new Set(['completed', 'failed', 'expired', 'cancelled']);

export function customId(index: number, step: Step): string {
  return `row-${index}-${step}`;
}

export function parseCustomId(id: string): { index: number; step: Step } | null {
  const m = /^row-(\d+)-(translate-instruction|translate-input|answer)$/.exec(id);
  return m ? { index: Number(m[1]), step: m[2] as Step } : null;
}

/** One line of a batch input file. */
export function batchLine(id: string, request: ChatRequest): string {
  const { temperature, top_p, max_tokens } = request.params;
  return JSON.stringify({
    custom_id: id,
    method: 'POST',
    url: '/v1/chat/completions',
    body: { model: request.model, messages: request.messages, temperature, top_p, max_tokens },
  }) + '\n';
}

/** Splits lines into files of at most maxRequests lines and maxBytes UTF-8 bytes, keeping order. */
export function splitLines(lines: readonly string[], limits: BatchLimits): { lines: string[]; bytes: number }[] {
  const encoder = new TextEncoder();
  const files: { lines: string[]; bytes: number }[] = [];
  let cur: { lines: string[]; bytes: number } = { lines: [], bytes: 0 };
  for (const line of lines) {
    const bytes = encoder.encode(line).length;
    if (bytes > limits.maxBytes) throw new RangeError(`one request is ${bytes} bytes, over the ${limits.maxBytes}-byte file limit`);
    if (cur.lines.length === limits.maxRequests || cur.bytes + bytes > limits.maxBytes) {
      files.push(cur);
      cur = { lines: [], bytes: 0 };
    }
    cur.lines.push(line);
    cur.bytes += bytes;
  }
  if (cur.lines.length) files.push(cur);
  return files;
}

interface PlannedLine {
  index: number;
  line: string;
  /** The most this request can cost at the batch price. */
  bound: number;
}

/** The requests pending rows need next; rows whose next request is cached advance without a request. */
async function plan(host: BatchHost, spec: JobSpec): Promise<PlannedLine[]> {
  const out: PlannedLine[] = [];
  for (const item of host.items) {
    if (item.status !== 'pending') continue;
    for (let next = nextStep(spec, item); next; next = nextStep(spec, item)) {
      const hit = item.fresh ? undefined : await host.store.cacheGet(await requestKey(spec.baseURL, next.request));
      if (!hit) {
        out.push({ index: item.index, line: batchLine(customId(item.index, next.step), next.request), bound: requestCostBound(spec.prices, next.request, true) });
        break;
      }
      host.countCacheHit();
      applyStep(item, next.step, hit.text);
      if (next.step === 'answer') markDone(host, item);
      await host.saveItem(item);
    }
  }
  return out;
}

function markDone(host: BatchHost, item: JobItem): void {
  item.status = 'done';
  item.attempts = 0;
  delete item.error;
  delete item.fresh;
  host.countFinished();
}

/** Lines of a file whose upload did not happen before a reload: the same rows, in the same state. */
function replan(host: BatchHost, spec: JobSpec, file: BatchFileState): string {
  const lines: string[] = [];
  for (const item of host.items.slice(file.from, file.to + 1)) {
    const next = item.status === 'pending' ? nextStep(spec, item) : null;
    if (next) lines.push(batchLine(customId(item.index, next.step), next.request));
  }
  return lines.join('');
}

export async function runBatches(host: BatchHost, limits: BatchLimits = { maxRequests: MAX_REQUESTS_PER_FILE, maxBytes: MAX_BYTES_PER_FILE }): Promise<void> {
  for (;;) {
    const open = (host.job().batches ?? []).find((r) => r.files.some((f) => !f.imported));
    if (open) {
      await drive(host, open);
      if (host.stopped()) return;
      continue;
    }
    const spec = host.job().spec;
    const planned = withinBudget(host, spec, await plan(host, spec));
    if (!planned.length || host.stopped()) return;
    const files = splitLines(planned.map((p) => p.line), limits);
    let at = 0;
    const round: BatchRound = {
      round: (host.job().batches?.length ?? 0) + 1,
      files: files.map((f) => {
        const state = { count: f.lines.length, bytes: f.bytes, from: planned[at].index, to: planned[at + f.lines.length - 1].index, imported: false };
        at += f.lines.length;
        return state;
      }),
    };
    await host.saveJob({ ...host.job(), batches: [...(host.job().batches ?? []), round] });
  }
}

/** The planned lines that fit the budget, in order; none fitting stops the job at the budget. */
function withinBudget(host: BatchHost, spec: JobSpec, planned: PlannedLine[]): PlannedLine[] {
  if (spec.budgetUSD === null || !planned.length) return planned;
  const spent = host.items.reduce((s, i) => s + i.cost, 0);
  let total = spent;
  let fit = 0;
  while (fit < planned.length && total + planned[fit].bound <= spec.budgetUSD) total += planned[fit++].bound;
  if (fit === 0) host.overBudget(budgetMessage(spec.budgetUSD, spent, planned[0].bound, estimateCost(spec, host.items).maxUSD));
  return planned.slice(0, fit);
}

/** Calls the API, waiting out passing failures; returns null when the job stops or fails. */
async function call<T>(host: BatchHost, fn: () => Promise<T>): Promise<T | null> {
  for (;;) {
    if (host.stopped()) return null;
    try {
      return await fn();
    } catch (e) {
      const error = e instanceof TeacherError ? e : new TeacherError('request', String(e));
      if (!error.retryable) {
        host.fail(error.message);
        return null;
      }
      await host.sleep(error.retryAfterMs ?? host.job().spec.pollMs ?? 30_000, host.wake);
    }
  }
}

async function drive(host: BatchHost, round: BatchRound): Promise<void> {
  const save = async () => {
    const job = host.job();
    await host.saveJob({ ...job, batches: job.batches!.map((r) => (r.round === round.round ? round : r)) });
  };
  const spec = host.job().spec;
  for (const [k, file] of round.files.entries()) {
    if (!file.inputFileId) {
      const id = await call(host, () => host.api.uploadBatchFile(`job-${host.job().id}-round-${round.round}-${k + 1}.jsonl`, replan(host, spec, file)));
      if (!id) return;
      file.inputFileId = id;
      await save();
    }
    if (!file.batchId) {
      const inputFileId = file.inputFileId;
      const info = await call(host, async () =>
        (await host.api.findBatch(inputFileId)) ?? host.api.createBatch(inputFileId, { job: host.job().id, round: String(round.round) }));
      if (!info) return;
      file.batchId = info.id;
      file.status = info.status;
      await save();
    }
  }
  for (;;) {
    for (const file of round.files) {
      if (file.imported) continue;
      const info = await call(host, () => host.api.getBatch(file.batchId!));
      if (!info) return;
      if (info.status !== file.status) {
        Object.assign(file, { status: info.status, outputFileId: info.outputFileId, errorFileId: info.errorFileId });
        await save();
      }
      if (TERMINAL.has(info.status)) {
        if (!(await importResults(host, spec, file))) return;
        file.imported = true;
        await save();
      }
    }
    if (round.files.every((f) => f.imported) || host.stopped()) return;
    await host.sleep(spec.pollMs ?? 30_000, host.wake);
  }
}

interface ResultLine {
  custom_id?: string;
  response?: { status_code?: number; body?: unknown } | null;
  error?: { code?: string; message?: string } | null;
}

/** Joins a finished batch's output and error files onto the rows. False when the job stopped meanwhile. */
async function importResults(host: BatchHost, spec: JobSpec, file: BatchFileState): Promise<boolean> {
  const lines: ResultLine[] = [];
  for (const id of [file.outputFileId, file.errorFileId]) {
    if (!id) continue;
    const text = await call(host, () => host.api.fileText(id));
    if (text === null) return false;
    for (const l of text.split('\n')) if (l.trim()) lines.push(JSON.parse(l) as ResultLine);
  }
  const seen = new Set<number>();
  for (const line of lines) {
    const id = line.custom_id ? parseCustomId(line.custom_id) : null;
    const item = id ? host.items[id.index] : undefined;
    if (!id || !item || item.status !== 'pending') continue;
    const next = nextStep(spec, item);
    if (!next || next.step !== id.step) continue;
    seen.add(id.index);
    const status = line.response?.status_code;
    if (status === 200 && !line.error) {
      try {
        const result = parseCompletion(line.response!.body);
        await host.store.cachePut(await requestKey(spec.baseURL, next.request), result);
        applyStep(item, next.step, result.text);
        item.tokensIn += result.usage.prompt_tokens;
        item.tokensOut += result.usage.completion_tokens;
        item.cost += costOf(spec.prices, next.request.model, result.usage, true);
        if (next.step === 'answer') markDone(host, item);
        await host.saveItem(item);
        continue;
      } catch (e) {
        line.error = { message: e instanceof Error ? e.message : String(e) };
      }
    }
    const body = line.response?.body as { error?: { message?: string } } | undefined;
    failTry(spec, item, line.error?.message ?? body?.error?.message ?? `status ${status ?? 'unknown'}`);
    await host.saveItem(item);
  }
  // Rows the batch never reached (expired, cancelled, failed validation) count a failed try.
  for (const item of host.items.slice(file.from, file.to + 1)) {
    if (item.status === 'pending' && !seen.has(item.index)) {
      failTry(spec, item, `the batch ended "${file.status}" without an answer for this row`);
      await host.saveItem(item);
    }
  }
  return true;
}

function failTry(spec: JobSpec, item: JobItem, message: string): void {
  item.attempts++;
  item.error = message;
  if (item.attempts >= spec.maxAttempts) item.status = 'error';
}
