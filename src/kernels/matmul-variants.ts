// The launch variants of the two hot matmul kernels, the forward product and its input gradient, and the choice
// among them. Each variant is one WGSL source fixed by module constants (or an older staged kernel); which one is
// fastest depends on the GPU (an emulated one pays dearly for barriers, a discrete one for uncoalesced reads), so
// the engine times them on the device at model load (tune.ts) after checking each against its CPU twin
// (selftest.ts), and records the choice here, per context.
import { type GpuContext, Params, groups } from '../gpu/context';
import tiledCode from '../../shaders/matmul_forward.wgsl?raw';
import vectorShader from '../../shaders/matmul_vector_forward.wgsl?raw';
import directShader from '../../shaders/matmul_direct_forward.wgsl?raw';
import subgroupShader from '../../shaders/matmul_subgroup_forward.wgsl?raw';
import forwardIoCode from '../../shaders/matmul_forward_io.wgsl?raw';
import tiledInputCode from '../../shaders/matmul_backward_input.wgsl?raw';
import directInputCode from '../../shaders/matmul_direct_backward_input.wgsl?raw';
import { grid2, variantPipeline } from './shader';

// The row-major forward kernels share their bindings and helpers (WGSL has no includes: appended here).
const vectorCode = `${vectorShader}\n${forwardIoCode}`;
const directCode = `${directShader}\n${forwardIoCode}`;
const subgroupCode = `${subgroupShader}\n${forwardIoCode}`;

export type MatmulKernel = 'matmul_forward' | 'matmul_backward_input';
export const matmulKernels: readonly MatmulKernel[] = ['matmul_forward', 'matmul_backward_input'];
export type WeightDtype = 'f32' | 'f16';

/** One way to launch a kernel: which shapes it takes, and how it records a dispatch. */
export interface MatmulVariant {
  kernel: MatmulKernel;
  id: string;
  /** Whether it computes (N, C, OC): vec4 loads need C (and, for the input gradient, OC) a multiple of 4. */
  fits(N: number, C: number, OC: number): boolean;
  /** Forward: buffers [out, inp, weight, bias], params (N, C, OC, hasBias, accumulate); input gradient: [dinp, dout, weight], (N, C, OC). */
  record(ctx: GpuContext, buffers: GPUBuffer[], params: Params, N: number, C: number, OC: number, dtype: WeightDtype): void;
  /** The WGSL source, for the code hash that keys cached checks and choices. */
  code: string;
  /** The shader record() compiles for N rows: label, source and module constants (see variantPipeline). */
  shader(N: number): VariantShader;
  /** A device feature it needs beyond the baseline; without it the variant is never checked, timed or launched. */
  feature?: 'subgroups';
}

export interface VariantShader {
  label: string;
  code: string;
  values: Record<string, number>;
}

/** The pipeline of `variant` for N rows on `ctx` (a broken build where a test injected a fault). */
function pipelineOf(ctx: GpuContext, variant: MatmulVariant, N: number, dtype: WeightDtype): GPUComputePipeline {
  const { label, code, values } = variant.shader(N);
  return variantPipeline(ctx, label, faulted(ctx, variant.kernel, variant.id, code), dtype, values);
}

/** The variant every shape falls back to: the staged 64 x 64 tile kernel, which takes any shape. */
export const PLAIN = 'tiled';

/** Most rows one invocation of a direct kernel keeps in registers: a decode batch of up to 8 reads each weight once. */
const MAX_RB = 8;

/**
 * A direct kernel launched as WX x WY invocations of RB rows each; `RB: 'rows'` gives each invocation every row
 * up to MAX_RB (a matrix-vector product for decode, 8-row tiles beyond it).
 */
function direct(kernel: MatmulKernel, code: string, WX: number, WY: number, RB: number | 'rows'): MatmulVariant {
  // 2 to 4 rows take the kernel's 4-row path (rows past N are computed from row 0 and not written).
  const rowsPer = (N: number) => (RB !== 'rows' ? RB : N === 1 ? 1 : N <= 4 ? 4 : Math.min(N, MAX_RB));
  return {
    kernel,
    id: `direct_x${WX}_y${WY}${RB === 'rows' ? '' : `_r${RB}`}`,
    code,
    fits: (_N, C, OC) => C % 4 === 0 && (kernel === 'matmul_forward' || OC % 4 === 0),
    shader: (N) => ({
      label: kernel === 'matmul_forward' ? 'matmul_direct_forward' : 'matmul_direct_backward_input',
      code,
      values: { WX, WY, RB: rowsPer(N), WG: WX * WY },
    }),
    record(ctx, buffers, params, N, C, OC, dtype) {
      const columns = kernel === 'matmul_forward' ? OC : C;
      ctx.dispatch(pipelineOf(ctx, this, N, dtype), buffers, params, [groups(columns, 4 * WX), groups(N, WY * rowsPer(N))]);
    },
  };
}

/** Column quads per workgroup of the subgroup kernel, shared by its subgroups whatever their size. */
const SUBGROUP_QUADS = 8;

const forwardVariants: MatmulVariant[] = [
  {
    kernel: 'matmul_forward',
    id: PLAIN,
    code: tiledCode,
    fits: () => true,
    shader: () => ({ label: 'matmul_forward', code: tiledCode, values: {} }),
    record(ctx, buffers, params, N, _C, OC, dtype) {
      ctx.dispatch(pipelineOf(ctx, this, N, dtype), buffers, params, [groups(OC, 64), groups(N, 64)]);
    },
  },
  {
    kernel: 'matmul_forward',
    id: 'vector',
    code: vectorCode,
    fits: (N, C) => N <= 8 && C % 4 === 0,
    shader: () => ({ label: 'matmul_vector_forward', code: vectorCode, values: {} }),
    record(ctx, buffers, params, N, _C, OC, dtype) {
      ctx.dispatch(pipelineOf(ctx, this, N, dtype), buffers, params, grid2(groups(OC, 8)));
    },
  },
  {
    kernel: 'matmul_forward',
    id: 'subgroup',
    code: subgroupCode,
    feature: 'subgroups',
    fits: (N, C) => N <= 4 && C % 4 === 0,
    shader: () => ({ label: 'matmul_subgroup_forward', code: subgroupCode, values: { QUADS: SUBGROUP_QUADS } }),
    record(ctx, buffers, params, N, _C, OC, dtype) {
      ctx.dispatch(pipelineOf(ctx, this, N, dtype), buffers, params, [groups(OC, 4 * SUBGROUP_QUADS), N]);
    },
  },
  direct('matmul_forward', directCode, 8, 1, 'rows'),
  direct('matmul_forward', directCode, 16, 1, 'rows'),
  direct('matmul_forward', directCode, 32, 1, 'rows'),
  direct('matmul_forward', directCode, 8, 4, 8),
  direct('matmul_forward', directCode, 16, 4, 4),
  direct('matmul_forward', directCode, 16, 16, 4),
];

const inputVariants: MatmulVariant[] = [
  {
    kernel: 'matmul_backward_input',
    id: PLAIN,
    code: tiledInputCode,
    fits: () => true,
    shader: () => ({ label: 'matmul_backward_input', code: tiledInputCode, values: {} }),
    record(ctx, buffers, params, N, C, _OC, dtype) {
      ctx.dispatch(pipelineOf(ctx, this, N, dtype), buffers, params, [groups(C, 64), groups(N, 64)]);
    },
  },
  direct('matmul_backward_input', directInputCode, 8, 1, 'rows'),
  direct('matmul_backward_input', directInputCode, 16, 1, 'rows'),
  direct('matmul_backward_input', directInputCode, 32, 1, 'rows'),
  direct('matmul_backward_input', directInputCode, 8, 4, 8),
  direct('matmul_backward_input', directInputCode, 16, 4, 4),
  direct('matmul_backward_input', directInputCode, 16, 16, 4),
];

/** Every variant of `kernel`, the plain one first. */
export function variantsOf(kernel: MatmulKernel): readonly MatmulVariant[] {
  return kernel === 'matmul_forward' ? forwardVariants : inputVariants;
}

export function variantById(kernel: MatmulKernel, id: string): MatmulVariant {
  const variant = variantsOf(kernel).find((v) => v.id === id);
  if (!variant) throw new Error(`${kernel} has no variant '${id}' (it has ${variantsOf(kernel).map((v) => v.id).join(', ')})`);
  return variant;
}

/**
 * The row counts the choice tells apart, each timed at its representative: one decode row, a decode batch, the
 * rows of a short training step or prefill, and many rows.
 */
export const rowClasses = [
  { name: '1', maxRows: 1, tuneRows: 1 },
  { name: '2-8', maxRows: 8, tuneRows: 4 },
  { name: '9-32', maxRows: 32, tuneRows: 16 },
  { name: '33+', maxRows: Infinity, tuneRows: 64 },
] as const;
export type RowClass = (typeof rowClasses)[number]['name'];

export function rowClassOf(N: number): RowClass {
  return rowClasses.find((c) => N <= c.maxRows)!.name;
}

/** The key of one tuned shape: kernel, row class, widths and weight dtype. */
export function shapeKey(kernel: MatmulKernel, rows: RowClass, C: number, OC: number, dtype: WeightDtype): string {
  return `${kernel} ${rows} ${C}x${OC} ${dtype}`;
}

/** A variant that is not to be used, and why (it failed to compile, or missed its known answer). */
export interface Exclusion {
  kernel: MatmulKernel;
  variant: string;
  dtype: WeightDtype;
  reason: string;
}

/**
 * What a context launches for each matmul shape: a hand-pinned variant (tests, benchmarks), else the tuned choice,
 * else a static rule; never an excluded variant (the plain one then).
 */
export class MatmulChoices {
  private readonly tuned = new Map<string, string>();
  private readonly excluded = new Map<string, Exclusion>();
  private readonly pinned = new Map<MatmulKernel, string>();
  private readonly faults = new Map<string, KernelFault>();

  /** `features`: the device features present (a variant that needs another is never picked). */
  constructor(private readonly features: { subgroups: boolean } = { subgroups: false }) {}

  /** Whether this device has what `variant` needs. */
  isAvailable(variant: MatmulVariant): boolean {
    return variant.feature === undefined || this.features[variant.feature];
  }

  /**
   * Fault injection for tests of the checks and fallbacks: from now on `id` is built broken ('compile': its WGSL
   * does not compile; 'wrong': it scales every weight it reads by 1.01).
   */
  injectFault(kernel: MatmulKernel, id: string, fault: KernelFault): void {
    this.faults.set(`${kernel} ${variantById(kernel, id).id}`, fault);
  }

  faultOf(kernel: MatmulKernel, id: string): KernelFault | undefined {
    return this.faults.get(`${kernel} ${id}`);
  }

  /** Launch `id` for every shape of `kernel` it fits (null unpins). */
  pin(kernel: MatmulKernel, id: string | null): void {
    if (id === null) this.pinned.delete(kernel);
    else this.pinned.set(kernel, variantById(kernel, id).id);
  }

  /** The variant pinned for `kernel`, or null. */
  pinnedVariant(kernel: MatmulKernel): string | null {
    return this.pinned.get(kernel) ?? null;
  }

  setTuned(choices: Record<string, string>): void {
    for (const [key, id] of Object.entries(choices)) this.tuned.set(key, id);
  }

  tunedChoices(): Record<string, string> {
    return Object.fromEntries(this.tuned);
  }

  exclude(exclusion: Exclusion): void {
    this.excluded.set(`${exclusion.kernel} ${exclusion.variant} ${exclusion.dtype}`, exclusion);
  }

  exclusions(): Exclusion[] {
    return [...this.excluded.values()];
  }

  isExcluded(kernel: MatmulKernel, id: string, dtype: WeightDtype): boolean {
    return id !== PLAIN && this.excluded.has(`${kernel} ${id} ${dtype}`);
  }

  /** The variant that computes (N, C, OC) here. */
  pick(kernel: MatmulKernel, N: number, C: number, OC: number, dtype: WeightDtype): MatmulVariant {
    const usable = (id: string | undefined) => {
      if (id === undefined || this.isExcluded(kernel, id, dtype)) return null;
      const variant = variantById(kernel, id);
      return variant.fits(N, C, OC) && this.isAvailable(variant) ? variant : null;
    };
    return (
      usable(this.pinned.get(kernel)) ??
      usable(this.tuned.get(shapeKey(kernel, rowClassOf(N), C, OC, dtype))) ??
      usable(staticChoice(N, C)) ??
      variantById(kernel, PLAIN)
    );
  }
}

/**
 * Before (or without) tuning: the direct kernels where the reduction is narrow or the rows are few (no barriers,
 * no idle tile rows), the staged tiles otherwise.
 */
function staticChoice(N: number, C: number): string {
  if (N <= MAX_RB) return 'direct_x16_y1';
  return C <= 256 ? 'direct_x16_y16_r4' : PLAIN;
}

export type KernelFault = 'compile' | 'wrong';

/** `code` as a variant with an injected fault is built. */
function faulted(ctx: GpuContext, kernel: MatmulKernel, id: string, code: string): string {
  const fault = matmulChoices(ctx).faultOf(kernel, id);
  if (fault === 'compile') return `${code}\nthis line is not WGSL;\n`;
  if (fault === 'wrong') return code.replace(/(vec4<f32>|f32)\(weight\[/g, '1.01 * $1(weight[');
  return code;
}

const choicesByContext = new WeakMap<GpuContext, MatmulChoices>();

/** The matmul choices of `ctx`, made on first use. */
export function matmulChoices(ctx: GpuContext): MatmulChoices {
  let choices = choicesByContext.get(ctx);
  if (!choices) {
    choices = new MatmulChoices({ subgroups: ctx.subgroups });
    choicesByContext.set(ctx, choices);
  }
  return choices;
}
