// The f16 weight kernels compile: every variant's WGSL, as the engine builds it for each launch shape, passes a
// second WGSL compiler (naga: parse, validate, SPIR-V) with f32 and with f16 weights. The tests' GPU has no
// shader-f16, so this is where the f16 sources are compiled at all; the device checks run them where it has.
import { parseWgsl, validate, writeSpirv } from 'naga-wasm';
import { describe, expect, test } from 'vitest';
import embeddingCode from '../../shaders/embedding_forward.wgsl?raw';
import { matmulKernels, variantById, variantsOf, type WeightDtype } from '../../src/kernels/matmul-variants';
import { variantSource } from '../../src/kernels/shader';

/** Compiles `code` to SPIR-V; throws naga's message when it is not valid WGSL. */
function compile(code: string): number {
  const module = parseWgsl(code);
  const info = validate(module);
  const words = writeSpirv(module, info).length;
  info.free();
  module.free();
  return words;
}

const dtypes: WeightDtype[] = ['f32', 'f16'];
// One decode row, decode batches that take the 4-row path and the general one, training rows.
const rowCounts = [1, 3, 8, 16, 64];

describe.each(matmulKernels)('%s variants compile with either weight dtype', (kernel) => {
  test.each(variantsOf(kernel).flatMap((v) => dtypes.map((dtype) => ({ id: v.id, dtype }))))('$id with $dtype weights', ({ id, dtype }) => {
    const variant = variantsOf(kernel).find((v) => v.id === id)!;
    const built = new Set<string>();
    for (const N of rowCounts) {
      const { label, code, values } = variant.shader(N);
      const [name, source] = variantSource(label, code, dtype, values);
      if (built.has(name)) continue;
      built.add(name);
      expect(source.startsWith('enable f16;')).toBe(dtype === 'f16');
      // naga has subgroup operations built in and refuses the `enable subgroups;` that Tint requires.
      expect(compile(variant.feature === 'subgroups' ? source.replace('enable subgroups;', '') : source), name).toBeGreaterThan(0);
    }
  });
});

test('the embedding compiles with f16 weights', () => {
  expect(compile(variantSource('embedding_forward', embeddingCode, 'f16')[1])).toBeGreaterThan(0);
});

test('an f16 source that mixes f16 weights into f32 sums without converting them is rejected', () => {
  const { label, code, values } = variantById('matmul_forward', 'direct_x16_y1').shader(1);
  const unconverted = code.replace('let w0 = vec4<f32>(weight[cols.x + k4]);', 'let w0 = weight[cols.x + k4];');
  expect(unconverted).not.toBe(code);
  expect(compile(variantSource(label, unconverted, 'f32', values)[1])).toBeGreaterThan(0);
  expect(() => compile(variantSource(label, unconverted, 'f16', values)[1])).toThrow(/invalid/i);
});
