// Times the matmul variants on the device for each hot shape of a model and keeps the fastest. Hot shapes are the
// model's projections and its LM head; each is timed at the representative rows of every row class the forward
// pass meets (decode, prefill, training) and, for the input gradient, the training classes. Wall-clock time per
// submit: timestamp queries are optional, and a few dispatches a candidate are enough to rank them.
import { Params, type GpuContext } from '../gpu/context';
import { matmulChoices, rowClasses, shapeKey, variantsOf, type MatmulKernel, type RowClass, type WeightDtype } from '../kernels/matmul-variants';
import { zeroBuffer } from '../kernels/shader';
import type { ModelConfig } from '../model/config';

/** One tuned shape: every fitting variant's time and the fastest. */
export interface TunedShape {
  key: string;
  kernel: MatmulKernel;
  rows: RowClass;
  C: number;
  OC: number;
  dtype: WeightDtype;
  variant: string;
  /** Milliseconds per dispatch of each variant timed. */
  ms: Record<string, number>;
}

/** The (C, OC) of each matmul the model runs, with the modules that have it. */
export function hotShapes(config: ModelConfig): { C: number; OC: number; modules: string[] }[] {
  const { hiddenSize: C, intermediateSize: H, numHeads: NH, numKvHeads: NKV, headDim: HS, vocabSize: V } = config;
  const all: [string, number, number][] = [
    ['q_proj', C, NH * HS], ['k_proj, v_proj', C, NKV * HS], ['o_proj', NH * HS, C],
    ['gate_proj, up_proj', C, H], ['down_proj', H, C], ['lm_head', C, V],
  ];
  const shapes = new Map<string, { C: number; OC: number; modules: string[] }>();
  for (const [module, inF, outF] of all) {
    const key = `${inF}x${outF}`;
    const shape = shapes.get(key) ?? { C: inF, OC: outF, modules: [] };
    shape.modules.push(module);
    shapes.set(key, shape);
  }
  return [...shapes.values()];
}

/** The (kernel, row class) pairs tuned: every class forward; the input gradient only runs in training. */
const tunedClasses: { kernel: MatmulKernel; rows: RowClass[] }[] = [
  { kernel: 'matmul_forward', rows: ['1', '2-8', '9-32', '33+'] },
  { kernel: 'matmul_backward_input', rows: ['9-32', '33+'] },
];

/**
 * A 152K vocabulary is timed on its first columns: the rate per column is the same, and a candidate's dispatch
 * stays short on a slow GPU.
 */
const MAX_TIMED_OC = 8192;
/** Dispatches of one candidate are repeated in one submit until they take this long, to rise above the submit's cost. */
const MIN_TIMED_MS = 2;
const MAX_REPEATS = 32;

/** The number of shapes tuneMatmuls times for `config` (for progress). */
export function tunedShapeCount(config: ModelConfig): number {
  return hotShapes(config).length * tunedClasses.reduce((a, c) => a + c.rows.length, 0);
}

/** Times every fitting variant of every tuned shape of `config` with `dtype` weights. */
export async function tuneMatmuls(ctx: GpuContext, config: ModelConfig, dtype: WeightDtype, onShape?: (done: number, total: number) => void): Promise<TunedShape[]> {
  const tuned: TunedShape[] = [];
  const total = tunedShapeCount(config);
  for (const { C, OC } of hotShapes(config)) {
    for (const { kernel, rows } of tunedClasses) {
      for (const rowClass of rows) {
        const N = rowClasses.find((c) => c.name === rowClass)!.tuneRows;
        const ms = await timeVariants(ctx, kernel, N, C, Math.min(OC, MAX_TIMED_OC), dtype);
        const variant = Object.entries(ms).sort((a, b) => a[1] - b[1])[0][0];
        tuned.push({ key: shapeKey(kernel, rowClass, C, OC, dtype), kernel, rows: rowClass, C, OC, dtype, variant, ms });
        onShape?.(tuned.length, total);
      }
    }
  }
  return tuned;
}

async function timeVariants(ctx: GpuContext, kernel: MatmulKernel, N: number, C: number, OC: number, dtype: WeightDtype): Promise<Record<string, number>> {
  const bytes = dtype === 'f16' ? 2 : 4;
  const weight = ctx.buffer(OC * C * bytes, 'tuning weight');
  const inp = ctx.buffer(N * (kernel === 'matmul_forward' ? C : OC) * 4, 'tuning input');
  const out = ctx.buffer(N * (kernel === 'matmul_forward' ? OC : C) * 4, 'tuning output');
  const buffers = kernel === 'matmul_forward' ? [out, inp, weight, zeroBuffer(ctx)] : [out, inp, weight];
  const params = (oc: number) => (kernel === 'matmul_forward' ? new Params().u32(N).u32(C).u32(oc).u32(0).u32(0) : new Params().u32(N).u32(C).u32(oc));
  const ms: Record<string, number> = {};
  try {
    for (const variant of variantsOf(kernel)) {
      const choices = matmulChoices(ctx);
      if (!variant.fits(N, C, OC) || !choices.isAvailable(variant) || choices.isExcluded(kernel, variant.id, dtype)) continue;
      // Compile and warm it on a narrow slice, then time the whole shape.
      const warm = Math.min(OC, 64);
      variant.record(ctx, buffers, params(warm), N, C, warm, dtype);
      await settle(ctx);
      const time = async (repeats: number) => {
        for (let r = 0; r < repeats; r++) variant.record(ctx, buffers, params(OC), N, C, OC, dtype);
        const start = performance.now();
        await settle(ctx);
        return (performance.now() - start) / repeats;
      };
      const once = await time(1);
      ms[variant.id] = once >= MIN_TIMED_MS ? once : await time(Math.min(MAX_REPEATS, Math.ceil(MIN_TIMED_MS / Math.max(once, 0.01))));
    }
  } finally {
    weight.destroy();
    inp.destroy();
    out.destroy();
  }
  return ms;
}

/** Submits what is recorded and waits for the GPU to finish it. */
async function settle(ctx: GpuContext): Promise<void> {
  ctx.submit();
  await ctx.device.queue.onSubmittedWorkDone();
}
