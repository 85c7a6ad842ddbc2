// The request cache key: a SHA-256 of (base URL, model, messages, params). The same request to the same
// endpoint is answered from the cache, so rerunning a job, or a crash after the answer arrived, costs nothing.
import { normalizeBaseURL } from './client';
import type { ChatRequest } from './types';

export async function requestKey(baseURL: string, request: ChatRequest): Promise<string> {
  const { temperature, top_p, max_tokens } = request.params;
  const canonical = JSON.stringify([
    normalizeBaseURL(baseURL),
    request.model,
    request.messages.map((m) => [m.role, m.content]),
    { max_tokens, temperature, top_p },
  ]);
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(canonical));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
}
