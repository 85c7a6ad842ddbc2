// The playground: a prompt (chat, Alpaca or raw), sampling settings, and n samples streamed side by side.
// Inputs survive errors and new runs; only the samples are replaced when a run starts.
import { getContext, setContext } from 'svelte';
import type { GenerateRequest, GenerateResult, PromptMode, Sample, TokenEvent } from '../../engine/api';
import type { EngineState } from './engine.svelte';
import { messageOf } from '../lib/message';

export class PromptIdsError extends Error {
  override name = 'PromptIdsError';
  constructor(detail: string, hint = 'This model has no tokenizer: enter the prompt as comma-separated token ids, e.g. 1, 461, 401.') {
    super(`${detail}. ${hint}`);
  }
}

/** Parses "1, 461, 401" (commas and/or spaces) into token ids below the vocabulary size V. */
export function parseIds(text: string, V: number): number[] {
  const parts = text.split(/[\s,]+/).filter(Boolean);
  if (!parts.length) throw new PromptIdsError('The prompt is empty');
  return parts.map((part) => {
    if (!/^\d+$/.test(part)) throw new PromptIdsError(`"${part}" is not a token id`);
    if (Number(part) >= V) throw new PromptIdsError(`Token id ${part} is out of range`, `This model's vocabulary has ids 0 to ${V - 1}.`);
    return Number(part);
  });
}

/** One streamed sample: its tokens so far, and when they came (for tokens/s). */
export class SampleView {
  constructor(readonly seed: number) {}
  text = $state('');
  ids = $state.raw<number[]>([]);
  finishReason = $state<Sample['finishReason'] | null>(null);
  private firstTokenAt = 0;
  private lastTokenAt = $state(0);

  add(event: TokenEvent, now: number): void {
    // Token events travel on their own message port, so the last ones may arrive after the result: it wins.
    if (this.finishReason !== null) return;
    if (!this.ids.length) this.firstTokenAt = now;
    this.lastTokenAt = now;
    this.ids = [...this.ids, event.id];
    this.text = event.text;
  }

  finish(sample: Sample): void {
    this.ids = sample.ids;
    this.text = sample.text;
    this.finishReason = sample.finishReason;
  }

  /** Decode rate of this sample, measured between its first and last streamed token. */
  tokensPerSecond = $derived(
    this.ids.length > 1 && this.lastTokenAt > this.firstTokenAt
      ? ((this.ids.length - 1) * 1000) / (this.lastTokenAt - this.firstTokenAt)
      : null,
  );
}

export class PlaygroundState {
  chosenMode = $state<PromptMode>('chat');
  /** Chat message, raw text, or comma-separated ids when the model has no tokenizer. */
  prompt = $state('');
  instruction = $state('');
  input = $state('');
  temperature = $state(0.7);
  topK = $state(40);
  topP = $state(0.95);
  seed = $state(42);
  n = $state(2);
  maxNewTokens = $state(128);
  /** One stop string per line. */
  stop = $state('');

  samples = $state<SampleView[]>([]);
  result = $state.raw<GenerateResult | null>(null);
  running = $state(false);
  cancelling = $state(false);
  error = $state<string | null>(null);

  constructor(protected readonly engine: EngineState) {}

  /** Without a tokenizer only raw ids work; chat needs the model's chat template. */
  availableModes = $derived.by((): PromptMode[] => {
    const model = this.engine.model;
    if (!model || !model.hasTokenizer) return ['raw'];
    return model.hasChatTemplate ? ['chat', 'alpaca', 'raw'] : ['alpaca', 'raw'];
  });
  mode = $derived(this.availableModes.includes(this.chosenMode) ? this.chosenMode : this.availableModes[0]);
  // $derived.by: the engine is a constructor parameter, read lazily.
  takesIds = $derived.by(() => this.engine.model !== null && !this.engine.model.hasTokenizer);
  canGenerate = $derived.by(() => this.engine.model !== null && !this.engine.loading && !this.running);

  /** Generates with the adapter slot the UI applies, or with `adapter` (null: the base model). */
  async generate(adapter = this.engine.adapterSlot): Promise<void> {
    if (!this.canGenerate) return;
    // Claimed before the first await, so a second Ctrl+Enter cannot start a second run.
    this.running = true;
    this.error = null;
    try {
      const blocker = await this.blocker();
      if (blocker) throw new Error(blocker);
      // A bad setting throws here, before the samples shown are replaced.
      const request: GenerateRequest = { ...this.request(), adapter };
      const samples = Array.from({ length: request.n }, (_, s) => new SampleView(request.sampling.seed + s));
      this.samples = samples;
      this.result = null;
      const result = await this.decode(request, (event) => samples[event.sample]?.add(event, performance.now()));
      result.samples.forEach((sample, i) => samples[i]?.finish(sample));
      this.result = result;
    } catch (error) {
      this.error = messageOf(error);
    } finally {
      this.running = false;
      this.cancelling = false;
    }
  }

  async cancel(): Promise<void> {
    if (!this.running || this.cancelling) return;
    this.cancelling = true;
    try {
      await this.engine.engine.cancel();
    } catch (error) {
      this.error = messageOf(error);
    }
  }

  /** Why a run cannot start although a model is loaded (a page that needs more says what), or null. */
  protected async blocker(): Promise<string | null> {
    return null;
  }

  /** Decodes the samples of a run; the Rerank page's state also scores them. */
  protected decode(request: GenerateRequest, onToken: (event: TokenEvent) => void): Promise<GenerateResult> {
    return this.engine.engine.generate(request, onToken);
  }

  protected request(): GenerateRequest {
    const sampling = { temperature: this.temperature, topK: this.topK, topP: this.topP, seed: this.seed };
    checkNumber('Temperature', sampling.temperature, 0, 10);
    checkNumber('Top-k', sampling.topK, 0, 1e6, true);
    checkNumber('Top-p', sampling.topP, 0, 1);
    checkNumber('Seed', sampling.seed, 0, 2 ** 32 - 1, true);
    checkNumber('Samples', this.n, 1, 16, true);
    checkNumber('Max new tokens', this.maxNewTokens, 1, 1e6, true);
    const stop = this.stop.split('\n').filter((s) => s.length > 0);
    const base = { n: this.n, maxNewTokens: this.maxNewTokens, sampling, stop };
    const model = this.engine.model;
    if (model && !model.hasTokenizer) return { ...base, prompts: [{ ids: parseIds(this.prompt, model.config.vocabSize) }] };
    if (this.mode === 'alpaca') {
      if (!this.instruction.trim()) throw new Error('Enter an instruction (the input field is optional).');
      return { ...base, prompts: [{ text: this.instruction, input: this.input, mode: 'alpaca' }] };
    }
    if (!this.prompt.trim()) throw new Error('Enter a prompt first.');
    return { ...base, prompts: [{ text: this.prompt, mode: this.mode }] };
  }
}

function checkNumber(label: string, value: number, min: number, max: number, integer = false): void {
  if (!Number.isFinite(value) || value < min || value > max || (integer && !Number.isInteger(value))) {
    throw new Error(`${label} must be ${integer ? 'a whole number' : 'a number'} from ${min} to ${max}.`);
  }
}

const key = Symbol('playground-state');

export function setPlaygroundState(state: PlaygroundState): PlaygroundState {
  return setContext(key, state);
}

export function usePlaygroundState(): PlaygroundState {
  return getContext<PlaygroundState>(key);
}
