// Typed errors of the GPU layer. Each message says what happened and what to do about it.

export class GpuUnavailableError extends Error {
  override name = 'GpuUnavailableError';
  constructor(detail: string) {
    super(`WebGPU is not available: ${detail}. Use a recent Chrome or Edge, or enable WebGPU in this browser.`);
  }
}

export class GpuLostError extends Error {
  override name = 'GpuLostError';
  constructor(readonly reason: string, message: string) {
    super(`The GPU device was lost (${reason}: ${message || 'no detail'}). Reload the model to continue.`);
  }
}

export class GpuValidationError extends Error {
  override name = 'GpuValidationError';
  constructor(message: string) {
    super(`GPU error: ${message}`);
  }
}

export class ShaderCompileError extends Error {
  override name = 'ShaderCompileError';
  constructor(label: string, messages: string) {
    super(`Shader ${label} failed to compile:\n${messages}`);
  }
}
