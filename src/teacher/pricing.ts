// The cost meter: USD per million tokens, editable in Teacher settings. A model without a price costs 0 and
// is reported as unpriced, so a budget cap never silently ignores it.
import { remainingRequests } from './prompts';
import type { ChatMessage, ChatRequest, JobItem, JobSpec, PriceTable, Usage } from './types';

export const DEFAULT_PRICES: PriceTable = {
  'gpt-4': { input: 30, output: 60 },
  'gpt-4-32k': { input: 60, output: 120 },
  'gpt-4-turbo': { input: 10, output: 30 },
  'gpt-4o': { input: 2.5, output: 10 },
  'gpt-4o-mini': { input: 0.15, output: 0.6 },
  'gpt-4.1': { input: 2, output: 8 },
  'gpt-4.1-mini': { input: 0.4, output: 1.6 },
  'gpt-3.5-turbo': { input: 0.5, output: 1.5 },
};

/** The Batch API bills half. */
export const BATCH_DISCOUNT = 0.5;

/** The price of a model: exact name, else the longest table entry it starts with ("gpt-4-0613" -> "gpt-4"). */
export function priceOf(prices: PriceTable, model: string): { input: number; output: number } | null {
  if (Object.hasOwn(prices, model)) return prices[model];
  let best: string | null = null;
  for (const name of Object.keys(prices)) {
    if (model.startsWith(name) && (best === null || name.length > best.length)) best = name;
  }
  return best === null ? null : prices[best];
}

export function costOf(prices: PriceTable, model: string, usage: Usage, batch = false): number {
  const p = priceOf(prices, model);
  if (!p) return 0;
  return ((usage.prompt_tokens * p.input + usage.completion_tokens * p.output) / 1e6) * (batch ? BATCH_DISCOUNT : 1);
}

/**
 * Tokens a text is likely to take with GPT-4's tokenizer: about 4 characters a token for Latin script, a token
 * for each CJK character. An estimate for budgets and previews; the endpoint's usage is what gets billed.
 */
export function estimateTokens(text: string): number {
  const cjk = text.match(/[\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef]/g)?.length ?? 0;
  return cjk + Math.ceil((text.length - cjk) / 4);
}

/** A chat request's prompt tokens: its messages plus the few tokens each message and the reply are framed with. */
export function estimatePromptTokens(messages: readonly ChatMessage[]): number {
  return 3 + messages.reduce((n, m) => n + 4 + estimateTokens(m.content), 0);
}

/** The most a request should cost: its prompt as estimated, and an answer as long as its max_tokens allows. */
export function requestCostBound(prices: PriceTable, request: ChatRequest, batch = false): number {
  const usage = { prompt_tokens: estimatePromptTokens(request.messages), completion_tokens: request.params.max_tokens };
  return costOf(prices, request.model, usage, batch);
}

export interface CostEstimate {
  /** Requests still to send (answers already in the request cache are not known here: they cost nothing). */
  requests: number;
  promptTokens: number;
  /** USD for the prompts alone, and with every answer max_tokens long: what the rest of the job costs lies between. */
  promptUSD: number;
  maxUSD: number;
  /** Models with no price in the table: counted as free, so say so beside the estimate. */
  unpriced: string[];
}

/** What a job's pending rows will cost, before it starts or resumes. */
export function estimateCost(spec: JobSpec, items: readonly JobItem[]): CostEstimate {
  const batch = spec.mode === 'batch';
  const out: CostEstimate = { requests: 0, promptTokens: 0, promptUSD: 0, maxUSD: 0, unpriced: [] };
  const unpriced = new Set<string>();
  for (const item of items) {
    for (const request of remainingRequests(spec, item)) {
      const tokens = estimatePromptTokens(request.messages);
      out.requests++;
      out.promptTokens += tokens;
      out.promptUSD += costOf(spec.prices, request.model, { prompt_tokens: tokens, completion_tokens: 0 }, batch);
      out.maxUSD += requestCostBound(spec.prices, request, batch);
      if (!priceOf(spec.prices, request.model)) unpriced.add(request.model);
    }
  }
  out.unpriced = [...unpriced];
  return out;
}

/** Dollars as the studio shows them: four decimals under a dollar, two above. */
export const usd = (x: number) => `$${x < 1 ? x.toFixed(4) : x.toFixed(2)}`;

/** Why a job stopped at its budget, and what to raise it to: enough for the next request, and for the whole rest. */
export function budgetMessage(budget: number, spent: number, next: number, rest: number): string {
  return `Stopped before passing the budget of ${usd(budget)}: ${usd(spent)} spent, and the next request may cost up to ${usd(next)}. `
    + `Raise the budget to at least ${usd(spent + next)} to go on (${usd(spent + rest)} covers every remaining row at most), then resume.`;
}
