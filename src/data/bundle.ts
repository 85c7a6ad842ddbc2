// The project bundle's file format: one file holding a studio's records, store by store, so a workshop starts from
// the same place on every laptop. Records keep their typed arrays (adapters, optimizer state, tokenized rows) as
// raw bytes beside a JSON header:
//
//   offset 0   8 bytes   magic "ISBUNDLE"
//          8   u32 LE    format version (1)
//         12   u32 LE    header length H
//         16   H bytes   header: UTF-8 JSON { createdAt, stores: { <store>: record[] }, blobs: [{ type, offset, length }] }
//     16 + H   ...       blob bytes; blob i is bytes [offset, offset + length) of this section
//
// In the header a typed array is {"$blob": i} and a number JSON cannot hold (NaN, ±Infinity, as a diverged loss)
// is {"$number": "NaN"}; a record's own key that starts with "$" gets one more "$", so no data reads as a marker. Decoding checks every offset, type and record key before anything is returned, so a
// damaged or foreign file fails here with a message and never reaches the database.

export const BUNDLE_MAGIC = 'ISBUNDLE';
export const BUNDLE_VERSION = 1;
const PREAMBLE = 16;

/** Every store a bundle carries, with the fields that key its records (a settings entry is {key, value}). */
export const BUNDLE_STORES = {
  datasets: ['id'],
  records: ['datasetId', 'seq'],
  settings: ['key'],
  runs: ['id'],
  checkpoints: ['runId', 'step'],
  runData: ['runId'],
  evalSets: ['id'],
  answerSets: ['id'],
  judgeRuns: ['id'],
  rougeRuns: ['id'],
  hhhSessions: ['id'],
  hhhRatings: ['sessionId', 'rater', 'itemId'],
  hhhProgress: ['sessionId', 'rater'],
} as const;

export type BundleStore = keyof typeof BUNDLE_STORES;
export type BundleRecord = Record<string, unknown>;
export type BundleStores = Record<BundleStore, BundleRecord[]>;

export interface Bundle {
  createdAt: number;
  stores: BundleStores;
}

export class BundleError extends Error {
  override name = 'BundleError';
  constructor(problem: string) {
    super(`This is not a usable studio bundle: ${problem}. Nothing was imported; export the bundle again from the studio.`);
  }
}

const typedArrays = {
  Float32Array,
  Float64Array,
  Int32Array,
  Uint32Array,
  Int16Array,
  Uint16Array,
  Int8Array,
  Uint8Array,
} as const;
type TypedArrayName = keyof typeof typedArrays;
type TypedArray = InstanceType<(typeof typedArrays)[TypedArrayName]>;

interface BlobEntry {
  type: TypedArrayName;
  offset: number;
  length: number;
}

export function emptyStores(): BundleStores {
  return Object.fromEntries(Object.keys(BUNDLE_STORES).map((s) => [s, []])) as unknown as BundleStores;
}

export function encodeBundle(bundle: Bundle): Uint8Array {
  const blobs: TypedArray[] = [];
  const entries: BlobEntry[] = [];
  let offset = 0;
  const replace = (value: unknown, where: string): unknown => {
    if (typeof value === 'number') return Number.isFinite(value) ? value : { $number: String(value) };
    if (value === null || typeof value !== 'object') return value;
    if (ArrayBuffer.isView(value)) {
      const type = value.constructor.name as TypedArrayName;
      if (!(type in typedArrays)) throw new Error(`${where} holds a ${type}, which a bundle cannot carry`);
      offset = align8(offset);
      entries.push({ type, offset, length: value.byteLength });
      blobs.push(value as TypedArray);
      offset += value.byteLength;
      return { $blob: entries.length - 1 };
    }
    if (Array.isArray(value)) return value.map((v, i) => replace(v, `${where}[${i}]`));
    const proto = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) throw new Error(`${where} holds a ${proto.constructor?.name ?? 'non-plain object'}, which a bundle cannot carry`);
    return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined).map(([k, v]) => [k.startsWith('$') ? `$${k}` : k, replace(v, `${where}.${k}`)]));
  };
  const stores = Object.fromEntries(Object.entries(bundle.stores).map(([name, records]) => [name, records.map((r, i) => replace(r, `${name}[${i}]`))]));
  const header = new TextEncoder().encode(JSON.stringify({ createdAt: bundle.createdAt, stores, blobs: entries }));
  const blobStart = PREAMBLE + header.length;
  const out = new Uint8Array(blobStart + offset);
  out.set(new TextEncoder().encode(BUNDLE_MAGIC), 0);
  const view = new DataView(out.buffer);
  view.setUint32(8, BUNDLE_VERSION, true);
  view.setUint32(12, header.length, true);
  out.set(header, PREAMBLE);
  blobs.forEach((b, i) => out.set(new Uint8Array(b.buffer, b.byteOffset, b.byteLength), blobStart + entries[i].offset));
  return out;
}

export function decodeBundle(bytes: Uint8Array): Bundle {
  if (bytes.length < PREAMBLE || new TextDecoder().decode(bytes.subarray(0, 8)) !== BUNDLE_MAGIC) {
    throw new BundleError('the file does not start with the bundle signature (is it a dataset or an adapter file?)');
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint32(8, true);
  if (version !== BUNDLE_VERSION) throw new BundleError(`it has format version ${version}, and this studio reads version ${BUNDLE_VERSION} (update the studio?)`);
  const headerLength = view.getUint32(12, true);
  const blobStart = PREAMBLE + headerLength;
  if (blobStart > bytes.length) throw new BundleError(`the file is cut short (header of ${headerLength} bytes, file of ${bytes.length})`);
  let header: { createdAt?: unknown; stores?: unknown; blobs?: unknown };
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(PREAMBLE, blobStart)));
  } catch (e) {
    throw new BundleError(`its header is not valid JSON (${e instanceof Error ? e.message : String(e)})`);
  }
  if (!isObject(header) || typeof header.createdAt !== 'number' || !isObject(header.stores) || !Array.isArray(header.blobs)) {
    throw new BundleError('its header lacks createdAt, stores or blobs');
  }
  const blobs = header.blobs.map((entry, i) => readBlob(bytes, blobStart, entry, i));
  const revive = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(revive);
    if (!isObject(value)) return value;
    const keys = Object.keys(value);
    if (keys.length === 1 && keys[0] === '$blob') {
      const blob = blobs[value.$blob as number];
      if (!Number.isInteger(value.$blob) || !blob) throw new BundleError(`a record refers to blob ${String(value.$blob)}, which the file does not have`);
      return blob;
    }
    if (keys.length === 1 && keys[0] === '$number') return Number(value.$number);
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k.startsWith('$$') ? k.slice(1) : k, revive(v)]));
  };
  const stores = emptyStores();
  for (const [name, records] of Object.entries(header.stores)) {
    if (!(name in BUNDLE_STORES)) throw new BundleError(`it has a store "${name}" this studio does not know`);
    if (!Array.isArray(records)) throw new BundleError(`store "${name}" is not a list of records`);
    stores[name as BundleStore] = records.map((r, i) => {
      const record = revive(r);
      checkKeys(name as BundleStore, record, i);
      return record as BundleRecord;
    });
  }
  checkReferences(stores);
  return { createdAt: header.createdAt, stores };
}

function readBlob(bytes: Uint8Array, blobStart: number, entry: unknown, i: number): TypedArray {
  if (!isObject(entry) || typeof entry.type !== 'string' || !(entry.type in typedArrays) || !Number.isInteger(entry.offset) || !Number.isInteger(entry.length)) {
    throw new BundleError(`blob ${i} has no valid type, offset and length`);
  }
  const Type = typedArrays[entry.type as TypedArrayName];
  const start = blobStart + (entry.offset as number);
  const length = entry.length as number;
  if (entry.offset as number < 0 || length < 0 || start + length > bytes.length || length % Type.BYTES_PER_ELEMENT) {
    throw new BundleError(`blob ${i} (${length} bytes at ${String(entry.offset)}) lies outside the file or splits an element`);
  }
  // A copy, so the record owns aligned memory and does not pin the whole file.
  return new Type(bytes.slice(start, start + length).buffer);
}

function checkKeys(store: BundleStore, record: unknown, i: number): void {
  if (!isObject(record)) throw new BundleError(`${store}[${i}] is not a record`);
  for (const field of BUNDLE_STORES[store]) {
    const key = record[field];
    if (typeof key !== 'string' && !(typeof key === 'number' && Number.isFinite(key))) {
      throw new BundleError(`${store}[${i}] has no "${field}"`);
    }
  }
}

/** Rows, checkpoints and ratings must belong to a dataset, run or session in the same bundle. */
function checkReferences(stores: BundleStores): void {
  const ids = (store: BundleStore) => new Set(stores[store].map((r) => r.id));
  const owned: [BundleStore, string, BundleStore][] = [
    ['records', 'datasetId', 'datasets'],
    ['checkpoints', 'runId', 'runs'],
    ['runData', 'runId', 'runs'],
    ['hhhRatings', 'sessionId', 'hhhSessions'],
    ['hhhProgress', 'sessionId', 'hhhSessions'],
  ];
  for (const [store, field, owner] of owned) {
    const known = ids(owner);
    const orphan = stores[store].find((r) => !known.has(r[field]));
    if (orphan) throw new BundleError(`${store} refers to ${owner} "${String(orphan[field])}", which the bundle does not contain`);
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function align8(n: number): number {
  return Math.ceil(n / 8) * 8;
}

/** Whether `needle`'s bytes occur anywhere in `haystack` (the export's check that the API key is not inside). */
export function containsBytes(haystack: Uint8Array, needle: Uint8Array): boolean {
  if (needle.length === 0) return false;
  for (let i = haystack.indexOf(needle[0]); i !== -1 && i + needle.length <= haystack.length; i = haystack.indexOf(needle[0], i + 1)) {
    let j = 1;
    while (j < needle.length && haystack[i + j] === needle[j]) j++;
    if (j === needle.length) return true;
  }
  return false;
}
