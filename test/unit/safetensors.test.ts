import path from 'node:path';
import { describe, expect, test } from 'vitest';
import {
  assertFitsGpu,
  checkTensorsFit,
  ModelFileMissingError,
  ModelTooLargeError,
  SafetensorsError,
  TensorMissingError,
  UnsupportedDtypeError,
} from '../../src/model/errors';
import { bytesSource, memoryFiles, type ByteSource } from '../../src/model/files';
import { dirFiles } from '../../src/model/node-files';
import {
  openModelWeights,
  openSafetensors,
  toFloat16Bits,
  toFloat32,
  writeSafetensors,
  type TensorData,
} from '../../src/model/safetensors';
import { toF16 } from '../../src/model/f16';
import { randn, seeded } from '../util';

const stories = path.resolve(__dirname, '../fixtures/stories260K');

/** A file with the given header (object or raw text) and `dataBytes` zero bytes of data. */
function rawFile(header: unknown, dataBytes = 0): Uint8Array {
  const json = new TextEncoder().encode(typeof header === 'string' ? header : JSON.stringify(header));
  const out = new Uint8Array(8 + json.byteLength + dataBytes);
  new DataView(out.buffer).setUint32(0, json.byteLength, true);
  out.set(json, 8);
  return out;
}

async function openBytes(bytes: Uint8Array, name = 'test.safetensors') {
  return openSafetensors(bytesSource(name, bytes));
}

async function invalidReason(bytes: Uint8Array): Promise<string> {
  const error = await openBytes(bytes).then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(SafetensorsError);
  expect((error as SafetensorsError).message).toContain('test.safetensors is not a valid safetensors file');
  return (error as SafetensorsError).reason;
}

describe('stories260K fixture', () => {
  test('header lists every tensor with its dtype and shape, and reads the right bytes', async () => {
    const st = await openSafetensors(await dirFiles(stories).open('model.safetensors'));
    expect(st.metadata).toEqual({ format: 'pt' });
    expect(st.tensors.size).toBe(2 + 5 * 9);
    expect(st.tensors.get('model.embed_tokens.weight')).toEqual({
      name: 'model.embed_tokens.weight',
      dtype: 'F32',
      shape: [512, 64],
      byteLength: 512 * 64 * 4,
    });
    expect(st.tensors.get('model.layers.0.self_attn.k_proj.weight')?.shape).toEqual([32, 64]);
    // First values as read by Python's struct module from the same file.
    const embed = toFloat32('F32', await st.read('model.embed_tokens.weight'));
    expect(embed.length).toBe(512 * 64);
    expect([...embed.subarray(0, 4)]).toEqual([-0.29474878311157227, 0.5618956089019775, 0.1754225343465805, 0.34057360887527466]);
    const norm = toFloat32('F32', await st.read('model.norm.weight'));
    expect([...norm.subarray(0, 2)]).toEqual([2.4583089351654053, 1.3673226833343506]);
    await expect(st.read('lm_head.weight')).rejects.toBeInstanceOf(TensorMissingError);
  });

  test('openModelWeights finds the single model.safetensors in a folder', async () => {
    const weights = await openModelWeights(dirFiles(stories));
    expect(weights.tensors.size).toBe(47);
    const up = toFloat32('F32', await weights.read('model.layers.4.mlp.up_proj.weight'));
    expect(up[1]).toBe(-0.10506685078144073);
  });
});

describe('writeSafetensors', () => {
  const rng = seeded(7);
  const a = randn(rng, 3 * 5);
  const b = toF16(randn(rng, 7));
  const c = new Uint16Array(4);
  const bf = new Uint16Array([0x3f80, 0xc000, 0x0000, 0x7f80, 0x4049]);
  const tensors: TensorData[] = [
    { name: 'half', dtype: 'F16', shape: [7], data: b },
    { name: 'w', dtype: 'F32', shape: [3, 5], data: a },
    { name: 'empty', dtype: 'F32', shape: [0, 4], data: new Float32Array(0) },
    { name: 'zeros', dtype: 'F16', shape: [2, 2], data: c },
    { name: 'brain', dtype: 'BF16', shape: [5], data: bf },
  ];

  test('round trip keeps names, dtypes, shapes, bytes and metadata', async () => {
    const bytes = writeSafetensors(tensors, { format: 'pt', note: 'x' });
    const st = await openBytes(bytes);
    expect(st.metadata).toEqual({ format: 'pt', note: 'x' });
    expect([...st.tensors.keys()].sort()).toEqual(['brain', 'empty', 'half', 'w', 'zeros']);
    expect(toFloat32('F32', await st.read('w'))).toEqual(a);
    expect(new Uint16Array((await st.read('half')).slice().buffer)).toEqual(b);
    expect(toFloat32('BF16', await st.read('brain'))).toEqual(new Float32Array([1, -2, 0, Infinity, 3.140625]));
    expect((await st.read('empty')).byteLength).toBe(0);
    expect(st.tensors.get('zeros')).toEqual({ name: 'zeros', dtype: 'F16', shape: [2, 2], byteLength: 8 });
  });

  test('header is padded to 8 bytes and every tensor starts at a multiple of its item size, with no holes', () => {
    const bytes = writeSafetensors(tensors);
    const n = new DataView(bytes.buffer).getUint32(0, true);
    expect(n % 8).toBe(0);
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n))) as Record<
      string,
      { dtype: string; data_offsets: [number, number] }
    >;
    const spans = Object.values(header).sort((x, y) => x.data_offsets[0] - y.data_offsets[0]);
    let end = 0;
    for (const s of spans) {
      expect(s.data_offsets[0]).toBe(end);
      expect(s.data_offsets[0] % (s.dtype === 'F32' ? 4 : 2)).toBe(0);
      end = s.data_offsets[1];
    }
    expect(8 + n + end).toBe(bytes.byteLength);
  });

  test('rejects data whose length does not match the shape', () => {
    expect(() => writeSafetensors([{ name: 'x', dtype: 'F32', shape: [2, 2], data: new Float32Array(3) }])).toThrow(/16 bytes/);
  });
});

describe('validation before any data is read', () => {
  test('a file shorter than 8 bytes', async () => {
    expect(await invalidReason(new Uint8Array(5))).toMatch(/5 bytes long/);
  });

  test('a garbage header length is refused without reading or allocating it', async () => {
    const reads: [number, number][] = [];
    const huge: ByteSource = {
      name: 'test.safetensors',
      size: 2 ** 42,
      read: async (offset, length) => {
        reads.push([offset, length]);
        if (length > 8) throw new Error('read more than the length prefix');
        const head = new Uint8Array(8);
        new DataView(head.buffer).setUint32(4, 0x100, true); // 2^40
        return head;
      },
    };
    const error = await openSafetensors(huge).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SafetensorsError);
    expect((error as SafetensorsError).reason).toMatch(/exceeds 100000000 bytes/);
    expect(reads).toEqual([[0, 8]]);
  });

  test('a header length past the end of the file (truncated download)', async () => {
    const bytes = rawFile({});
    new DataView(bytes.buffer).setUint32(0, 1000, true);
    expect(await invalidReason(bytes)).toMatch(/runs past the end/);
  });

  test('a header length below 2', async () => {
    const bytes = rawFile('{}');
    new DataView(bytes.buffer).setUint32(0, 1, true);
    expect(await invalidReason(bytes)).toMatch(/header length is 1/);
  });

  test('a header that is not UTF-8, not JSON, or not an object', async () => {
    const bad = rawFile('{"a":1}');
    bad[9] = 0xff;
    expect(await invalidReason(bad)).toMatch(/not UTF-8/);
    expect(await invalidReason(rawFile('{"a": '))).toMatch(/not JSON/);
    expect(await invalidReason(rawFile('[1, 2]'))).toMatch(/not a JSON object/);
    expect(await invalidReason(rawFile('null'))).toMatch(/not a JSON object/);
  });

  test('an unsupported dtype names the dtype and the tensor', async () => {
    const error = await openBytes(rawFile({ ids: { dtype: 'I64', shape: [2], data_offsets: [0, 16] } }, 16)).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(UnsupportedDtypeError);
    expect((error as Error).message).toMatch(/Tensor ids in test.safetensors has dtype I64/);
  });

  test.each([
    [{ x: { dtype: 'F32', shape: [2, -1], data_offsets: [0, 0] } }, /not a list of non-negative integers/],
    [{ x: { dtype: 'F32', shape: [1.5], data_offsets: [0, 4] } }, /not a list of non-negative integers/],
    [{ x: { dtype: 'F32', shape: 'big', data_offsets: [0, 4] } }, /not a list of non-negative integers/],
    [{ x: { dtype: 'F32', shape: [2], data_offsets: [0] } }, /not \[begin, end\]/],
    [{ x: { dtype: 'F32', shape: [2], data_offsets: [0, 4] } }, /needs 8 bytes but data_offsets span 4/],
    [{ x: { dtype: 'F32', shape: [2], data_offsets: [8, 0] } }, /needs 8 bytes/],
    [{ x: { dtype: 'F16', shape: [8], data_offsets: [8, 24] } }, /ends at byte 24 of a 16-byte data region/],
    [
      {
        x: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
        y: { dtype: 'F32', shape: [2], data_offsets: [4, 12] },
      },
      /tensors x and y overlap/,
    ],
    [{ x: { shape: [2], data_offsets: [0, 8] } }, /tensor x has no dtype/],
    [{ x: [1, 2] }, /entry of tensor x is not an object/],
    [{ __metadata__: { n: 1 } }, /__metadata__ is not a map of strings/],
    [{ x: { dtype: 'F32', shape: [2 ** 30, 2 ** 30], data_offsets: [0, 8] } }, /impossible shape/],
  ])('header %j is refused', async (header, reason) => {
    expect(await invalidReason(rawFile(header, 16))).toMatch(reason);
  });

  test('a valid file cut short fails at open, naming the tensor past the end', async () => {
    const bytes = writeSafetensors([{ name: 'w', dtype: 'F32', shape: [4, 4], data: new Float32Array(16) }]);
    expect(await invalidReason(bytes.subarray(0, bytes.byteLength - 1))).toMatch(/tensor w ends at byte 64 of a 63-byte/);
  });

  test('zero-length tensors may share an offset with others', async () => {
    const st = await openBytes(
      rawFile(
        {
          x: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
          none: { dtype: 'F32', shape: [0], data_offsets: [4, 4] },
        },
        8,
      ),
    );
    expect(st.tensors.size).toBe(2);
  });
});

describe('sharded weights', () => {
  const rng = seeded(3);
  const a = randn(rng, 6);
  const b = randn(rng, 4);
  const shard1 = writeSafetensors([{ name: 'a', dtype: 'F32', shape: [2, 3], data: a }]);
  const shard2 = writeSafetensors([{ name: 'b', dtype: 'F32', shape: [4], data: b }]);
  const index = JSON.stringify({
    metadata: { total_size: 40 },
    weight_map: { a: 'model-00001-of-00002.safetensors', b: 'model-00002-of-00002.safetensors' },
  });

  test('the index joins every shard', async () => {
    const weights = await openModelWeights(
      memoryFiles({
        'model.safetensors.index.json': index,
        'model-00001-of-00002.safetensors': shard1,
        'model-00002-of-00002.safetensors': shard2,
      }),
    );
    expect([...weights.tensors.keys()].sort()).toEqual(['a', 'b']);
    expect(toFloat32('F32', await weights.read('a'))).toEqual(a);
    expect(toFloat32('F32', await weights.read('b'))).toEqual(b);
    await expect(weights.read('c')).rejects.toBeInstanceOf(TensorMissingError);
  });

  test('a missing shard is named', async () => {
    const error = await openModelWeights(
      memoryFiles({ 'model.safetensors.index.json': index, 'model-00001-of-00002.safetensors': shard1 }, 'my-model'),
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ModelFileMissingError);
    expect((error as Error).message).toMatch(/^my-model has no model-00002-of-00002.safetensors/);
  });

  test('no weights at all names model.safetensors', async () => {
    const error = await openModelWeights(memoryFiles({ 'config.json': '{}' })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ModelFileMissingError);
    expect((error as ModelFileMissingError).file).toBe('model.safetensors');
  });

  test('a broken index and a tensor stored twice are refused', async () => {
    await expect(
      openModelWeights(memoryFiles({ 'model.safetensors.index.json': '{"weight_map": [1]}' })),
    ).rejects.toThrow(/has no weight_map/);
    const twice = JSON.stringify({ weight_map: { a: 's1.safetensors', b: 's2.safetensors' } });
    await expect(
      openModelWeights(memoryFiles({ 'model.safetensors.index.json': twice, 's1.safetensors': shard1, 's2.safetensors': shard1 })),
    ).rejects.toThrow(/tensor a is also stored in another shard/);
  });
});

describe('dtype conversion', () => {
  const f16 = (...bits: number[]) => new Uint8Array(new Uint16Array(bits).buffer);

  test('F16 to F32 on known values, including subnormals, infinities and NaN', () => {
    const out = toFloat32('F16', f16(0x3c00, 0xc000, 0x7bff, 0x0001, 0x0400, 0x7c00, 0xfc00, 0x8000, 0x3555, 0x7e00));
    expect([...out.subarray(0, 9)]).toEqual([1, -2, 65504, 2 ** -24, 2 ** -14, Infinity, -Infinity, -0, 0.333251953125]);
    expect(out[9]).toBeNaN();
  });

  test('every finite or infinite half survives F16 -> F32 -> F16 exactly', () => {
    const all = new Uint16Array(65536).map((_, i) => i);
    const back = toF16(toFloat32('F16', new Uint8Array(all.buffer)));
    for (let h = 0; h < 65536; h++) {
      const isNaN = (h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0;
      if (isNaN) expect(back[h] & 0x7fff).toBeGreaterThan(0x7c00);
      else if (back[h] !== h) expect.fail(`half 0x${h.toString(16)} came back as 0x${back[h].toString(16)}`);
    }
  });

  test('F32 to F16 rounds to nearest even, overflows to infinity and underflows to zero', () => {
    const values = new Float32Array([
      1 + 2 ** -11, // halfway between 1 and the next half: ties to even (1)
      1 + 3 * 2 ** -11, // halfway, rounds up to even
      1 + 2 ** -11 + 2 ** -20, // just above halfway
      65519, // rounds down to the largest half
      65520, // rounds to infinity
      2 ** -25, // halfway to the smallest subnormal: ties to even (0)
      1.5 * 2 ** -25, // rounds to the smallest subnormal
      2 ** -26,
      -3 * 2 ** -24,
      1e-40, // an f32 subnormal
      -1e10,
    ]);
    expect([...toF16(values)]).toEqual([
      0x3c00, 0x3c02, 0x3c01, 0x7bff, 0x7c00, 0x0000, 0x0001, 0x0000, 0x8003, 0x0000, 0xfc00,
    ]);
  });

  test('BF16 widens exactly and rounds to F16', () => {
    const bits = f16(0x3f80, 0x4049, 0xbf00, 0x7f80);
    expect([...toFloat32('BF16', bits)]).toEqual([1, 3.140625, -0.5, Infinity]);
    expect([...toFloat16Bits('BF16', bits)]).toEqual([0x3c00, 0x4248, 0xb800, 0x7c00]);
  });

  test('works on unaligned views of a larger buffer', () => {
    const buffer = new Uint8Array(1 + 8);
    buffer.set(new Uint8Array(new Float32Array([1.5, -2]).buffer), 1);
    expect([...toFloat32('F32', buffer.subarray(1))]).toEqual([1.5, -2]);
    expect([...toFloat16Bits('F32', buffer.subarray(1))]).toEqual([0x3e00, 0xc000]);
    const halves = new Uint8Array(1 + 4);
    halves.set(f16(0x3c00, 0x4000), 1);
    expect([...toFloat32('F16', halves.subarray(1))]).toEqual([1, 2]);
    expect(() => toFloat32('F16', new Uint8Array(3))).toThrow(/3 bytes/);
  });
});

describe('checkTensorsFit', () => {
  const limits = { maxStorageBufferBindingSize: 1024, maxBufferSize: 4096 };
  test('passes tensors within the smaller limit', () => {
    expect(() => checkTensorsFit([{ name: 'a', shape: [16, 16] }], limits, 4)).not.toThrow();
  });
  test('names the first tensor that does not fit and the limit', () => {
    const error = (() => {
      try {
        checkTensorsFit([{ name: 'a', shape: [16, 16] }, { name: 'lm_head.weight', shape: [16, 17] }], limits, 4);
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(ModelTooLargeError);
    expect((error as Error).message).toMatch(/Tensor lm_head.weight needs .* MiB .* \(maxStorageBufferBindingSize\)/);
    expect(() => checkTensorsFit([{ name: 'a', shape: [16, 17] }], limits, 2)).not.toThrow();
  });
  test('assertFitsGpu uses the smaller of the two limits', () => {
    expect(() => assertFitsGpu('t', 4096, { maxStorageBufferBindingSize: 8192, maxBufferSize: 4095 })).toThrow(/\(maxBufferSize\)/);
    expect(() => assertFitsGpu('t', 4096, { maxStorageBufferBindingSize: 8192, maxBufferSize: 4096 })).not.toThrow();
  });
});

describe('dirFiles', () => {
  test('lists the folder, reads byte ranges, and names missing files', async () => {
    const files = dirFiles(stories);
    expect(files.list()).toEqual(expect.arrayContaining(['config.json', 'model.safetensors', 'goldens.json']));
    const source = await files.open('model.safetensors');
    expect(source.size).toBe(1044984);
    const tail = await source.read(source.size - 4, 100);
    expect(tail.byteLength).toBe(4);
    const all = await source.read(0, source.size);
    expect([...(await source.read(1000, 16))]).toEqual([...all.subarray(1000, 1016)]);
    await expect(files.open('tokenizer.json')).rejects.toBeInstanceOf(ModelFileMissingError);
    await expect(files.open('../hub.test.ts')).rejects.toThrow(/has no \.\.\/hub.test.ts/);
  });
});
