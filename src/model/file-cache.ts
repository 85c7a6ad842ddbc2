// Where model files are kept between loads: Hub downloads keyed by their URLs (FileCache), and local model
// folders the user picked (ModelFolders, in OPFS), so a reload can load the same model without a picker.
// Hub downloads go to Cache Storage in the browser (disk-backed Blobs: a cached shard is sliced, not read whole),
// to memory in Node and tests.

export interface FileCache {
  get(key: string): Promise<Blob | null>;
  /** Stores a complete file; callers never put partial downloads. */
  put(key: string, data: Blob): Promise<void>;
}

export function cacheStorageCache(name = 'instruct-studio-models'): FileCache {
  let opened: Promise<Cache> | null = null;
  const cache = () => (opened ??= caches.open(name));
  return {
    async get(key) {
      const response = await (await cache()).match(key);
      return response ? response.blob() : null;
    },
    async put(key, data) {
      const headers = { 'Content-Type': 'application/octet-stream', 'Content-Length': String(data.size) };
      await (await cache()).put(key, new Response(data, { headers }));
    },
  };
}

export function memoryCache(): FileCache {
  const entries = new Map<string, Blob>();
  return {
    get: async (key) => entries.get(key) ?? null,
    put: async (key, data) => {
      entries.set(key, data);
    },
  };
}

/** A local model folder kept in the browser, so a reload loads it again without the file picker. */
export interface KeptFolder {
  /** A fingerprint of the files' names, sizes and config.json: the same folder picked again is kept once. */
  key: string;
  /** The picked folder's name, or "local files". */
  name: string;
  files: string[];
  bytes: number;
  savedAt: number;
}

/** Local model folders kept in the browser's storage: list them, keep one, read one back, forget one. */
export interface ModelFolders {
  list(): Promise<KeptFolder[]>;
  keep(files: File[], name: string): Promise<KeptFolder>;
  /** The kept files as File objects, read from disk as the loader asks for slices. */
  open(key: string): Promise<File[]>;
  forget(key: string): Promise<void>;
}

/** The files a model load reads: config, weights, tokenizer (everything else a folder holds is left out). */
export function modelFileNames(names: readonly string[]): string[] {
  return names.filter((name) => /\.(json|safetensors)$/.test(name));
}

/** A folder's key: SHA-256 over config.json's text and every kept file's name and size. */
export async function folderKey(files: readonly File[]): Promise<string> {
  const config = files.find((f) => f.name === 'config.json');
  const listing = files.map((f) => `${f.name}:${f.size}`).sort().join('\n');
  const text = `${listing}\n${config ? await config.text() : ''}`;
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text)));
  return Array.from(digest.subarray(0, 8), (b) => b.toString(16).padStart(2, '0')).join('');
}

/** A directory's entries (TypeScript's DOM types leave out the async iterator browsers have). */
const entries = (dir: FileSystemDirectoryHandle) => (dir as unknown as { values(): AsyncIterable<FileSystemHandle> }).values();

/**
 * Model folders in the origin private file system (OPFS), one directory per folder under `local-models/`, with a
 * folder.json describing it. Files are written whole before folder.json, so a listed folder is complete.
 */
export function opfsModelFolders(root: () => Promise<FileSystemDirectoryHandle> = () => navigator.storage.getDirectory()): ModelFolders {
  const base = async () => (await root()).getDirectoryHandle('local-models', { create: true });
  const meta = 'folder.json';
  const read = async (dir: FileSystemDirectoryHandle): Promise<KeptFolder | null> => {
    try {
      return JSON.parse(await (await (await dir.getFileHandle(meta)).getFile()).text());
    } catch {
      return null;
    }
  };
  return {
    async list() {
      const folders: KeptFolder[] = [];
      for await (const handle of entries(await base())) {
        const folder = handle.kind === 'directory' ? await read(handle as FileSystemDirectoryHandle) : null;
        if (folder) folders.push(folder);
      }
      return folders.sort((a, b) => b.savedAt - a.savedAt);
    },
    async keep(picked, name) {
      const files = picked.filter((f) => modelFileNames([f.name]).length);
      const key = await folderKey(files);
      const dir = await (await base()).getDirectoryHandle(key, { create: true });
      const kept = await read(dir);
      if (kept) return kept;
      for (const file of files) {
        const writable = await (await dir.getFileHandle(file.name, { create: true })).createWritable();
        await writable.write(file);
        await writable.close();
      }
      const folder: KeptFolder = { key, name, files: files.map((f) => f.name), bytes: files.reduce((a, f) => a + f.size, 0), savedAt: Date.now() };
      const writable = await (await dir.getFileHandle(meta, { create: true })).createWritable();
      await writable.write(JSON.stringify(folder));
      await writable.close();
      return folder;
    },
    async open(key) {
      const dir = await (await base()).getDirectoryHandle(key).catch(() => null);
      const folder = dir && (await read(dir));
      if (!dir || !folder) throw new Error('This model folder is no longer kept in the browser: pick its files again.');
      return Promise.all(folder.files.map(async (name) => (await dir.getFileHandle(name)).getFile()));
    },
    async forget(key) {
      await (await base()).removeEntry(key, { recursive: true }).catch((error: Error) => {
        if (error.name !== 'NotFoundError') throw error;
      });
    },
  };
}
