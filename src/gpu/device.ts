// Adapter and device with the limits and features the model needs. Works on navigator.gpu in the browser
// and on the `webgpu` package's GPU object in Node.
import { GpuLostError, GpuUnavailableError, GpuValidationError } from './errors';

export interface GpuInfo {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  isFallbackAdapter: boolean;
  shaderF16: boolean;
  /** Whether the device has the subgroups feature (the subgroup matmul variant needs it). */
  subgroups: boolean;
  limits: {
    maxBufferSize: number;
    maxStorageBufferBindingSize: number;
    maxComputeWorkgroupStorageSize: number;
    maxComputeInvocationsPerWorkgroup: number;
    maxComputeWorkgroupsPerDimension: number;
    maxStorageBuffersPerShaderStage: number;
  };
}

export interface Gpu {
  device: GPUDevice;
  info: GpuInfo;
  /** Resolves when the device is lost, with a typed error (never rejects). */
  lost: Promise<GpuLostError>;
}

const wantedLimits = [
  'maxBufferSize',
  'maxStorageBufferBindingSize',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupsPerDimension',
  'maxStorageBuffersPerShaderStage',
] as const;

export async function acquireGpu(
  gpu: GPU | undefined,
  onError: (error: GpuValidationError) => void = (e) => console.error(e.message),
): Promise<Gpu> {
  if (!gpu) throw new GpuUnavailableError('this environment has no navigator.gpu');
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) throw new GpuUnavailableError('no GPU adapter was found');
  const shaderF16 = adapter.features.has('shader-f16');
  const subgroups = adapter.features.has('subgroups');
  const requiredLimits: Record<string, number> = {};
  for (const name of wantedLimits) requiredLimits[name] = adapter.limits[name];
  const device = await adapter.requestDevice({
    requiredFeatures: [...(shaderF16 ? ['shader-f16' as const] : []), ...(subgroups ? ['subgroups' as GPUFeatureName] : [])],
    requiredLimits,
  });
  device.addEventListener('uncapturederror', (event) => {
    onError(new GpuValidationError((event as GPUUncapturedErrorEvent).error.message));
  });
  const lost = device.lost.then((info) => new GpuLostError(info.reason, info.message));
  // Node's adapter.info exposes getters only, so copy the fields one by one.
  const a = adapter.info;
  const info: GpuInfo = {
    vendor: a.vendor,
    architecture: a.architecture,
    device: a.device,
    description: a.description,
    isFallbackAdapter: Boolean((a as { isFallbackAdapter?: boolean }).isFallbackAdapter),
    shaderF16,
    subgroups,
    limits: Object.fromEntries(wantedLimits.map((n) => [n, device.limits[n]])) as GpuInfo['limits'],
  };
  return { device, info, lost };
}
