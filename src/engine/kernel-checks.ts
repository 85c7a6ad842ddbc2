// Known-answer checks of the kernels that have variants or f16 weights, on the GPU they will run on: each variant
// (f32 and, where the device has shader-f16, f16 weights; one that needs a feature the device lacks, such as
// subgroups, reports "not available") on small odd shapes against its CPU twin. A variant
// that fails to compile or misses its answer is excluded from the context's choices; an f16 failure of a kernel's
// plain variant (which every shape may fall back to) sends the weights back to f32. `cli selftest` prints them all.
import type { GpuContext, GpuWeight } from '../gpu/context';
import { embeddingForward } from '../kernels/embedding';
import { matmulForward } from '../kernels/matmul';
import { matmulBackwardInput } from '../kernels/matmul_backward';
import { matmulChoices, matmulKernels, PLAIN, variantById, variantsOf, type MatmulChoices, type MatmulKernel, type WeightDtype } from '../kernels/matmul-variants';
import { embeddingForward as embeddingForwardRef } from '../ref/embedding';
import { matmulForward as matmulForwardRef } from '../ref/matmul';
import { matmulBackwardInput as matmulBackwardInputRef } from '../ref/matmul_backward';
import { mulberry32 } from '../data/split';
import { roundToF16, toF16 } from '../model/f16';

export type CheckedKernel = MatmulKernel | 'embedding_forward';

export interface KernelCheck {
  kernel: CheckedKernel;
  variant: string;
  dtype: WeightDtype;
  status: 'pass' | 'fail' | 'not available';
  /** Largest |gpu - twin| / max(1, |twin|) over the shapes checked; null when it did not run. */
  maxError: number | null;
  tolerance: number;
  /** Why it failed or was not available (the compiler's message, the error against the tolerance, a missing feature). */
  reason: string | null;
}

/** f16 variants convert each weight to f32 before an f32 fma, so against the twin on f16-rounded weights they match as closely as f32. */
const TOLERANCE = 1e-4;

// Odd shapes: a single row, rows past a block of 8 and past a 64-row tile, partial 16-chunks, and a width that is
// not a multiple of 4 (which only the plain kernels take). Few row counts, as each is a pipeline to compile.
const forwardShapes = [
  { N: 1, C: 36, OC: 37 },
  { N: 13, C: 132, OC: 67 },
  { N: 70, C: 36, OC: 69 },
  { N: 5, C: 33, OC: 17 },
];
const inputShapes = [
  { N: 1, C: 36, OC: 20 },
  { N: 13, C: 68, OC: 44 },
  { N: 70, C: 36, OC: 68 },
  { N: 5, C: 33, OC: 17 },
];

/** Runs every check on `ctx` (f16 ones report 'not available' without shader-f16). */
export async function runKernelChecks(ctx: GpuContext): Promise<KernelCheck[]> {
  const checks: KernelCheck[] = [];
  for (const dtype of ['f32', 'f16'] as const) {
    for (const kernel of matmulKernels) {
      for (const variant of variantsOf(kernel)) checks.push(await check(ctx, kernel, variant.id, dtype));
    }
    checks.push(await check(ctx, 'embedding_forward', 'plain', dtype));
  }
  return checks;
}

/** Which weights the model gets after `checks`, and which variants `choices` may no longer pick. */
export function applyKernelChecks(choices: MatmulChoices, shaderF16: boolean, checks: KernelCheck[]): { weightDtype: WeightDtype; fallback: string | null } {
  for (const c of checks) {
    if (c.status === 'fail' && c.kernel !== 'embedding_forward') choices.exclude({ kernel: c.kernel, variant: c.variant, dtype: c.dtype, reason: c.reason ?? 'failed' });
  }
  if (!shaderF16) return { weightDtype: 'f32', fallback: null };
  // The embedding has one kernel, and every matmul shape may fall back to the plain variant.
  const plainF16Failure = checks.find((c) => c.dtype === 'f16' && c.status === 'fail' && (c.variant === PLAIN || c.kernel === 'embedding_forward'));
  if (plainF16Failure) {
    return { weightDtype: 'f32', fallback: `f16 weights fall back to f32: ${plainF16Failure.kernel} with f16 weights failed its check (${plainF16Failure.reason})` };
  }
  return { weightDtype: 'f16', fallback: null };
}

async function check(ctx: GpuContext, kernel: CheckedKernel, variant: string, dtype: WeightDtype): Promise<KernelCheck> {
  const result = { kernel, variant, dtype, tolerance: TOLERANCE };
  if (dtype === 'f16' && !ctx.shaderF16) return { ...result, status: 'not available', maxError: null, reason: 'this GPU lacks the shader-f16 feature' };
  const choices = matmulChoices(ctx);
  const matmulVariant = kernel === 'embedding_forward' ? null : variantById(kernel, variant);
  if (matmulVariant && !choices.isAvailable(matmulVariant)) {
    return { ...result, status: 'not available', maxError: null, reason: `this GPU lacks the ${matmulVariant.feature} feature` };
  }
  // The check pins the variant it runs, then gives back whatever pin was there (a user's pins outlive a self-test).
  const previousPin = kernel === 'embedding_forward' ? null : choices.pinnedVariant(kernel);
  if (kernel !== 'embedding_forward') choices.pin(kernel, variant);
  const compileErrors: string[] = [];
  const report = ctx.onCompileError;
  ctx.onCompileError = (message) => compileErrors.push(message);
  ctx.device.pushErrorScope('validation');
  try {
    const maxError = await knownAnswerError(ctx, kernel, variant, dtype);
    await ctx.compilationsReported();
    const validation = await ctx.device.popErrorScope();
    if (compileErrors.length || validation) {
      return { ...result, status: 'fail', maxError: null, reason: compileErrors[0] ?? validation!.message };
    }
    const passed = maxError <= TOLERANCE;
    return { ...result, status: passed ? 'pass' : 'fail', maxError, reason: passed ? null : `max error ${maxError.toExponential(2)} over the tolerance ${TOLERANCE}` };
  } catch (error) {
    await ctx.compilationsReported();
    await ctx.device.popErrorScope();
    return { ...result, status: 'fail', maxError: null, reason: error instanceof Error ? error.message : String(error) };
  } finally {
    ctx.onCompileError = report;
    if (kernel !== 'embedding_forward') choices.pin(kernel, previousPin);
  }
}

/** The largest relative error of `variant` over the shapes it fits, against the CPU twin. */
async function knownAnswerError(ctx: GpuContext, kernel: CheckedKernel, variant: string, dtype: WeightDtype): Promise<number> {
  const rng = mulberry32(17);
  const random = (n: number) => Float32Array.from({ length: n }, () => rng() * 2 - 1);
  const weightOf = (values: Float32Array): [GpuWeight, Float32Array] =>
    dtype === 'f16' ? [{ buffer: ctx.upload(toF16(values)), dtype }, roundToF16(values)] : [{ buffer: ctx.upload(values), dtype }, values];
  const buffers: GPUBuffer[] = [];
  const upload = (data: ArrayBufferView) => {
    const buffer = ctx.upload(data);
    buffers.push(buffer);
    return buffer;
  };
  let worst = 0;
  try {
    if (kernel === 'embedding_forward') {
      const V = 37, C = 36, N = 13;
      const [wte, rounded] = weightOf(random(V * C));
      buffers.push(wte.buffer);
      const ids = Uint32Array.from({ length: N }, (_, n) => (n * 7) % V);
      const out = upload(new Float32Array(N * C));
      embeddingForward(ctx, out, upload(ids), wte, N, C);
      const expected = new Float32Array(N * C);
      embeddingForwardRef(expected, ids, rounded, N, C);
      return relativeError(await ctx.readF32(out), expected);
    }
    const variantOf = variantsOf(kernel).find((v) => v.id === variant)!;
    for (const { N, C, OC } of kernel === 'matmul_forward' ? forwardShapes : inputShapes) {
      if (!variantOf.fits(N, C, OC)) continue;
      const [weight, rounded] = weightOf(random(OC * C));
      buffers.push(weight.buffer);
      if (kernel === 'matmul_forward') {
        // With a bias and into a stream, so both flags are checked too.
        const inp = random(N * C), bias = random(OC), stream = random(N * OC);
        const out = upload(stream);
        matmulForward(ctx, out, upload(inp), weight, upload(bias), N, C, OC, true);
        const expected = stream.slice();
        matmulForwardRef(expected, inp, rounded, bias, N, C, OC, true);
        worst = Math.max(worst, relativeError(await ctx.readF32(out), expected));
      } else {
        const dinp = random(N * C), dout = random(N * OC);
        const out = upload(dinp);
        matmulBackwardInput(ctx, out, upload(dout), weight, N, C, OC);
        const expected = dinp.slice();
        matmulBackwardInputRef(expected, dout, rounded, N, C, OC);
        worst = Math.max(worst, relativeError(await ctx.readF32(out), expected));
      }
    }
    return worst;
  } finally {
    for (const buffer of buffers) buffer.destroy();
  }
}

function relativeError(actual: Float32Array, expected: Float32Array): number {
  let worst = 0;
  for (let i = 0; i < expected.length; i++) {
    const error = Math.abs(actual[i] - expected[i]) / Math.max(1, Math.abs(expected[i]));
    worst = Math.max(worst, Number.isNaN(error) ? Infinity : error);
  }
  return worst;
}
