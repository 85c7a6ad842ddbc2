// The backward pass of forward.ts, mirrored line by line from the head back to the embedding: the gradient of
// the final hidden states (from a head) flows through every layer into the LoRA gradients (dA, dB accumulate).
// The frozen weights get no gradient. Scratch gradients are zeroed here before each accumulation. With gradient
// checkpointing (acts.recompute) each layer's activations are first recomputed from the input it kept.
// Dimension letters as in forward.ts.
import type { GpuWeight } from '../gpu/context';
import { attentionBackward } from '../kernels/attention_backward';
import { loraBackward } from '../kernels/lora';
import { matmulBackwardInput } from '../kernels/matmul_backward';
import { rmsnormBackward } from '../kernels/rmsnorm_backward';
import { ropeBackward } from '../kernels/rope_backward';
import { scatterRows } from '../kernels/scatter';
import { swigluBackward } from '../kernels/swiglu_backward';
import type { ModelConfig } from './config';
import { layerForward, moduleSeed, selfCache, type Activations, type Dropout, type ModelOnGpu, type PassInputs } from './forward';
import type { GpuLora, LoraTarget } from './lora';
import type { Make } from './memory';

/** Scratch gradients of one pass (each reused by every layer). */
export interface Gradients<Buf = GPUBuffer> {
  dhidden: Buf; // (M, C) the head's gradient of the final-norm hidden states; the head writes it
  dheadIn: Buf; // (M, C)
  dx: Buf; // (N, C) gradient of the residual stream
  dxn: Buf; // (N, C)
  dq: Buf; // (N, NH*HS)
  dk: Buf; // (N, NKV*HS)
  dv: Buf; // (N, NKV*HS)
  datt: Buf; // (N, NH*HS)
  dgate: Buf; // (N, H)
  dup: Buf; // (N, H)
  dmlp: Buf; // (N, H)
  du: Buf; // (N, R)
  stats: Buf; // (B, NH, T, 2) attention softmax statistics, i.e. (N, NH * 2)
}

export function layoutGradients<Buf>(make: Make<Buf>, config: ModelConfig, N: number, M: number, R: number): Gradients<Buf> {
  const { hiddenSize: C, intermediateSize: H, numHeads: NH, numKvHeads: NKV, headDim: HS } = config;
  const f32 = (label: string, width: number, rows = N) => make('gradients', label, rows * width * 4);
  return {
    dhidden: f32('dhidden', C, M),
    dheadIn: f32('dheadIn', C, M),
    dx: f32('dx', C),
    dxn: f32('dxn', C),
    dq: f32('dq', NH * HS),
    dk: f32('dk', NKV * HS),
    dv: f32('dv', NKV * HS),
    datt: f32('datt', NH * HS),
    dgate: f32('dgate', H),
    dup: f32('dup', H),
    dmlp: f32('dmlp', H),
    du: f32('du', R),
    stats: f32('attention stats', NH * 2),
  };
}

/**
 * Backpropagates grads.dhidden (M, C), written by the head, through the pass forward() recorded into `acts`
 * (training activations, the same inputs and dropout) into the LoRA gradients of `lora`.
 */
export function backward(model: ModelOnGpu, lora: GpuLora, acts: Activations, grads: Gradients, inp: PassInputs, dropout: Dropout | null): void {
  const { ctx, config, weights } = model;
  const { hiddenSize: C, intermediateSize: H, numHeads: NH, numKvHeads: NKV, headDim: HS, rmsNormEps: eps } = config;
  const { B, T, M } = inp;
  const N = B * T;
  const KV = NKV * HS;
  const d = grads;
  // dinp += dout @ W, plus the LoRA module's backward (its dA, dB accumulate).
  const projectBackward = (dinp: GPUBuffer, dout: GPUBuffer, x: GPUBuffer, weight: GpuWeight, l: number, target: LoraTarget, inF: number, outF: number) => {
    matmulBackwardInput(ctx, dinp, dout, weight, N, inF, outF);
    const m = lora.get(l, target);
    if (!m) return;
    const u = acts.layers[l].u.get(target)!;
    loraBackward(ctx, dinp, m.dA, m.dB, d.du, dout, x, u, m.A, m.B, lora.scale, N, inF, lora.adapter.rank, outF, dropout?.p ?? 0, dropout ? moduleSeed(dropout.seed, l, target) : 0);
  };

  // hidden = norm(x[headRows]); token rows the head does not read get no gradient from it.
  ctx.clear(d.dx);
  if (inp.headRows) {
    ctx.clear(d.dheadIn);
    rmsnormBackward(ctx, d.dheadIn, d.dhidden, acts.headIn, weights.finalNorm, M, C, eps);
    scatterRows(ctx, d.dx, d.dheadIn, inp.headRows, M, C);
  } else {
    rmsnormBackward(ctx, d.dx, d.dhidden, acts.xOut, weights.finalNorm, M, C, eps);
  }
  for (let l = config.numLayers - 1; l >= 0; l--) {
    // The shared buffers still hold the last layer's activations from the forward pass.
    if (acts.recompute && l < config.numLayers - 1) layerForward(model, lora, acts, selfCache(acts, B, T), inp, dropout, l, null);
    const s = acts.layers[l];
    const w = weights.layers[l];
    // x_next = xMid + down(silu(gate(xn2)) * up(xn2)), xn2 = norm(xMid); dx holds d x_next.
    ctx.clear(d.dmlp);
    projectBackward(d.dmlp, d.dx, s.mlp, w.down, l, 'down_proj', H, C);
    ctx.clear(d.dgate);
    ctx.clear(d.dup);
    swigluBackward(ctx, d.dgate, d.dup, d.dmlp, s.gate, s.up, N, H);
    ctx.clear(d.dxn);
    projectBackward(d.dxn, d.dgate, s.xn2, w.gate, l, 'gate_proj', C, H);
    projectBackward(d.dxn, d.dup, s.xn2, w.up, l, 'up_proj', C, H);
    rmsnormBackward(ctx, d.dx, d.dxn, s.xMid, w.postNorm, N, C, eps); // dx now holds d xMid
    // xMid = xIn + o(attention(rope(q(xn1)), rope(k(xn1)), v(xn1))), xn1 = norm(xIn)
    ctx.clear(d.datt);
    projectBackward(d.datt, d.dx, s.att, w.o, l, 'o_proj', NH * HS, C);
    ctx.clear(d.dq);
    ctx.clear(d.dk);
    ctx.clear(d.dv);
    attentionBackward(ctx, d.dq, d.dk, d.dv, d.stats, d.datt, s.q, s.k, s.v, B, T, NH, NKV, HS);
    ropeBackward(ctx, d.dq, inp.positions, N, NH, HS, config.ropeTheta);
    ropeBackward(ctx, d.dk, inp.positions, N, NKV, HS, config.ropeTheta);
    ctx.clear(d.dxn);
    projectBackward(d.dxn, d.dq, s.xn1, w.q, l, 'q_proj', C, NH * HS);
    projectBackward(d.dxn, d.dk, s.xn1, w.k, l, 'k_proj', C, KV);
    projectBackward(d.dxn, d.dv, s.xn1, w.v, l, 'v_proj', C, KV);
    rmsnormBackward(ctx, d.dx, d.dxn, s.xIn, w.inputNorm, N, C, eps); // dx now holds d xIn
  }
}

