// The engine's request data made ready for a run: instruction rows or pairs tokenized with their template (or
// taken pre-tokenized), and adapters checked for non-finite values before they reach the GPU.
import { rewardHeadTensor } from '../model/architecture';
import type { ModelConfig } from '../model/config';
import { NonFiniteWeightsError } from '../model/errors';
import type { LoraAdapter } from '../model/lora';
import type { TextTokenizer } from '../tokenizer/tokenizer';
import { alpacaExample, chatExample, type TrainExample } from '../train/data';
import { pairExample, type PairExample } from '../train/pairs';
import { peftKey, peftTensorKey } from '../train/peft';
import type { RewardTrainRequest, TrainRequest } from './api';

/** Refuses an adapter holding NaN or Inf, naming the tensor by its PEFT key. */
export function checkFinite(adapter: LoraAdapter, architecture: ModelConfig['architecture']): void {
  const tensors = adapter.modules.flatMap((m) => [
    [peftKey(m.layer, m.target, 'A', architecture), m.A] as const,
    [peftKey(m.layer, m.target, 'B', architecture), m.B] as const,
  ]);
  if (adapter.score) tensors.push([peftTensorKey(rewardHeadTensor(architecture)), adapter.score]);
  for (const [name, values] of tensors) {
    const bad = values.findIndex((x) => !Number.isFinite(x));
    if (bad >= 0) throw new NonFiniteWeightsError(name, 'the adapter', bad, 'Load a different adapter, or retrain it with a lower learning rate.');
  }
}

/** A run's examples; `tokenizer` is asked for only when the rows are text. */
export function requestExamples(tokenizer: () => TextTokenizer, request: TrainRequest): { examples: TrainExample[]; truncated: number } {
  if ('examples' in request.data) return { examples: request.data.examples, truncated: 0 };
  const make = request.data.format === 'chat' ? chatExample : alpacaExample;
  const { maxLen, trainOnInputs } = request;
  return counted(request.data.rows.map((row) => make(tokenizer(), row, { maxLen, trainOnInputs })), (examples) => ({ examples }));
}

/** A run's preference pairs (reward model, DPO); `margins` keeps score gaps. */
export function requestPairs(tokenizer: () => TextTokenizer, data: RewardTrainRequest['data'], maxLen: number, margins: boolean): { pairs: PairExample[]; truncated: number } {
  if ('pairs' in data) return { pairs: data.pairs, truncated: 0 };
  return counted(data.rows.map((row) => pairExample(tokenizer(), row, data.format, { maxLen, trainOnInputs: false, margins })), (pairs) => ({ pairs }));
}

function counted<X, R>(made: { example: X; truncated: boolean }[], wrap: (items: X[]) => R): R & { truncated: number } {
  return { ...wrap(made.map((m) => m.example)), truncated: made.filter((m) => m.truncated).length };
}
