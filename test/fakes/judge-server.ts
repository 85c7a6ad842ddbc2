// A fake OpenAI-compatible judge on 127.0.0.1. It reads the two answers out of a judge prompt (the Vicuna
// reviewer's "Assistant 1/2" template or pair-v2's "Assistant A/B") and replies the way GPT-4 would, from a
// "[quality N]" mark in each answer: the two scores on the first line, or [[A]] / [[B]] / [[C]]. A position
// bias can be added to the answer shown first (so tests can see that judging both orders cancels it), an
// answer marked "[garble]" gets a reply no parser can read, and the first requests can be refused with 429.
// Every chat request is counted, so a test can prove that a rerun sends none.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface JudgeServerOptions {
  /** The key the server accepts; any other gets 401 with the key it was sent echoed back. */
  apiKey?: string;
  /** Added to the score of the answer shown first (Vicuna reviewer replies only). */
  firstBias?: number;
  /** The first n chat requests get 429 with retry-after-ms. */
  rateLimitFirst?: number;
}

export interface JudgeServer {
  /** Base URL ending in /v1. */
  url: string;
  /** Chat requests received, faults included. */
  requests: number;
  /** Every request body's messages, in order. */
  bodies: { role: string; content: string }[][];
  options: JudgeServerOptions;
  close(): Promise<void>;
}

const between = (text: string, start: string, end: string) => {
  const i = text.indexOf(start);
  const j = text.indexOf(end, i + start.length);
  return i < 0 || j < 0 ? '' : text.slice(i + start.length, j);
};

const quality = (answer: string) => Number(/\[quality (\d+)\]/.exec(answer)?.[1] ?? 5);

/** The reply the fake judge gives to one prompt. */
export function judgeReply(user: string, firstBias = 0): string {
  const vicuna = user.includes("[The Start of Assistant 1's Answer]");
  const [first, second] = vicuna
    ? [between(user, "[The Start of Assistant 1's Answer]", "[The End of Assistant 1's Answer]"),
      between(user, "[The Start of Assistant 2's Answer]", "[The End of Assistant 2's Answer]")]
    : [between(user, "[The Start of Assistant A's Answer]", "[The End of Assistant A's Answer]"),
      between(user, "[The Start of Assistant B's Answer]", "[The End of Assistant B's Answer]")];
  if (first.includes('[garble]') || second.includes('[garble]')) return 'Both assistants tried hard. I cannot decide on numbers today.';
  const q1 = quality(first) + (vicuna ? firstBias : 0), q2 = quality(second);
  if (vicuna) {
    if (user.includes('Python tuple')) return `Solving it myself first: the answer is 42.\nAssistant 1 is careful.\n(${q1}, ${q2})`;
    return `${q1} ${q2}\nAssistant 1 gave ${q1 > q2 ? 'the better' : 'a comparable'} answer.`;
  }
  return `Comparing the two responses. Final verdict: ${q1 > q2 ? '[[A]]' : q1 < q2 ? '[[B]]' : '[[C]]'}`;
}

export async function startJudgeServer(options: JudgeServerOptions = {}): Promise<JudgeServer> {
  const state: JudgeServer = { url: '', requests: 0, bodies: [], options, close: async () => {} };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
        res.writeHead(status, { 'content-type': 'application/json', 'access-control-allow-origin': '*', ...headers });
        res.end(JSON.stringify(body));
      };
      if (req.method === 'OPTIONS') {
        // A wildcard does not cover Authorization, so the requested headers are echoed back.
        res.writeHead(204, {
          'access-control-allow-origin': '*',
          'access-control-allow-methods': 'POST, OPTIONS',
          'access-control-allow-headers': req.headers['access-control-request-headers'] ?? '*',
        });
        res.end();
        return;
      }
      if (req.method !== 'POST' || !req.url?.endsWith('/chat/completions')) return send(404, { error: { message: `no route ${req.method} ${req.url}` } });
      state.requests++;
      const auth = req.headers.authorization ?? '';
      if (options.apiKey !== undefined && auth !== `Bearer ${options.apiKey}`) {
        return send(401, { error: { message: `Incorrect API key provided: ${auth.replace(/^Bearer /, '')}.`, code: 'invalid_api_key' } });
      }
      if (state.requests <= (options.rateLimitFirst ?? 0)) {
        return send(429, { error: { message: 'Rate limit reached' } }, { 'retry-after-ms': '10', 'access-control-expose-headers': 'retry-after-ms' });
      }
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { model: string; messages: { role: string; content: string }[] };
      state.bodies.push(body.messages);
      const user = body.messages.find((m) => m.role === 'user')?.content ?? '';
      const text = judgeReply(user, options.firstBias ?? 0);
      send(200, {
        id: `chatcmpl-${state.requests}`, object: 'chat.completion', created: 1_700_000_000, model: body.model,
        choices: [{ index: 0, message: { role: 'assistant', content: text }, finish_reason: 'stop' }],
        usage: { prompt_tokens: Math.ceil(user.length / 4), completion_tokens: Math.ceil(text.length / 4), total_tokens: 0 },
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  state.close = async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return state;
}
