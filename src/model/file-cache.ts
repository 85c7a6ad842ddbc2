// Where downloaded model files are kept between loads. Keys are the files' download URLs.
// The browser uses Cache Storage (disk-backed Blobs: a cached shard is sliced, not read whole); Node and
// tests use memory.

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
