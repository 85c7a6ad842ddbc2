// Typed errors of the tokenizer layer. Each message says what went wrong and what to do about it.

export class TokenizerLoadError extends Error {
  override name = 'TokenizerLoadError';
  constructor(readonly where: string, readonly reason: string) {
    super(`The tokenizer of ${where} could not be loaded: ${reason}. Check tokenizer.json and tokenizer_config.json, or use token ids directly.`);
  }
}

export class ChatTemplateError extends Error {
  override name = 'ChatTemplateError';
  constructor(readonly reason: string) {
    super(`Chat prompt failed: ${reason}. Use the Alpaca or raw prompt mode instead.`);
  }
}
