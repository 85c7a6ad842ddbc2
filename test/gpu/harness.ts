// Runs kernels on the Node GPU (Dawn; SwiftShader without a GPU) for the kernel tests.
import { GpuContext } from '../../src/gpu/context';
import { nodeGpu } from '../../src/gpu/node';

let ctx: Promise<GpuContext> | null = null;

export function testContext(): Promise<GpuContext> {
  ctx ??= nodeGpu().then((gpu) => new GpuContext(gpu.device, gpu.info.shaderF16));
  return ctx;
}
