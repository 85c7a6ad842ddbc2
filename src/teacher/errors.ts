// Teacher errors: one class, a kind that decides retry or stop, and a message that never carries the key.
import OpenAI from 'openai';

export type TeacherErrorKind =
  | 'rate_limit' // 429: wait (Retry-After when given) and retry
  | 'server' // 5xx: retry with backoff
  | 'timeout' // no answer in time: retry
  | 'network' // connection refused or dropped: retry
  | 'malformed' // an answer that is not a chat completion: retry
  | 'auth' // 401/403: the key is wrong, stop the job
  | 'request' // 400/404/422: this request will never work, the row fails
  | 'aborted'; // cancelled by the user

const RETRYABLE: ReadonlySet<TeacherErrorKind> = new Set(['rate_limit', 'server', 'timeout', 'network', 'malformed']);

export class TeacherError extends Error {
  override name = 'TeacherError';
  constructor(
    readonly kind: TeacherErrorKind,
    message: string,
    readonly status?: number,
    /** What the endpoint asked us to wait before retrying (Retry-After / retry-after-ms). */
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }

  get retryable(): boolean {
    return RETRYABLE.has(this.kind);
  }
}

/** Anything shaped like an API key, for text that might echo one we were not given (a proxy's error page). */
const KEY_LIKE = /\b(sk-[A-Za-z0-9_-]{3})[A-Za-z0-9_*.-]{8,}/g;

/** Removes the key (and anything that looks like a key or a bearer token) from text shown or stored. */
export function redact(text: string, secrets: readonly string[] = []): string {
  let out = text;
  for (const s of secrets) if (s.length >= 4) out = out.split(s).join('[redacted key]');
  return out.replace(KEY_LIKE, '$1…[redacted]').replace(/(Bearer\s+)[^\s"',]+/gi, '$1[redacted]');
}

/** Parses Retry-After (seconds or an HTTP date) and the retry-after-ms extension. */
export function retryAfterMs(headers: Headers | undefined, now = Date.now()): number | undefined {
  if (!headers) return undefined;
  const ms = headers.get('retry-after-ms');
  if (ms !== null && Number.isFinite(Number(ms)) && Number(ms) >= 0) return Number(ms);
  const value = headers.get('retry-after');
  if (value === null) return undefined;
  if (/^\s*\d+(\.\d+)?\s*$/.test(value)) return Number(value) * 1000;
  const date = Date.parse(value);
  return Number.isFinite(date) ? Math.max(0, date - now) : undefined;
}

/** Maps whatever the SDK or fetch threw to a TeacherError with a redacted message that says what to do. */
export function toTeacherError(error: unknown, secrets: readonly string[], timedOut = false): TeacherError {
  if (error instanceof TeacherError) return error;
  const raw = error instanceof Error ? error.message : String(error);
  const msg = redact(raw, secrets);
  if (timedOut) return new TeacherError('timeout', 'the endpoint did not answer in time; retrying');
  if (error instanceof OpenAI.APIUserAbortError) return new TeacherError('aborted', 'cancelled');
  if (error instanceof OpenAI.APIConnectionTimeoutError) return new TeacherError('timeout', 'the endpoint did not answer in time; retrying');
  if (error instanceof OpenAI.APIConnectionError) {
    return new TeacherError('network', `could not reach the endpoint (${msg}): check the base URL and your connection`);
  }
  if (error instanceof OpenAI.APIError) {
    const status = error.status ?? 0;
    const wait = retryAfterMs(error.headers ?? undefined);
    if (status === 401 || status === 403) {
      return new TeacherError('auth', `the endpoint rejected the API key (${status}: ${msg}): check the key in Teacher settings`, status);
    }
    if (status === 429) return new TeacherError('rate_limit', `rate limited (${msg})`, status, wait);
    if (status >= 500) return new TeacherError('server', `server error ${status} (${msg})`, status, wait);
    if (status === 408 || status === 409) return new TeacherError('server', `temporary error ${status} (${msg})`, status, wait);
    if (status === 404) {
      return new TeacherError('request', `not found (${msg}): check the model name and that the base URL ends in /v1`, status);
    }
    return new TeacherError('request', `the endpoint refused the request (${status}: ${msg})`, status);
  }
  if (error instanceof SyntaxError) return new TeacherError('malformed', `the endpoint sent a broken response (${msg}); retrying`);
  if (error instanceof TypeError) return new TeacherError('network', `the connection failed (${msg}); retrying`);
  return new TeacherError('malformed', `unexpected failure (${msg})`);
}
