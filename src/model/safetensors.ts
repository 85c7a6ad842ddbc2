// safetensors reading and writing. Layout: u64 LE header length N | N bytes of UTF-8 JSON header | data.
// The header maps tensor names to {dtype, shape, data_offsets: [begin, end]} (offsets relative to the data
// region) plus an optional "__metadata__" string map. Everything is validated from the header alone, before
// any tensor data is read, so a truncated or foreign file fails fast without allocating its claimed sizes.
import { SafetensorsError, TensorMissingError, UnsupportedDtypeError, ModelFileMissingError } from './errors';
import { toF16 } from './f16';
import { readText, type ByteSource, type ModelFiles } from './files';

export type Dtype = 'F32' | 'F16' | 'BF16';

const itemSize: Record<Dtype, number> = { F32: 4, F16: 2, BF16: 2 };

/** The safetensors library refuses headers above this size too. */
const maxHeaderBytes = 100_000_000;

export interface TensorInfo {
  name: string;
  dtype: Dtype;
  shape: number[];
  byteLength: number;
}

/** Named tensors whose bytes are read on demand: one safetensors file, or all shards of a model. */
export interface ModelWeights {
  tensors: Map<string, TensorInfo>;
  /** The tensor's raw little-endian bytes. */
  read(name: string): Promise<Uint8Array>;
}

export interface Safetensors extends ModelWeights {
  metadata: Record<string, string>;
}

export function isDtype(value: unknown): value is Dtype {
  return value === 'F32' || value === 'F16' || value === 'BF16';
}

export function dtypeSize(dtype: Dtype): number {
  return itemSize[dtype];
}

export async function openSafetensors(source: ByteSource): Promise<Safetensors> {
  const file = source.name;
  const fail = (reason: string): never => {
    throw new SafetensorsError(file, reason);
  };
  if (source.size < 8) fail(`it is ${source.size} bytes long, shorter than the 8-byte header length`);
  const head = await source.read(0, 8);
  const view = new DataView(head.buffer, head.byteOffset, 8);
  const low = view.getUint32(0, true);
  const high = view.getUint32(4, true);
  const headerLength = high * 2 ** 32 + low;
  if (headerLength < 2) fail(`the header length is ${headerLength}`);
  if (headerLength > maxHeaderBytes) fail(`the header length ${headerLength} exceeds ${maxHeaderBytes} bytes`);
  if (headerLength > source.size - 8) {
    fail(`the header length ${headerLength} runs past the end of the ${source.size}-byte file (truncated download?)`);
  }

  let text = '';
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(await source.read(8, headerLength));
  } catch {
    fail('the header is not UTF-8 text');
  }
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (e) {
    fail(`the header is not JSON (${(e as Error).message})`);
  }
  if (!isPlainObject(header)) fail('the header is not a JSON object');

  const dataStart = 8 + headerLength;
  const dataSize = source.size - dataStart;
  const tensors = new Map<string, TensorInfo>();
  const begins = new Map<string, number>();
  let metadata: Record<string, string> = {};
  for (const [name, entry] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (!isPlainObject(entry) || !Object.values(entry).every((v) => typeof v === 'string')) {
        fail('__metadata__ is not a map of strings');
      }
      metadata = entry as Record<string, string>;
      continue;
    }
    if (!isPlainObject(entry)) fail(`the entry of tensor ${name} is not an object`);
    const { dtype, shape, data_offsets: offsets } = entry as Record<string, unknown>;
    if (typeof dtype !== 'string') fail(`tensor ${name} has no dtype`);
    if (!isDtype(dtype)) throw new UnsupportedDtypeError(file, name, String(dtype));
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      fail(`tensor ${name} has shape ${JSON.stringify(shape)}, not a list of non-negative integers`);
    }
    const dims = shape as number[];
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0)) {
      fail(`tensor ${name} has data_offsets ${JSON.stringify(offsets)}, not [begin, end]`);
    }
    const [begin, end] = offsets as [number, number];
    const byteLength = dims.reduce((a, b) => a * b, 1) * itemSize[dtype as Dtype];
    if (!Number.isSafeInteger(byteLength)) fail(`tensor ${name} has an impossible shape ${JSON.stringify(dims)}`);
    if (end < begin || end - begin !== byteLength) {
      fail(`tensor ${name} (${dtype} ${JSON.stringify(dims)}) needs ${byteLength} bytes but data_offsets span ${end - begin}`);
    }
    if (end > dataSize) {
      fail(`tensor ${name} ends at byte ${end} of a ${dataSize}-byte data region (truncated download?)`);
    }
    tensors.set(name, { name, dtype: dtype as Dtype, shape: dims, byteLength });
    begins.set(name, begin);
  }

  const spans = [...tensors.values()]
    .filter((t) => t.byteLength > 0)
    .map((t) => ({ name: t.name, begin: begins.get(t.name)!, end: begins.get(t.name)! + t.byteLength }))
    .sort((a, b) => a.begin - b.begin);
  for (let i = 1; i < spans.length; i++) {
    if (spans[i].begin < spans[i - 1].end) fail(`tensors ${spans[i - 1].name} and ${spans[i].name} overlap`);
  }

  return {
    tensors,
    metadata,
    async read(name) {
      const info = tensors.get(name);
      if (!info) throw new TensorMissingError(name, file);
      const bytes = await source.read(dataStart + begins.get(name)!, info.byteLength);
      if (bytes.byteLength !== info.byteLength) fail(`the file ended while reading tensor ${name}`);
      return bytes;
    },
  };
}

/**
 * All weights of a model: the shards named by model.safetensors.index.json (its weight_map), or the single
 * model.safetensors.
 */
export async function openModelWeights(files: ModelFiles): Promise<ModelWeights> {
  const present = new Set(files.list());
  const indexName = 'model.safetensors.index.json';
  let shardNames: string[];
  if (present.has(indexName)) {
    let weightMap: unknown;
    try {
      weightMap = (JSON.parse(await readText(files, indexName)) as { weight_map?: unknown }).weight_map;
    } catch {
      throw new SafetensorsError(indexName, 'it is not JSON');
    }
    if (!isPlainObject(weightMap) || !Object.values(weightMap).every((v) => typeof v === 'string')) {
      throw new SafetensorsError(indexName, 'it has no weight_map of tensor names to file names');
    }
    shardNames = [...new Set(Object.values(weightMap as Record<string, string>))].sort();
  } else {
    shardNames = ['model.safetensors'];
  }
  for (const name of shardNames) if (!present.has(name)) throw new ModelFileMissingError(name, files.label);

  const owner = new Map<string, Safetensors>();
  const tensors = new Map<string, TensorInfo>();
  for (const shardName of shardNames) {
    const shard = await openSafetensors(await files.open(shardName));
    for (const [name, info] of shard.tensors) {
      if (tensors.has(name)) throw new SafetensorsError(shardName, `tensor ${name} is also stored in another shard`);
      tensors.set(name, info);
      owner.set(name, shard);
    }
  }
  return {
    tensors,
    async read(name) {
      const shard = owner.get(name);
      if (!shard) throw new TensorMissingError(name, files.label);
      return shard.read(name);
    },
  };
}

export interface TensorData {
  name: string;
  dtype: Dtype;
  shape: number[];
  /** F32: Float32Array; F16/BF16: Uint16Array of bit patterns; any dtype: raw little-endian bytes. */
  data: Float32Array | Uint16Array | Uint8Array;
}

/**
 * One safetensors file. Wider dtypes go first so every tensor starts at a multiple of its item size (the
 * header is padded with spaces to a multiple of 8), and the data has no holes.
 */
export function writeSafetensors(tensors: TensorData[], metadata?: Record<string, string>): Uint8Array {
  const ordered = [...tensors].sort((a, b) => itemSize[b.dtype] - itemSize[a.dtype]);
  const header: Record<string, unknown> = {};
  if (metadata) header.__metadata__ = metadata;
  let offset = 0;
  for (const t of ordered) {
    if (t.name === '__metadata__' || t.name in header) throw new Error(`writeSafetensors: duplicate or reserved name ${t.name}`);
    const byteLength = t.shape.reduce((a, b) => a * b, 1) * itemSize[t.dtype];
    if (t.data.byteLength !== byteLength) {
      throw new Error(`writeSafetensors: ${t.name} is ${t.dtype} ${JSON.stringify(t.shape)} (${byteLength} bytes) but its data has ${t.data.byteLength}`);
    }
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + byteLength] };
    offset += byteLength;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(json.byteLength / 8) * 8;
  const out = new Uint8Array(8 + padded + offset);
  const view = new DataView(out.buffer);
  view.setUint32(0, padded % 2 ** 32, true);
  view.setUint32(4, Math.floor(padded / 2 ** 32), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.byteLength, 8 + padded);
  let at = 8 + padded;
  for (const t of ordered) {
    out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), at);
    at += t.data.byteLength;
  }
  return out;
}

/**
 * The index of the first NaN or infinite element of a tensor's raw little-endian bytes, or -1. Non-finite means an
 * all-ones exponent, read from each element's two highest bytes: F32 and BF16 keep it in bits 0x7f80 of them,
 * F16 in 0x7c00. No copy, and no alignment needed.
 */
export function firstNonFinite(dtype: Dtype, bytes: Uint8Array): number {
  const size = itemSize[dtype];
  const [high, low] = dtype === 'F16' ? [0x7c, 0x00] : [0x7f, 0x80];
  for (let at = size - 1, i = 0; at < bytes.byteLength; at += size, i++) {
    if ((bytes[at] & high) === high && (bytes[at - 1] & low) === low) return i;
  }
  return -1;
}

/** Tensor bytes as float32 (copied; F16 and BF16 widened exactly). */
export function toFloat32(dtype: Dtype, bytes: Uint8Array): Float32Array {
  if (dtype === 'F32') return new Float32Array(copyAligned(bytes, 4).buffer);
  const half = view16(bytes);
  if (dtype === 'BF16') return new Float32Array(bf16ToF32Bits(half).buffer);
  const table = f16Table();
  const out = new Float32Array(half.length);
  for (let i = 0; i < half.length; i++) out[i] = table[half[i]];
  return out;
}

/** Tensor bytes as IEEE half-precision bit patterns (F32 and BF16 rounded to nearest even). */
export function toFloat16Bits(dtype: Dtype, bytes: Uint8Array): Uint16Array {
  if (dtype === 'F16') return new Uint16Array(copyAligned(bytes, 2).buffer);
  const bits = dtype === 'F32' ? new Uint32Array(copyAligned(bytes, 4).buffer) : bf16ToF32Bits(view16(bytes));
  return toF16(new Float32Array(bits.buffer));
}

function bf16ToF32Bits(half: Uint16Array): Uint32Array {
  const bits = new Uint32Array(half.length);
  for (let i = 0; i < half.length; i++) bits[i] = half[i] << 16;
  return bits;
}


let f16ToF32: Float32Array | null = null;

/** All 65536 half values as float32, built once. */
function f16Table(): Float32Array {
  if (f16ToF32) return f16ToF32;
  const table = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const exp = (h >>> 10) & 0x1f;
    const mant = h & 0x3ff;
    if (exp === 0) table[h] = sign * mant * 2 ** -24;
    else if (exp === 0x1f) table[h] = mant ? NaN : sign * Infinity;
    else table[h] = sign * 2 ** (exp - 15) * (1 + mant / 1024);
  }
  f16ToF32 = table;
  return table;
}

function view16(bytes: Uint8Array): Uint16Array {
  if (bytes.byteLength % 2) throw new Error(`a 16-bit tensor cannot have ${bytes.byteLength} bytes`);
  return bytes.byteOffset % 2 === 0
    ? new Uint16Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 2)
    : new Uint16Array(bytes.slice().buffer);
}

/** A fresh copy in its own buffer (which is aligned for any element size). */
function copyAligned(bytes: Uint8Array, size: number): Uint8Array {
  if (bytes.byteLength % size) throw new Error(`a ${size * 8}-bit tensor cannot have ${bytes.byteLength} bytes`);
  return bytes.slice();
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
