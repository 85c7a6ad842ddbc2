// The compute context every kernel wrapper records into: a pipeline cache, buffer helpers, a list of
// recorded dispatches and copies that `submit()` encodes into ONE command encoder, and readback.
// Uniform params of all dispatches in a submission share one arena buffer, written once per submit.
import { ShaderCompileError } from './errors';

export type Dtype = 'f32' | 'f16' | 'u32';

/** A weight on the GPU: f32, or f16 where the device has shader-f16. */
export interface GpuWeight {
  buffer: GPUBuffer;
  dtype: 'f32' | 'f16';
}

export interface GpuStats {
  dispatches: number;
  submits: number;
  bytesUploaded: number;
  bytesRead: number;
}

/** One recorded dispatch: what the bench's profile replays on its own. */
export interface Dispatch {
  kind: 'dispatch';
  pipeline: GPUComputePipeline;
  buffers: GPUBuffer[];
  params: ArrayBuffer;
  grid: [number, number, number];
}

type Command =
  | Dispatch
  | { kind: 'copy'; src: GPUBuffer; srcOffset: number; dst: GPUBuffer; dstOffset: number; size: number }
  | { kind: 'clear'; buffer: GPUBuffer };

/** Packs a WGSL uniform `struct` of 4-byte fields (u32, i32, f32) in declaration order. */
export class Params {
  private readonly view = new DataView(new ArrayBuffer(256));
  private offset = 0;
  u32(value: number): this {
    this.view.setUint32(this.offset, value >>> 0, true);
    this.offset += 4;
    return this;
  }
  i32(value: number): this {
    this.view.setInt32(this.offset, value, true);
    this.offset += 4;
    return this;
  }
  f32(value: number): this {
    this.view.setFloat32(this.offset, value, true);
    this.offset += 4;
    return this;
  }
  get bytes(): ArrayBuffer {
    return this.view.buffer.slice(0, Math.max(16, Math.ceil(this.offset / 16) * 16));
  }
}

const UNIFORM_SLOT = 256; // minUniformBufferOffsetAlignment is at most 256 on every adapter

// GPUBufferUsage / GPUMapMode values from the WebGPU spec; Node has no such globals until the webgpu
// package installs them, and these numbers never change.
const usage = { MAP_READ: 0x1, COPY_SRC: 0x4, COPY_DST: 0x8, UNIFORM: 0x40, STORAGE: 0x80 } as const;
const MAP_MODE_READ = 0x1;
export const STORAGE = usage.STORAGE | usage.COPY_SRC | usage.COPY_DST;

export class GpuContext {
  readonly stats: GpuStats = { dispatches: 0, submits: 0, bytesUploaded: 0, bytesRead: 0 };
  private readonly pipelines = new Map<string, GPUComputePipeline>();
  private commands: Command[] = [];
  private uniformArena: GPUBuffer | null = null;
  /** Compilation reports not yet in. */
  private readonly compiling = new Set<Promise<void>>();
  /** While set, every submitted dispatch is also kept here (the bench profiles a step by replaying them). */
  recording: Dispatch[] | null = null;

  /** Where a shader's compile errors go (the kernel checks collect them instead). */
  onCompileError: (message: string) => void = (message) => console.error(message);
  /** The type matmul weights are uploaded in: f16 where the device has shader-f16 and its f16 kernels pass their checks. */
  weightDtype: 'f32' | 'f16';

  /** Whether shaders may use subgroup operations (`enable subgroups;`). */
  readonly subgroups: boolean;

  constructor(readonly device: GPUDevice, readonly shaderF16: boolean) {
    this.subgroups = device.features.has('subgroups');
    this.weightDtype = shaderF16 ? 'f16' : 'f32';
  }

  /** A compute pipeline for `code`, compiled once per (label, code). Compile errors become ShaderCompileError. */
  pipeline(label: string, code: string): GPUComputePipeline {
    const key = `${label}\n${code}`;
    let pipeline = this.pipelines.get(key);
    if (!pipeline) {
      const module = this.device.createShaderModule({ label, code });
      pipeline = this.device.createComputePipeline({ label, layout: 'auto', compute: { module, entryPoint: 'main' } });
      this.pipelines.set(key, pipeline);
      const reported = module.getCompilationInfo().then((info) => {
        const errors = info.messages.filter((m) => m.type === 'error');
        if (errors.length) this.onCompileError(new ShaderCompileError(label, errors.map((m) => `${m.lineNum}:${m.linePos} ${m.message}`).join('\n')).message);
      });
      this.compiling.add(reported);
      void reported.finally(() => this.compiling.delete(reported));
    }
    return pipeline;
  }

  /** Resolves once every shader compiled so far has reported its errors to onCompileError. */
  async compilationsReported(): Promise<void> {
    await Promise.all([...this.compiling]);
  }

  /** Like `pipeline`, but awaits compilation and throws ShaderCompileError on bad WGSL. */
  async checkedPipeline(label: string, code: string): Promise<GPUComputePipeline> {
    this.device.pushErrorScope('validation');
    const module = this.device.createShaderModule({ label, code });
    const info = await module.getCompilationInfo();
    const errors = info.messages.filter((m) => m.type === 'error');
    await this.device.popErrorScope();
    if (errors.length) throw new ShaderCompileError(label, errors.map((m) => `${m.lineNum}:${m.linePos} ${m.message}`).join('\n'));
    return this.pipeline(label, code);
  }

  /** A storage buffer of `size` bytes (rounded up to 4), zero-filled by WebGPU. */
  buffer(size: number, label = ''): GPUBuffer {
    return this.device.createBuffer({ label, size: Math.max(4, Math.ceil(size / 4) * 4), usage: STORAGE });
  }

  /** A storage buffer holding `data`. */
  upload(data: ArrayBufferView, label = ''): GPUBuffer {
    const buffer = this.buffer(data.byteLength, label);
    this.write(buffer, data);
    return buffer;
  }

  /** Queue a write; it lands before any command submitted afterwards. */
  write(buffer: GPUBuffer, data: ArrayBufferView, offset = 0): void {
    const padded = data.byteLength % 4 === 0 ? data : padTo4(data);
    this.device.queue.writeBuffer(buffer, offset, padded.buffer, padded.byteOffset, padded.byteLength);
    this.stats.bytesUploaded += data.byteLength;
  }

  /** Record a dispatch. Bindings follow the house order: outputs, inputs, then the params uniform last. */
  dispatch(pipeline: GPUComputePipeline, buffers: GPUBuffer[], params: Params, grid: [number, number?, number?]): void {
    const [x, y = 1, z = 1] = grid;
    if (x === 0 || y === 0 || z === 0) return;
    this.commands.push({ kind: 'dispatch', pipeline, buffers, params: params.bytes, grid: [x, y, z] });
  }

  /** Record a buffer-to-buffer copy in order with the dispatches. */
  copy(src: GPUBuffer, srcOffset: number, dst: GPUBuffer, dstOffset: number, size: number): void {
    if (size > 0) this.commands.push({ kind: 'copy', src, srcOffset, dst, dstOffset, size });
  }

  /** Record zeroing a whole buffer (gradients before a backward pass accumulates into them). */
  clear(buffer: GPUBuffer): void {
    this.commands.push({ kind: 'clear', buffer });
  }

  /** Encode everything recorded since the last submit into one command encoder and submit it. */
  submit(extra?: (encoder: GPUCommandEncoder) => void): void {
    const commands = this.commands;
    this.commands = [];
    const dispatches = commands.filter((c) => c.kind === 'dispatch');
    this.recording?.push(...dispatches);
    const arena = this.arena(dispatches.length * UNIFORM_SLOT);
    if (dispatches.length) {
      const staging = new Uint8Array(dispatches.length * UNIFORM_SLOT);
      dispatches.forEach((d, i) => staging.set(new Uint8Array(d.params), i * UNIFORM_SLOT));
      this.device.queue.writeBuffer(arena, 0, staging);
    }
    const encoder = this.device.createCommandEncoder();
    let slot = 0;
    let pass: GPUComputePassEncoder | null = null;
    for (const c of commands) {
      if (c.kind !== 'dispatch') {
        pass?.end();
        pass = null;
        if (c.kind === 'copy') encoder.copyBufferToBuffer(c.src, c.srcOffset, c.dst, c.dstOffset, c.size);
        else encoder.clearBuffer(c.buffer);
        continue;
      }
      pass ??= encoder.beginComputePass();
      const entries: GPUBindGroupEntry[] = c.buffers.map((buffer, binding) => ({ binding, resource: { buffer } }));
      entries.push({ binding: c.buffers.length, resource: { buffer: arena, offset: slot * UNIFORM_SLOT, size: c.params.byteLength } });
      slot++;
      pass.setPipeline(c.pipeline);
      pass.setBindGroup(0, this.device.createBindGroup({ layout: c.pipeline.getBindGroupLayout(0), entries }));
      pass.dispatchWorkgroups(...c.grid);
    }
    pass?.end();
    extra?.(encoder);
    this.device.queue.submit([encoder.finish()]);
    this.stats.dispatches += dispatches.length;
    this.stats.submits++;
  }

  /** Submit pending work, then read `size` bytes of `buffer` back to the CPU. */
  async read(buffer: GPUBuffer, size = buffer.size, offset = 0): Promise<ArrayBuffer> {
    const staging = this.device.createBuffer({ size, usage: usage.MAP_READ | usage.COPY_DST });
    this.submit((encoder) => encoder.copyBufferToBuffer(buffer, offset, staging, 0, size));
    await staging.mapAsync(MAP_MODE_READ);
    const data = staging.getMappedRange().slice(0);
    staging.destroy();
    this.stats.bytesRead += size;
    return data;
  }

  async readF32(buffer: GPUBuffer, count?: number, offsetElements = 0): Promise<Float32Array> {
    const n = count ?? buffer.size / 4 - offsetElements;
    return new Float32Array(await this.read(buffer, n * 4, offsetElements * 4));
  }

  async readU32(buffer: GPUBuffer, count?: number, offsetElements = 0): Promise<Uint32Array> {
    const n = count ?? buffer.size / 4 - offsetElements;
    return new Uint32Array(await this.read(buffer, n * 4, offsetElements * 4));
  }

  private arena(size: number): GPUBuffer {
    if (!this.uniformArena || this.uniformArena.size < size) {
      this.uniformArena?.destroy();
      this.uniformArena = this.device.createBuffer({
        label: 'uniform arena',
        size: Math.max(UNIFORM_SLOT * 64, 2 ** Math.ceil(Math.log2(Math.max(size, 1)))),
        usage: usage.UNIFORM | usage.COPY_DST,
      });
    }
    return this.uniformArena;
  }
}

function padTo4(data: ArrayBufferView): Uint8Array {
  const out = new Uint8Array(Math.ceil(data.byteLength / 4) * 4);
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  return out;
}

/** Number of workgroups to cover `n` items with `size` items per workgroup. */
export function groups(n: number, size: number): number {
  return Math.ceil(n / size);
}
