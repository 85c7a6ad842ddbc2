// Typed errors of model loading. Each message says what went wrong and what to do about it.
import { architectures } from './architecture';

export class SafetensorsError extends Error {
  override name = 'SafetensorsError';
  constructor(readonly file: string, readonly reason: string) {
    super(
      `${file} is not a valid safetensors file: ${reason}. ` +
        'Re-download it, or re-export the weights with the safetensors library.',
    );
  }
}

export class UnsupportedDtypeError extends Error {
  override name = 'UnsupportedDtypeError';
  constructor(readonly file: string, readonly tensor: string, readonly dtype: string) {
    super(
      `Tensor ${tensor} in ${file} has dtype ${dtype}; only F32, F16 and BF16 weights are supported. ` +
        'Use a float32, float16 or bfloat16 checkpoint of the model (quantized checkpoints cannot be loaded).',
    );
  }
}

export class TensorMissingError extends Error {
  override name = 'TensorMissingError';
  constructor(readonly tensor: string, readonly where: string) {
    super(`The weights of ${where} have no tensor ${tensor}. Check that the weight files belong to the same model as config.json.`);
  }
}

/** A tensor of a weight or adapter file holds NaN or infinite values (checked on the raw bytes, before any conversion). */
export class NonFiniteWeightsError extends Error {
  override name = 'NonFiniteWeightsError';
  constructor(
    readonly tensor: string,
    readonly where: string,
    readonly index: number,
    advice = 'Re-download the model, or re-export the weights from a checkpoint that loads in PyTorch.',
  ) {
    super(`Tensor ${tensor} of ${where} holds NaN or infinite values (the first at element ${index}): the file is corrupt. ${advice}`);
  }
}

/** Sampling returned NON_FINITE_LOGITS (src/kernels/sample.ts): a row of logits held a NaN or an infinity. */
export class NonFiniteLogitsError extends Error {
  override name = 'NonFiniteLogitsError';
  constructor(readonly step?: number) {
    super(
      `The model produced NaN or infinite logits${step === undefined ? '' : ` at generation step ${step}`}: ` +
        'its weights or the applied adapter are broken, or training diverged (learning rate too high). ' +
        'Reload the model, or load a different adapter (or retrain it with a lower learning rate).',
    );
  }
}

export class ModelFileMissingError extends Error {
  override name = 'ModelFileMissingError';
  constructor(readonly file: string, readonly where: string) {
    super(
      `${where} has no ${file}. A model needs config.json and model.safetensors ` +
        '(or model.safetensors.index.json with every shard it names): add the missing file or pick the whole model folder.',
    );
  }
}

export class UnsupportedArchitectureError extends Error {
  override name = 'UnsupportedArchitectureError';
  constructor(readonly architecture: string) {
    const supported = Object.entries(architectures)
      .map(([type, entry]) => `${entry.causalLm} (${type})`)
      .join(', ');
    super(`Model architecture ${architecture} is not supported. Supported: ${supported}. Pick a model of one of these families.`);
  }
}

export class ModelConfigError extends Error {
  override name = 'ModelConfigError';
  constructor(readonly reason: string, readonly where?: string) {
    super(
      `config.json${where ? ` of ${where}` : ''} is not usable: ${reason}. ` +
        "Check that the file is the model's own Hugging Face config.json.",
    );
  }
}

export class ModelTooLargeError extends Error {
  override name = 'ModelTooLargeError';
  constructor(readonly tensor: string, readonly bytes: number, readonly limit: number, readonly limitName: string) {
    super(
      `Tensor ${tensor} needs ${mib(bytes)} in one GPU buffer, but this GPU allows at most ${mib(limit)} (${limitName}). ` +
        'Pick a smaller model, or use a browser/GPU with larger buffer limits.',
    );
  }
}

export class HubRepoNotFoundError extends Error {
  override name = 'HubRepoNotFoundError';
  constructor(readonly id: string, readonly endpoint: string, readonly status: number) {
    super(
      `Model ${id} was not found at ${endpoint} (HTTP ${status}), or it is gated/private. ` +
        'Check the model id and the endpoint; for gated models accept the licence on the Hub or use a mirror that serves it.',
    );
  }
}

export class InvalidHubIdError extends Error {
  override name = 'InvalidHubIdError';
  constructor(readonly id: string) {
    super(`${JSON.stringify(id)} is not a Hub model id. Write it as owner/name, e.g. HuggingFaceTB/SmolLM2-135M-Instruct.`);
  }
}

export class HubDownloadError extends Error {
  override name = 'HubDownloadError';
  constructor(readonly url: string, readonly reason: string) {
    super(`Downloading ${url} failed: ${reason}. Check the connection and the endpoint, then load the model again (finished files are kept).`);
  }
}

export interface BufferLimits {
  maxStorageBufferBindingSize: number;
  maxBufferSize: number;
}

/** Throws ModelTooLargeError when a tensor of `bytes` would not fit in one GPU storage buffer. */
export function assertFitsGpu(tensor: string, bytes: number, limits: BufferLimits): void {
  const [limit, limitName] =
    limits.maxStorageBufferBindingSize <= limits.maxBufferSize
      ? [limits.maxStorageBufferBindingSize, 'maxStorageBufferBindingSize']
      : [limits.maxBufferSize, 'maxBufferSize'];
  if (bytes > limit) throw new ModelTooLargeError(tensor, bytes, limit, limitName);
}

/** assertFitsGpu for every tensor, stored on the GPU at `bytesPerElement`. */
export function checkTensorsFit(
  tensors: Iterable<{ name: string; shape: readonly number[] }>,
  limits: BufferLimits,
  bytesPerElement: number,
): void {
  for (const t of tensors) assertFitsGpu(t.name, t.shape.reduce((a, b) => a * b, 1) * bytesPerElement, limits);
}

function mib(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}
