// The teacher endpoint on the official openai SDK: chat completions, plus the files and batches calls the
// Batch API mode needs. The SDK's own retries are off: the job runner retries, honouring Retry-After, and
// counts every try. The key lives in this object only; every error leaving it is redacted.
import OpenAI from 'openai';
import { toTeacherError, TeacherError } from './errors';
import type { ChatRequest, ChatResult } from './types';

export interface ChatApi {
  chat(request: ChatRequest, signal?: AbortSignal): Promise<ChatResult>;
}

export interface BatchInfo {
  id: string;
  status: string;
  inputFileId: string;
  outputFileId: string | null;
  errorFileId: string | null;
  counts: { total: number; completed: number; failed: number };
}

export interface BatchApi {
  uploadBatchFile(name: string, jsonl: string): Promise<string>;
  createBatch(inputFileId: string, metadata: Record<string, string>): Promise<BatchInfo>;
  /** A batch already created from this input file (found after a crash between create and persist). */
  findBatch(inputFileId: string): Promise<BatchInfo | null>;
  getBatch(id: string): Promise<BatchInfo>;
  fileText(id: string): Promise<string>;
}

export interface TeacherConnection {
  baseURL: string;
  apiKey: string;
  /** Per-request limit, response body included. */
  timeoutMs?: number;
}

export const OPENAI_BASE_URL = 'https://api.openai.com/v1';

export function normalizeBaseURL(url: string): string {
  return url.trim().replace(/\/+$/, '');
}

export class TeacherClient implements ChatApi, BatchApi {
  readonly baseURL: string;
  readonly #key: string;
  readonly #openai: OpenAI;
  readonly #timeoutMs: number;

  constructor(connection: TeacherConnection) {
    this.baseURL = normalizeBaseURL(connection.baseURL || OPENAI_BASE_URL);
    this.#key = connection.apiKey;
    this.#timeoutMs = connection.timeoutMs ?? 120_000;
    this.#openai = new OpenAI({
      apiKey: connection.apiKey,
      baseURL: this.baseURL,
      dangerouslyAllowBrowser: true,
      maxRetries: 0,
      timeout: this.#timeoutMs,
    });
  }

  /** Runs one SDK call under a deadline that also covers reading the body, mapping failures to TeacherError. */
  async #call<T>(fn: (signal: AbortSignal) => Promise<T>, signal?: AbortSignal): Promise<T> {
    // One controller per call, unhooked afterwards: a job's signal sees thousands of calls.
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, this.#timeoutMs);
    const forward = () => controller.abort();
    if (signal?.aborted) controller.abort();
    signal?.addEventListener('abort', forward, { once: true });
    try {
      return await fn(controller.signal);
    } catch (e) {
      throw toTeacherError(e, [this.#key], timedOut && !signal?.aborted);
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', forward);
    }
  }

  async chat(request: ChatRequest, signal?: AbortSignal): Promise<ChatResult> {
    const completion = await this.#call((s) => this.#openai.chat.completions.create({
      model: request.model,
      messages: request.messages,
      temperature: request.params.temperature,
      top_p: request.params.top_p,
      max_tokens: request.params.max_tokens,
    }, { signal: s }), signal);
    return parseCompletion(completion);
  }

  /** Lists the endpoint's models: a cheap call that proves the base URL and the key. */
  async listModels(signal?: AbortSignal): Promise<string[]> {
    return this.#call(async (s) => {
      const ids: string[] = [];
      for await (const m of this.#openai.models.list({ signal: s })) ids.push(m.id);
      return ids;
    }, signal);
  }

  async uploadBatchFile(name: string, jsonl: string): Promise<string> {
    const file = await this.#call((s) => this.#openai.files.create({
      file: new File([jsonl], name, { type: 'application/jsonl' }),
      purpose: 'batch',
    }, { signal: s }));
    return file.id;
  }

  async createBatch(inputFileId: string, metadata: Record<string, string>): Promise<BatchInfo> {
    return batchInfo(await this.#call((s) => this.#openai.batches.create({
      input_file_id: inputFileId,
      endpoint: '/v1/chat/completions',
      completion_window: '24h',
      metadata,
    }, { signal: s })));
  }

  async findBatch(inputFileId: string): Promise<BatchInfo | null> {
    return this.#call(async (s) => {
      for await (const b of this.#openai.batches.list({ limit: 100 }, { signal: s })) {
        if (b.input_file_id === inputFileId) return batchInfo(b);
      }
      return null;
    });
  }

  async getBatch(id: string): Promise<BatchInfo> {
    return batchInfo(await this.#call((s) => this.#openai.batches.retrieve(id, { signal: s })));
  }

  async fileText(id: string): Promise<string> {
    return this.#call(async (s) => (await this.#openai.files.content(id, { signal: s })).text());
  }
}

function batchInfo(b: OpenAI.Batches.Batch): BatchInfo {
  return {
    id: b.id,
    status: b.status,
    inputFileId: b.input_file_id,
    outputFileId: b.output_file_id ?? null,
    errorFileId: b.error_file_id ?? null,
    counts: { total: b.request_counts?.total ?? 0, completed: b.request_counts?.completed ?? 0, failed: b.request_counts?.failed ?? 0 },
  };
}

/** Checks that a body is a chat completion with text; anything else is a broken response worth a retry. */
export function parseCompletion(body: unknown): ChatResult {
  const c = body as Partial<OpenAI.Chat.Completions.ChatCompletion> | null;
  const choice = c?.choices?.[0];
  const text = choice?.message?.content;
  if (!c || typeof c !== 'object' || typeof text !== 'string') {
    throw new TeacherError('malformed', 'the endpoint answered without a message (not a chat completion); retrying');
  }
  return {
    text,
    model: typeof c.model === 'string' ? c.model : '',
    usage: { prompt_tokens: c.usage?.prompt_tokens ?? 0, completion_tokens: c.usage?.completion_tokens ?? 0 },
    finishReason: choice?.finish_reason ?? null,
  };
}
