// The cost meter: USD per million tokens, editable in Teacher settings. A model without a price costs 0 and
// is reported as unpriced, so a budget cap never silently ignores it.
import type { PriceTable, Usage } from './types';

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
