// EngineApi: the one contract between the UI and the engine. The worker implements it (exposed with comlink),
// the CLI and tests use the same implementation in-process. Callbacks are comlink proxies across the worker.
import type { GpuInfo } from '../gpu/device';
import type { KernelCheck } from './kernel-checks';
import type { KernelReport } from './kernel-setup';
import type { ModelConfig } from '../model/config';
import type { LoraAdapter } from '../model/lora';
import type { MemoryGroup } from '../model/memory';
import type { InstructionRow, TrainExample } from '../train/data';
import type { PeftFiles } from '../train/peft';
import type { PairExample, PairRow } from '../train/pairs';
import type { Checkpoint, DpoSettings, RewardSettings, SftResult, SftSettings, TrainEvent } from '../train/run';

/** The adapter slot generation and training use unless a request names another. */
export const POLICY_SLOT = 'policy';
/** The slot a trained reward model goes to, and the one scoring and reranking read by default. */
export const REWARD_SLOT = 'reward';

export type ModelSource =
  /** Files the user picked or dropped (a folder's contents). */
  | { kind: 'files'; files: File[] }
  /** A Hugging Face Hub repo id, fetched through `endpoint` (default https://huggingface.co) and cached. */
  | { kind: 'hub'; id: string; endpoint?: string; revision?: string };

export interface LoadProgress {
  /** What is happening now, e.g. "downloading model.safetensors" or "uploading weights". */
  stage: string;
  loadedBytes: number;
  totalBytes: number;
  /** True when the bytes came from the local cache rather than the network. */
  fromCache?: boolean;
  /** 'steps' when loadedBytes and totalBytes count steps, not bytes (the kernel checks and timings). */
  unit?: 'steps';
}

export interface ModelInfo {
  label: string;
  config: ModelConfig;
  hasTokenizer: boolean;
  hasChatTemplate: boolean;
  parameterCount: number;
  weightDtype: 'f32' | 'f16';
  gpuBytes: number;
  /** The kernels checked and chosen for this model on this GPU, and any fallback. */
  kernels: KernelReport;
}

export interface SamplingParams {
  /** 0 means greedy. */
  temperature: number;
  /** 0 disables top-k. */
  topK: number;
  /** 1 disables top-p. */
  topP: number;
  seed: number;
}

export type PromptMode = 'chat' | 'alpaca' | 'raw';

export interface GenerateRequest {
  /** Token ids of each prompt, or text prompts formatted by `mode` (needs a tokenizer). */
  prompts: { ids: number[] }[] | { text: string; input?: string; mode: PromptMode }[];
  /** Samples per prompt; each sample s of prompt p uses seed `sampling.seed + s`. */
  n: number;
  maxNewTokens: number;
  sampling: SamplingParams;
  /** Generation of a sample ends when its text contains one of these. */
  stop?: string[];
  /** Decode past EOS (benchmarks want a fixed number of tokens). */
  ignoreEos?: boolean;
  /** The adapter slot to generate with; none (or null) is the base model. */
  adapter?: string | null;
}

export interface TokenEvent {
  /** Index into the flattened samples: prompt p, sample s -> p * n + s. */
  sample: number;
  id: number;
  /** The sample's decoded text so far (empty without a tokenizer). */
  text: string;
}

export interface Sample {
  prompt: number;
  seed: number;
  ids: number[];
  text: string;
  finishReason: 'eos' | 'stop' | 'length' | 'cancelled';
}

export interface GenerateResult {
  samples: Sample[];
  promptTokens: number;
  prefillTokensPerSecond: number;
  decodeTokensPerSecond: number;
  /** GPU work per decoded token (all samples decode in one pass per step). */
  dispatchesPerStep: number;
  submitsPerStep: number;
}

export interface LogitsResult {
  /** T x V, row-major. */
  logits: Float32Array;
  T: number;
  V: number;
}

export interface TrainRequest {
  /** Instruction rows (tokenized here with the prompt format) or pre-tokenized examples. */
  data: { rows: InstructionRow[]; format: 'alpaca' | 'chat' } | { examples: TrainExample[] };
  settings: SftSettings;
  maxLen: number;
  trainOnInputs: boolean;
  /** Continue a run from this checkpoint (same data and settings). */
  resume?: Checkpoint;
  /** The adapter slot the trained adapter goes to when the run finishes or pauses ("policy" by default). */
  slot?: string;
}

/** An adapter slot that holds an adapter. */
export interface AdapterSlotInfo {
  slot: string;
  rank: number;
  alpha: number;
  targets: string[];
}

/** A run's planned GPU memory: the model's weights and adapters plus the run's buffers, by kind. */
export interface MemoryReport {
  totalBytes: number;
  byGroup: Partial<Record<MemoryGroup, number>>;
  /** What the engine may use on this GPU. */
  budgetBytes: number;
  /** Whether the run recomputes activations in backward, and its activation bytes with and without doing so. */
  gradientCheckpointing: { on: boolean; activationBytesWith: number; activationBytesWithout: number };
}

export interface RewardTrainRequest {
  /** Pairs as text (tokenized here with the prompt format) or pre-tokenized pairs. */
  data: { rows: PairRow[]; format: 'alpaca' | 'chat' } | { pairs: PairExample[] };
  settings: RewardSettings;
  maxLen: number;
  /** Continue a run from this checkpoint (same data and settings). */
  resume?: Checkpoint;
  /** The slot the reward model goes to when the run finishes or pauses ("reward" by default). */
  slot?: string;
}

export interface DpoTrainRequest {
  /** Pairs as text (tokenized here with the prompt format) or pre-tokenized pairs. */
  data: RewardTrainRequest['data'];
  settings: DpoSettings;
  maxLen: number;
  /** The SFT adapter the policy starts from, and the reference is (frozen); without it both start as the base model. */
  start?: LoraAdapter;
  /** Continue a run from this checkpoint (same data, settings and start); it carries the reference log-probs. */
  resume?: Checkpoint;
  /** The slot the trained policy goes to when the run finishes or pauses ("policy" by default). */
  slot?: string;
}

/** A sequence to score: token ids, or a prompt and response formatted as generation would. */
export type ScoreInput = { ids: number[] } | { text: string; input?: string; response: string; mode: PromptMode };

export interface RerankRequest extends GenerateRequest {
  /** The reward model's slot ("reward" by default); `adapter` is the policy that samples. */
  reward?: string;
}

export interface RerankResult extends GenerateResult {
  /** rewards[i] is the reward of prompt + samples[i] (samples stay in generation order: sample 0 is the baseline). */
  rewards: number[];
}

export interface TrainResult extends SftResult {
  /** Rows cut at maxLen. */
  truncated: number;
}

/** One token of a training example, for the preview that colours trained and masked tokens. */
export interface PreviewToken {
  text: string;
  trained: boolean;
}

export interface EngineApi {
  gpuInfo(): Promise<GpuInfo>;
  /** Loads a model; a failed load leaves the previous state untouched and nothing half-loaded. */
  loadModel(source: ModelSource, onProgress?: (progress: LoadProgress) => void): Promise<ModelInfo>;
  unloadModel(): Promise<void>;
  modelInfo(): Promise<ModelInfo | null>;
  /** Logits of every position of `ids`, with a slot's adapter or the base model (null). */
  logits(ids: number[], adapter?: string | null): Promise<LogitsResult>;
  generate(request: GenerateRequest, onToken?: (event: TokenEvent) => void): Promise<GenerateResult>;
  /** Puts an adapter in a named slot ("policy", "reward"...), uploaded once; requests name the slot they use. */
  setAdapter(slot: string, adapter: LoraAdapter): Promise<void>;
  /** Reads a PEFT adapter (adapter_config.json + adapter_model.safetensors) into a slot ("policy" by default). */
  loadAdapterFiles(files: File[], slot?: string): Promise<{ rank: number; alpha: number; targets: string[] }>;
  /** Empties a slot ("policy" by default). */
  clearAdapter(slot?: string): Promise<void>;
  adapterSlots(): Promise<AdapterSlotInfo[]>;
  /** The GPU memory an SFT run of `request` will hold, planned before anything is allocated. */
  planTraining(request: TrainRequest): Promise<MemoryReport>;
  /** LoRA SFT on the loaded model; the trained adapter goes to `request.slot` when it finishes or pauses. */
  trainSft(request: TrainRequest, onEvent?: (event: TrainEvent) => void, onCheckpoint?: (checkpoint: Checkpoint) => void): Promise<TrainResult>;
  /** Asks a running trainSft() to checkpoint and resolve with status 'paused'. */
  pauseTraining(): Promise<void>;
  /**
   * Test hook, not for the UI: the next training run to finish step `step` destroys the GPU device right after
   * it, so tests can lose the GPU mid-run in the browser's worker (the run fails with GpuLostError).
   */
  destroyDeviceAfterStep(step: number): Promise<void>;
  /** The GPU memory a reward model run of `request` will hold. */
  planRewardTraining(request: RewardTrainRequest): Promise<MemoryReport>;
  /** LoRA + score head on preference pairs; the reward model goes to `request.slot` ("reward"). */
  trainReward(request: RewardTrainRequest, onEvent?: (event: TrainEvent) => void, onCheckpoint?: (checkpoint: Checkpoint) => void): Promise<TrainResult>;
  /** The GPU memory a DPO run of `request` will hold. */
  planDpoTraining(request: DpoTrainRequest): Promise<MemoryReport>;
  /** DPO on preference pairs: the policy adapter against the reference it starts as; it goes to `request.slot` ("policy"). */
  trainDpo(request: DpoTrainRequest, onEvent?: (event: TrainEvent) => void, onCheckpoint?: (checkpoint: Checkpoint) => void): Promise<TrainResult>;
  /** The reward of each sequence (read at its last token) under a reward slot ("reward" by default). */
  scoreRewards(inputs: ScoreInput[], slot?: string): Promise<number[]>;
  /** n samples from the policy (request.adapter) in one batched pass, streamed, then each scored by the reward slot. */
  rerank(request: RerankRequest, onToken?: (event: TokenEvent) => void): Promise<RerankResult>;
  /** After a lost GPU, loads the same model and adapters on a new device (a run then resumes from its checkpoint). */
  recover(onProgress?: (progress: LoadProgress) => void): Promise<ModelInfo>;
  /** Runs every kernel check on this GPU now: each variant and weight type with its max error, pass, fail or not available. */
  selftest(): Promise<KernelCheck[]>;
  /** How one row is tokenized for training. */
  previewExample(row: InstructionRow, format: 'alpaca' | 'chat', trainOnInputs: boolean, maxLen: number): Promise<PreviewToken[]>;
  /** A slot's adapter as PEFT files (adapter_config.json, adapter_model.safetensors). */
  exportAdapter(slot?: string): Promise<PeftFiles>;
  /** The base weights with a slot's adapter merged in, as a model.safetensors file. */
  exportMergedWeights(slot?: string): Promise<Uint8Array>;
  /** Stops a running generate(); it resolves with finishReason 'cancelled'. */
  cancel(): Promise<void>;
  /** Formats a prompt the way generate() would, for previews. */
  formatPrompt(text: string, input: string, mode: PromptMode): Promise<string>;
  encode(text: string): Promise<number[]>;
  decode(ids: number[]): Promise<string>;
}
