import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { applyKernelChecks, type KernelCheck } from '../../src/engine/kernel-checks';
import { parseKernelPins } from '../../src/engine/kernel-setup';
import { hotShapes } from '../../src/engine/kernel-tuning';
import { MatmulChoices } from '../../src/kernels/matmul-variants';
import { defaultKernelCachePath, fileKernelCache } from '../../src/cli/kernel-cache-file';
import { tinyConfig } from '../fixtures/random-model';

const pass = (kernel: KernelCheck['kernel'], variant: string, dtype: 'f32' | 'f16'): KernelCheck => ({ kernel, variant, dtype, status: 'pass', maxError: 1e-7, tolerance: 1e-4, reason: null });
const fail = (check: KernelCheck, reason: string): KernelCheck => ({ ...check, status: 'fail', maxError: null, reason });

describe('applying kernel checks', () => {
  test('a failed f16 variant other than the plain one is excluded and the weights stay f16', () => {
    const choices = new MatmulChoices();
    const result = applyKernelChecks(choices, true, [pass('matmul_forward', 'tiled', 'f16'), fail(pass('matmul_forward', 'direct_x16_y1', 'f16'), 'max error 1e-2')]);
    expect(result).toEqual({ weightDtype: 'f16', fallback: null });
    expect(choices.isExcluded('matmul_forward', 'direct_x16_y1', 'f16')).toBe(true);
    expect(choices.isExcluded('matmul_forward', 'direct_x16_y1', 'f32')).toBe(false);
    expect(choices.pick('matmul_forward', 1, 576, 576, 'f16').id).toBe('tiled');
  });

  test('a failed plain f16 kernel or f16 embedding sends the weights back to f32 and says why', () => {
    for (const broken of [pass('matmul_backward_input', 'tiled', 'f16'), pass('embedding_forward', 'plain', 'f16')]) {
      const result = applyKernelChecks(new MatmulChoices(), true, [pass('matmul_forward', 'tiled', 'f16'), fail(broken, 'Shader failed to compile')]);
      expect(result.weightDtype).toBe('f32');
      expect(result.fallback).toBe(`f16 weights fall back to f32: ${broken.kernel} with f16 weights failed its check (Shader failed to compile)`);
    }
  });

  test('without shader-f16 the weights are f32 with no fallback to report', () => {
    const notAvailable: KernelCheck = { ...pass('matmul_forward', 'tiled', 'f16'), status: 'not available', maxError: null, reason: 'this GPU lacks the shader-f16 feature' };
    expect(applyKernelChecks(new MatmulChoices(), false, [notAvailable])).toEqual({ weightDtype: 'f32', fallback: null });
  });
});

describe('kernel pins', () => {
  test('parse kernel=variant lists and refuse unknown names', () => {
    expect(parseKernelPins(undefined)).toEqual({});
    expect(parseKernelPins(' matmul_forward=direct_x8_y1 , matmul_backward_input=tiled ')).toEqual({ matmul_forward: 'direct_x8_y1', matmul_backward_input: 'tiled' });
    expect(() => parseKernelPins('matmul=tiled')).toThrow(/kernel must be one of matmul_forward, matmul_backward_input/);
    expect(() => parseKernelPins('matmul_forward=fast')).toThrow(/matmul_forward has no variant 'fast'/);
    expect(() => parseKernelPins('matmul_forward')).toThrow(/kernel=variant/);
  });
});

describe('hot shapes', () => {
  test('each distinct projection shape once, with the modules that share it', () => {
    const config = tinyConfig({ hiddenSize: 576, intermediateSize: 1536, numHeads: 9, numKvHeads: 3, headDim: 64, vocabSize: 49152 });
    expect(hotShapes(config)).toEqual([
      { C: 576, OC: 576, modules: ['q_proj', 'o_proj'] },
      { C: 576, OC: 192, modules: ['k_proj, v_proj'] },
      { C: 576, OC: 1536, modules: ['gate_proj, up_proj'] },
      { C: 1536, OC: 576, modules: ['down_proj'] },
      { C: 576, OC: 49152, modules: ['lm_head'] },
    ]);
  });
});

describe('the Node kernel cache file', () => {
  test('keeps entries across instances and reads a corrupt file as empty', async () => {
    const file = path.join(await mkdtemp(path.join(tmpdir(), 'kernel-cache-')), 'sub', 'kernels.json');
    await fileKernelCache(file).set('a', { x: 1 });
    await fileKernelCache(file).set('b', [2]);
    expect(await fileKernelCache(file).get('a')).toEqual({ x: 1 });
    expect(JSON.parse(await readFile(file, 'utf8'))).toEqual({ a: { x: 1 }, b: [2] });
    await writeFile(file, '{ not json');
    expect(await fileKernelCache(file).get('a')).toBeUndefined();
  });

  test('lives where the environment says', () => {
    expect(defaultKernelCachePath({ INSTRUCT_STUDIO_KERNEL_CACHE: '/x/k.json' })).toBe('/x/k.json');
    expect(defaultKernelCachePath({ XDG_CACHE_HOME: '/c' })).toBe(path.join('/c', 'instruct-studio', 'kernels.json'));
  });
});
