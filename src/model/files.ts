// Where model files come from: a folder in Node, picked or dropped files in the browser, or the Hub (cached).
// Everything reads through ByteSource so a large safetensors file is never read whole just to check it.
import { ModelFileMissingError } from './errors';

/** Random access to one file's bytes. */
export interface ByteSource {
  readonly name: string;
  readonly size: number;
  read(offset: number, length: number): Promise<Uint8Array>;
}

/** The files of one model: config.json, *.safetensors (maybe sharded), tokenizer files. */
export interface ModelFiles {
  /** A label for messages: the folder, the Hub id, or "local files". */
  readonly label: string;
  /** File names relative to the model root, e.g. "config.json", "model-00001-of-00002.safetensors". */
  list(): string[];
  open(name: string): Promise<ByteSource>;
}

export async function readBytes(files: ModelFiles, name: string): Promise<Uint8Array> {
  const source = await files.open(name);
  return source.read(0, source.size);
}

export async function readText(files: ModelFiles, name: string): Promise<string> {
  return new TextDecoder().decode(await readBytes(files, name));
}

/** A ByteSource over bytes already in memory. */
export function bytesSource(name: string, bytes: Uint8Array): ByteSource {
  return {
    name,
    size: bytes.byteLength,
    read: async (offset, length) => bytes.subarray(offset, offset + length),
  };
}

/** A ByteSource over a browser File or Blob (reads only the slices asked for). */
export function blobSource(name: string, blob: Blob): ByteSource {
  return {
    name,
    size: blob.size,
    read: async (offset, length) => new Uint8Array(await blob.slice(offset, offset + length).arrayBuffer()),
  };
}

/** ModelFiles over a list of browser Files (a picked folder or dropped files); folder prefixes are dropped. */
export function browserFiles(files: File[], label = 'local files'): ModelFiles {
  const byName = new Map(files.map((f) => [f.name, f]));
  return {
    label,
    list: () => [...byName.keys()],
    open: async (name) => {
      const file = byName.get(name);
      if (!file) throw new ModelFileMissingError(name, label);
      return blobSource(name, file);
    },
  };
}

/** ModelFiles over in-memory contents (strings are UTF-8 encoded), e.g. a small model built in a test. */
export function memoryFiles(contents: Record<string, Uint8Array | string>, label = 'in-memory model'): ModelFiles {
  const byName = new Map(
    Object.entries(contents).map(([name, data]) => [name, typeof data === 'string' ? new TextEncoder().encode(data) : data]),
  );
  return {
    label,
    list: () => [...byName.keys()],
    open: async (name) => {
      const bytes = byName.get(name);
      if (!bytes) throw new ModelFileMissingError(name, label);
      return bytesSource(name, bytes);
    },
  };
}
