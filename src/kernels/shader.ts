// Helpers shared by the kernel wrappers: f16 variants of weight-reading shaders, 2-D grids for launches
// longer than one grid dimension allows, and a per-context zero buffer for absent optional inputs.
import type { GpuContext } from '../gpu/context';

/** f16 weights were handed to a kernel on a device without the shader-f16 feature. */
export class F16UnsupportedError extends Error {
  override name = 'F16UnsupportedError';
  constructor(kernel: string) {
    super(`${kernel} was given f16 weights, but this GPU lacks the shader-f16 feature: load the model with f32 weights.`);
  }
}

// Shaders that read weights name the element type through this alias; f32 is the version in the file.
const WEIGHT_ALIAS = 'alias WT = f32;';

/** The pipeline of `code` for weights of `dtype`: as written for f32; with `enable f16;` and WT = f16 for f16. */
export function weightPipeline(ctx: GpuContext, label: string, code: string, dtype: 'f32' | 'f16'): GPUComputePipeline {
  return variantPipeline(ctx, label, code, dtype);
}

/** weightPipeline of `code` with its module constants fixed by `values` (see specializedPipeline). */
export function variantPipeline(ctx: GpuContext, label: string, code: string, dtype: 'f32' | 'f16', values: Record<string, number> = {}): GPUComputePipeline {
  if (dtype === 'f16' && !ctx.shaderF16) throw new F16UnsupportedError(label);
  return ctx.pipeline(...variantSource(label, code, dtype, values));
}

/** The pipeline name and WGSL that variantPipeline compiles (also validated offline, f16 included, by the tests). */
export function variantSource(label: string, code: string, dtype: 'f32' | 'f16', values: Record<string, number> = {}): [string, string] {
  const [name, source] = weightSource(label, code, dtype);
  return Object.keys(values).length ? specializedSource(name, source, values) : [name, source];
}

function weightSource(label: string, code: string, dtype: 'f32' | 'f16'): [string, string] {
  if (dtype === 'f32') return [label, code];
  if (!code.includes(WEIGHT_ALIAS)) throw new Error(`shader ${label} must declare '${WEIGHT_ALIAS}' to have an f16 variant`);
  return [`${label}_f16`, `enable f16;\n${code.replace(WEIGHT_ALIAS, 'alias WT = f16;')}`];
}

/**
 * `code` with its workgroups `lanes` wide. The shader declares its written size twice, as `const WG = <n>u;`
 * and `@workgroup_size(<n>)`. Kernels with a workgroup per row size it to the row: idle lanes are not free,
 * least of all on a GPU emulated on the CPU, where every invocation runs.
 */
export function sizedPipeline(ctx: GpuContext, label: string, code: string, lanes: number): GPUComputePipeline {
  const written = /const WG = (\d+)u;/.exec(code);
  if (!written || !/@workgroup_size\(\d+\)/.test(code)) throw new Error(`shader ${label} must declare 'const WG = <n>u;' and '@workgroup_size(<n>)'`);
  if (Number(written[1]) === lanes) return ctx.pipeline(label, code);
  const sized = code.replace(/const WG = \d+u;/, `const WG = ${lanes}u;`).replace(/@workgroup_size\(\d+\)/, `@workgroup_size(${lanes})`);
  return ctx.pipeline(`${label}_wg${lanes}`, sized);
}

/**
 * `code` with module constants fixed for one launch shape: each `const NAME = <n>u;` named in `values` takes its
 * value, and `@workgroup_size` follows WG. Sizes that are constants let the shader keep per-lane arrays (a head's
 * vector) in registers and size its workgroup tiles exactly.
 */
export function specializedPipeline(ctx: GpuContext, label: string, code: string, values: Record<string, number>): GPUComputePipeline {
  return ctx.pipeline(...specializedSource(label, code, values));
}

function specializedSource(label: string, code: string, values: Record<string, number>): [string, string] {
  let sized = code;
  for (const [name, value] of Object.entries(values)) {
    const declaration = new RegExp(`const ${name} = \\d+u;`);
    if (!declaration.test(sized)) throw new Error(`shader ${label} must declare 'const ${name} = <n>u;'`);
    sized = sized.replace(declaration, `const ${name} = ${value}u;`);
  }
  if (values.WG !== undefined) sized = sized.replace(/@workgroup_size\(\d+\)/, `@workgroup_size(${values.WG})`);
  const key = Object.entries(values).map(([name, value]) => `${name}${value}`).join('_');
  return [`${label}_${key}`, sized];
}

/**
 * Rows up to this wide (a multiple of 4) take the one-invocation-per-row kernels: 64 rows to a workgroup, vec4
 * loads, no reduction tree and no barriers. A 64-wide row would leave most lanes of a workgroup per row idle.
 */
export const ROW_MAX_C = 256;

/**
 * RMSNorm takes its one-invocation-per-row kernels at any width that is a multiple of 4: measured on SwiftShader at
 * C = 576 they ran 3x (one row) to 36x (256 rows) the workgroup-per-row kernels, and on any GPU a norm's row is a
 * sliver of the matmuls beside it.
 */
export const NORM_ROW_MAX_C = 16384;

/** Whether rows `width` wide take a one-invocation-per-row kernel. */
export function isNarrowRow(width: number, max = ROW_MAX_C): boolean {
  return width <= max && width % 4 === 0;
}

/** Lanes for a row `width` wide: its next power of two, from 32 (a warp) up to `max`. */
export function rowLanes(width: number, max = 256): number {
  return Math.min(max, Math.max(32, 2 ** Math.ceil(Math.log2(Math.max(width, 1)))));
}

const MAX_GROUPS = 65535; // maxComputeWorkgroupsPerDimension on every adapter

/**
 * `count` workgroups laid out as (x, y) with x <= 65535. Shaders rebuild the flat workgroup index as
 * wid.y * nwg.x + wid.x and must bounds-check it: the last y row may run past `count`.
 */
export function grid2(count: number): [number, number] {
  if (count === 0) return [0, 1];
  const x = Math.min(count, MAX_GROUPS);
  return [x, Math.ceil(count / x)];
}

const zeroBuffers = new WeakMap<GpuContext, GPUBuffer>();

/** A small zero-filled buffer, bound where an optional input (a bias) is absent: 'auto' layouts need every binding. */
export function zeroBuffer(ctx: GpuContext): GPUBuffer {
  let buffer = zeroBuffers.get(ctx);
  if (!buffer) {
    buffer = ctx.buffer(16, 'zeros');
    zeroBuffers.set(ctx, buffer);
  }
  return buffer;
}
