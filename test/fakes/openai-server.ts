// A fake OpenAI-compatible server on 127.0.0.1 for unit and browser tests: chat completions, models, files
// and batches, with injected faults (429 with Retry-After, 500, slow answers, dropped connections, broken
// JSON) and a count of completed requests per unique prompt, so tests can prove nothing was paid twice.
// Answers are derived from the prompt, so a test can say exactly what every row must contain. Feedback prompts
// (GPT-4-LLM's "rate this response 1-10") get a verdict: the score a response asks for with "[[score:N]]"
// ("[[score:none]]" for a verdict without one), else a score from 1 to 10 drawn from the prompt's digest.
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mulberry32 } from '../../src/data/split';

export type FaultKind = 'rate_limit' | 'server_error' | 'slow' | 'drop' | 'malformed';

export interface FakeOptions {
  /** The key the server accepts; other keys get 401 with the key echoed back (as some proxies do). */
  apiKey?: string;
  /** Share of chat requests that get a fault, drawn from `kinds` (default: all five). */
  faultRate?: number;
  faultKinds?: FaultKind[];
  seed?: number;
  /** Delay of a `slow` answer, and of every answer when `latencyMs` is set. */
  slowMs?: number;
  latencyMs?: number;
  /** What 429 answers ask for (sent as retry-after-ms, and rounded up as retry-after seconds). */
  retryAfterMs?: number;
  /** Send only the standard Retry-After header (whole seconds), not retry-after-ms. */
  secondsOnly?: boolean;
  /** Batch: GETs a batch needs before it completes; share of its lines that go to the error file. */
  batchPolls?: number;
  batchErrorRate?: number;
  /** Replaces the answer to these messages (`usual` is what fakeAnswer gives), e.g. to change a verdict on a retry. */
  answer?: (messages: { role: string; content: string }[], usual: string) => string;
}

interface ChatBody {
  model?: string;
  messages?: { role: string; content: string }[];
  max_tokens?: number;
}

interface StoredFile {
  id: string;
  filename: string;
  purpose: string;
  content: string;
}

interface FakeBatch {
  id: string;
  input_file_id: string;
  status: string;
  polls: number;
  output_file_id: string | null;
  error_file_id: string | null;
  metadata: Record<string, string> | null;
  request_counts: { total: number; completed: number; failed: number };
  created_at: number;
}

const TRANSLATE_MARK = 'Translate the following text into Simplified Chinese.';
const FEEDBACK_MARK = 'We would like to request your feedback on the performance of AI assistant in response';

/** The unique-prompt key requests are counted under. */
export function promptKey(messages: { role: string; content: string }[]): string {
  return JSON.stringify(messages.map((m) => [m.role, m.content]));
}

/** The answer the fake gives for these messages: a translation marker for translation prompts, a verdict for
 * feedback prompts, else a digest. */
export function fakeAnswer(messages: { role: string; content: string }[]): string {
  const user = messages.filter((m) => m.role === 'user').at(-1)?.content ?? '';
  if (user.startsWith(TRANSLATE_MARK)) return `【译】${user.slice(user.indexOf('\n\n') + 2)}`;
  const digest = createHash('sha256').update(promptKey(messages)).digest('hex').slice(0, 12);
  if (user.includes(FEEDBACK_MARK)) {
    const response = user.slice(user.indexOf('### Response'), user.lastIndexOf('### End of Response'));
    const asked = /\[\[score:([^\]]+)\]\]/.exec(response)?.[1];
    if (asked === 'none') return 'I am unable to rate this response.\nIt does not address the question.';
    const score = asked ?? String(1 + (parseInt(digest.slice(0, 6), 16) % 10));
    return `${score}\nThe response is adequate (verdict ${digest}).`;
  }
  const chinese = messages.some((m) => m.role === 'system' && m.content.includes('Chinese'));
  return chinese ? `回答 ${digest}。` : `Answer ${digest}.`;
}

const tokens = (text: string) => Math.max(1, Math.ceil(text.length / 4));

function completion(body: ChatBody, id: string, answer?: FakeOptions['answer']) {
  const messages = body.messages ?? [];
  const usual = fakeAnswer(messages);
  const text = answer ? answer(messages, usual) : usual;
  return {
    id, object: 'chat.completion', created: 1_700_000_000, model: body.model ?? 'fake',
    choices: [{ index: 0, message: { role: 'assistant', content: text }, finish_reason: 'stop' }],
    usage: {
      prompt_tokens: tokens(messages.map((m) => m.content).join('')),
      completion_tokens: tokens(text),
      total_tokens: tokens(messages.map((m) => m.content).join('')) + tokens(text),
    },
  };
}

export class FakeOpenAI {
  /** Base URL to give the client, ending in /v1. */
  url = '';
  /** Completed chat completions (a full, valid answer delivered) per unique prompt, batch lines included. */
  readonly completed = new Map<string, number>();
  /** Every chat request received, by prompt, faults included. */
  readonly received = new Map<string, number>();
  readonly faults: Record<FaultKind, number> = { rate_limit: 0, server_error: 0, slow: 0, drop: 0, malformed: 0 };
  /** Authorization headers seen (to prove the key is sent only here). */
  readonly authHeaders = new Set<string>();
  readonly files = new Map<string, StoredFile>();
  readonly batches = new Map<string, FakeBatch>();
  options: FakeOptions;
  #server: Server;
  #rng: () => number;
  #ids = 0;
  #holdAfter = Infinity;
  #held: (() => void)[] = [];

  constructor(options: FakeOptions = {}) {
    this.options = options;
    this.#rng = mulberry32(options.seed ?? 1);
    this.#server = createServer((req, res) => void this.#handle(req, res));
  }

  async listen(): Promise<this> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}/v1`;
    return this;
  }

  async close(): Promise<void> {
    this.release();
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  get completedTotal(): number {
    let n = 0;
    for (const c of this.completed.values()) n += c;
    return n;
  }

  /** Prompts answered more than once: what a client that pays twice would show. */
  duplicates(): [string, number][] {
    return [...this.completed].filter(([, n]) => n > 1);
  }

  /** Once `n` chat requests have completed, hold every new one until release(). */
  holdAfter(n: number): void {
    this.#holdAfter = n;
  }

  get heldCount(): number {
    return this.#held.length;
  }

  release(): void {
    this.#holdAfter = Infinity;
    for (const go of this.#held.splice(0)) go();
  }

  #nextId(prefix: string): string {
    return `${prefix}-${++this.#ids}`;
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    res.setHeader('access-control-allow-origin', '*');
    res.setHeader('access-control-expose-headers', 'retry-after, retry-after-ms, x-request-id');
    if (req.method === 'OPTIONS') {
      res.writeHead(204, {
        'access-control-allow-methods': 'GET, POST, OPTIONS',
        'access-control-allow-headers': req.headers['access-control-request-headers'] ?? '*',
        'access-control-max-age': '600',
      });
      res.end();
      return;
    }
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const path = url.pathname.replace(/^\/v1/, '');
    const body = await readBody(req);
    const auth = req.headers.authorization ?? '';
    this.authHeaders.add(auth);
    if (this.options.apiKey !== undefined && auth !== `Bearer ${this.options.apiKey}`) {
      return json(res, 401, { error: { message: `Incorrect API key provided: ${auth.replace(/^Bearer /, '')}.`, type: 'invalid_request_error', code: 'invalid_api_key' } });
    }
    if (req.method === 'GET' && path === '/models') {
      return json(res, 200, { object: 'list', data: ['gpt-4', 'gpt-3.5-turbo'].map((id) => ({ id, object: 'model', created: 0, owned_by: 'fake' })) });
    }
    if (req.method === 'POST' && path === '/chat/completions') return this.#chat(req, res, JSON.parse(body.toString('utf8')) as ChatBody);
    if (req.method === 'POST' && path === '/files') return this.#upload(req, res, body);
    const file = /^\/files\/([^/]+)(\/content)?$/.exec(path);
    if (req.method === 'GET' && file) {
      const f = this.files.get(file[1]);
      if (!f) return json(res, 404, { error: { message: `No such file: ${file[1]}` } });
      if (file[2]) {
        res.writeHead(200, { 'content-type': 'application/octet-stream' });
        res.end(f.content);
        return;
      }
      return json(res, 200, fileObject(f));
    }
    if (req.method === 'POST' && path === '/batches') return this.#createBatch(res, JSON.parse(body.toString('utf8')));
    if (req.method === 'GET' && path === '/batches') {
      return json(res, 200, { object: 'list', data: [...this.batches.values()].reverse().map(batchObject), has_more: false });
    }
    const batch = /^\/batches\/([^/]+)$/.exec(path);
    if (req.method === 'GET' && batch) return this.#pollBatch(res, batch[1]);
    return json(res, 404, { error: { message: `no route ${req.method} ${path}` } });
  }

  async #chat(req: IncomingMessage, res: ServerResponse, body: ChatBody): Promise<void> {
    const key = promptKey(body.messages ?? []);
    this.received.set(key, (this.received.get(key) ?? 0) + 1);
    if (body.model?.startsWith('missing-')) {
      return json(res, 404, { error: { message: `The model \`${body.model}\` does not exist`, type: 'invalid_request_error', code: 'model_not_found' } });
    }
    if (this.completedTotal >= this.#holdAfter) await new Promise<void>((go) => this.#held.push(go));
    const { faultRate = 0, faultKinds = ['rate_limit', 'server_error', 'slow', 'drop', 'malformed'] } = this.options;
    const fault = this.#rng() < faultRate ? faultKinds[Math.floor(this.#rng() * faultKinds.length)] : null;
    if (fault) this.faults[fault]++;
    const delay = (fault === 'slow' ? this.options.slowMs ?? 300 : 0) + (this.options.latencyMs ?? 0);
    if (delay) await new Promise((r) => setTimeout(r, delay));
    if (res.destroyed || req.socket.destroyed) return; // the client gave up (timeout, cancel, killed)
    if (fault === 'drop') {
      req.socket.destroy();
      return;
    }
    if (fault === 'rate_limit') {
      const ms = this.options.retryAfterMs ?? 50;
      const headers: Record<string, string> = { 'retry-after': String(Math.ceil(ms / 1000)) };
      if (!this.options.secondsOnly) headers['retry-after-ms'] = String(ms);
      return json(res, 429, { error: { message: 'Rate limit reached for requests', type: 'requests', code: 'rate_limit_exceeded' } }, headers);
    }
    if (fault === 'server_error') return json(res, 500, { error: { message: 'The server had an error while processing your request.', type: 'server_error' } });
    if (fault === 'malformed') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"id": "chatcmpl-broken", "object": "chat.completion", "choices": [{"index": 0, "message": {"role": "assis');
      return;
    }
    const payload = JSON.stringify(completion(body, this.#nextId('chatcmpl'), this.options.answer));
    res.writeHead(200, { 'content-type': 'application/json', 'x-request-id': this.#nextId('req') });
    res.end(payload, () => {
      this.completed.set(key, (this.completed.get(key) ?? 0) + 1);
    });
  }

  async #upload(req: IncomingMessage, res: ServerResponse, body: Buffer): Promise<void> {
    const form = await new Response(new Uint8Array(body), { headers: { 'content-type': req.headers['content-type'] ?? '' } }).formData();
    const file = form.get('file');
    if (!(file instanceof Blob)) return json(res, 400, { error: { message: 'file is required' } });
    const stored: StoredFile = {
      id: this.#nextId('file'),
      filename: (file as File).name ?? 'upload.jsonl',
      purpose: String(form.get('purpose') ?? ''),
      content: await file.text(),
    };
    this.files.set(stored.id, stored);
    return json(res, 200, fileObject(stored));
  }

  #createBatch(res: ServerResponse, body: { input_file_id: string; endpoint: string; metadata?: Record<string, string> }): void {
    const input = this.files.get(body.input_file_id);
    if (!input) return json(res, 400, { error: { message: `No such file: ${body.input_file_id}` } });
    const total = input.content.split('\n').filter((l) => l.trim()).length;
    const batch: FakeBatch = {
      id: this.#nextId('batch'), input_file_id: input.id, status: 'validating', polls: 0,
      output_file_id: null, error_file_id: null, metadata: body.metadata ?? null,
      request_counts: { total, completed: 0, failed: 0 }, created_at: 1_700_000_000,
    };
    this.batches.set(batch.id, batch);
    return json(res, 200, batchObject(batch));
  }

  #pollBatch(res: ServerResponse, id: string): void {
    const batch = this.batches.get(id);
    if (!batch) return json(res, 404, { error: { message: `No such batch: ${id}` } });
    batch.polls++;
    if (batch.status === 'validating') batch.status = 'in_progress';
    else if (batch.status === 'in_progress' && batch.polls >= (this.options.batchPolls ?? 2)) this.#runBatch(batch);
    return json(res, 200, batchObject(batch));
  }

  #runBatch(batch: FakeBatch): void {
    const out: string[] = [], errors: string[] = [];
    for (const line of this.files.get(batch.input_file_id)!.content.split('\n')) {
      if (!line.trim()) continue;
      const request = JSON.parse(line) as { custom_id: string; body: ChatBody };
      const key = promptKey(request.body.messages ?? []);
      this.received.set(key, (this.received.get(key) ?? 0) + 1);
      if (this.#rng() < (this.options.batchErrorRate ?? 0)) {
        errors.push(JSON.stringify({
          id: this.#nextId('batch_req'), custom_id: request.custom_id,
          response: { status_code: 500, request_id: this.#nextId('req'), body: { error: { message: 'The server had an error.', type: 'server_error' } } },
          error: null,
        }));
        continue;
      }
      this.completed.set(key, (this.completed.get(key) ?? 0) + 1);
      out.push(JSON.stringify({
        id: this.#nextId('batch_req'), custom_id: request.custom_id,
        response: { status_code: 200, request_id: this.#nextId('req'), body: completion(request.body, this.#nextId('chatcmpl'), this.options.answer) },
        error: null,
      }));
    }
    const store = (lines: string[], name: string) => {
      if (!lines.length) return null;
      const f: StoredFile = { id: this.#nextId('file'), filename: name, purpose: 'batch_output', content: lines.join('\n') + '\n' };
      this.files.set(f.id, f);
      return f.id;
    };
    batch.output_file_id = store(out, `${batch.id}_output.jsonl`);
    batch.error_file_id = store(errors, `${batch.id}_error.jsonl`);
    batch.request_counts = { total: out.length + errors.length, completed: out.length, failed: errors.length };
    batch.status = 'completed';
  }
}

export async function startFakeOpenAI(options: FakeOptions = {}): Promise<FakeOpenAI> {
  return new FakeOpenAI(options).listen();
}

function fileObject(f: StoredFile) {
  return { id: f.id, object: 'file', bytes: Buffer.byteLength(f.content), created_at: 1_700_000_000, filename: f.filename, purpose: f.purpose, status: 'processed' };
}

function batchObject(b: FakeBatch) {
  return {
    id: b.id, object: 'batch', endpoint: '/v1/chat/completions', errors: null, input_file_id: b.input_file_id,
    completion_window: '24h', status: b.status, output_file_id: b.output_file_id, error_file_id: b.error_file_id,
    created_at: b.created_at, request_counts: b.request_counts, metadata: b.metadata,
  };
}

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.destroyed) return;
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

