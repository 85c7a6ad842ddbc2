// Typed errors of the engine's requests. Each message says what to do.

export class NoModelError extends Error {
  override name = 'NoModelError';
  constructor() {
    super('No model is loaded. Load one from the Hub or from local files first.');
  }
}

export class NoTokenizerError extends Error {
  override name = 'NoTokenizerError';
  constructor(label: string) {
    super(`${label} has no tokenizer.json, so it takes token ids only. Enter the prompt as comma-separated ids.`);
  }
}

export class NoAdapterError extends Error {
  override name = 'NoAdapterError';
  constructor(slot: string) {
    super(`No adapter is in the "${slot}" slot: train one or load a PEFT adapter first.`);
  }
}
