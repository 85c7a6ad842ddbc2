// Typed errors of the GPU layer. Each message says what happened and what to do about it.

export class GpuUnavailableError extends Error {
  override name = 'GpuUnavailableError';
  constructor(detail: string) {
    super(`WebGPU is not available: ${detail}. Use a recent Chrome or Edge, or enable WebGPU in this browser.`);
  }
}

/** Node on Linux: Dawn reaches the GPU through Vulkan, and the Vulkan loader is not installed. */
export class VulkanLoaderMissingError extends Error {
  override name = 'VulkanLoaderMissingError';
  constructor(readonly searched: string[]) {
    super(
      `WebGPU in Node needs the Vulkan loader libvulkan.so.1, which is not installed (looked in ${searched.join(', ')}). ` +
        'Install it with `sudo apt-get install libvulkan1` (Fedora: `sudo dnf install vulkan-loader`), then run the command again.',
    );
  }
}

/** Node on Linux: the Vulkan loader is there, but no Vulkan driver offered a device. */
export class VulkanDriverMissingError extends Error {
  override name = 'VulkanDriverMissingError';
  constructor() {
    super(
      'WebGPU in Node found no Vulkan device: the Vulkan loader is installed but no driver answered. ' +
        "Install your GPU's Vulkan driver (e.g. `sudo apt-get install mesa-vulkan-drivers`), or run on the CPU with " +
        "SwiftShader from Debian's chromium package: VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json.",
    );
  }
}

export class GpuLostError extends Error {
  override name = 'GpuLostError';
  /** `resumeStep`: a training run was interrupted, and resumes from its checkpoint of this step. */
  constructor(readonly reason: string, readonly detail: string, readonly resumeStep?: number) {
    const what = `The GPU device was lost (${reason}: ${detail || 'no detail'})`;
    super(resumeStep === undefined ? `${what}. Reload the model to continue.` : `${what} during training; resuming from checkpoint step ${resumeStep} on a new device.`);
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
