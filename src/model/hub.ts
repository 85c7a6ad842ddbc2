// Model files from a Hugging Face Hub repo (or a mirror / local server with the same URL layout), downloaded
// only through resolve URLs `${endpoint}/${id}/resolve/${revision}/${file}` and kept in a FileCache.
// A file enters the cache only once fully downloaded; after a complete load a manifest (the file list) is
// cached too, so loading the same model again makes no network request at all.
import type { LoadProgress } from '../engine/api';
import { HubDownloadError, HubRepoNotFoundError, InvalidHubIdError, ModelFileMissingError } from './errors';
import { memoryCache, type FileCache } from './file-cache';
import { blobSource, type ModelFiles } from './files';

export interface HubOptions {
  endpoint?: string;
  revision?: string;
  /** Where finished files are kept; without one, nothing outlives this load. */
  cache?: FileCache;
  fetch?: typeof globalThis.fetch;
  onProgress?: (progress: LoadProgress) => void;
  signal?: AbortSignal;
}

interface Manifest {
  files: { name: string; size: number }[];
}

export const defaultEndpoint = 'https://huggingface.co';

/** Our own cache entry beside the repo's files; no repo file has this name. */
const manifestName = '.instruct-studio-manifest.json';

const indexName = 'model.safetensors.index.json';
/** Files a model may lack: tokenizer files, and the chat template newer repos keep beside tokenizer_config.json. */
const optionalFiles = ['tokenizer.json', 'tokenizer_config.json', 'chat_template.jinja'];

export async function hubFiles(
  id: string,
  {
    endpoint = defaultEndpoint,
    revision = 'main',
    cache = memoryCache(),
    fetch = globalThis.fetch,
    onProgress = () => {},
    signal,
  }: HubOptions = {},
): Promise<ModelFiles> {
  if (!/^[\w.-]+(\/[\w.-]+)?$/.test(id) || id.split('/').some((part) => /^\.+$/.test(part))) throw new InvalidHubIdError(id);
  const root = endpoint.replace(/\/+$/, '');
  const base = `${root}/${id}/resolve/${encodeURIComponent(revision)}`;
  const urlOf = (name: string) => `${base}/${name}`;
  const label = revision === 'main' ? id : `${id}@${revision}`;
  const blobs = new Map<string, Blob>();

  /** The file from the cache, else from the network; null when optional and absent (404). */
  async function get(name: string, optional: boolean): Promise<Blob | null> {
    const url = urlOf(name);
    const cached = await cache.get(url);
    if (cached) {
      onProgress({ stage: `reading ${name} from the cache`, loadedBytes: cached.size, totalBytes: cached.size, fromCache: true });
      blobs.set(name, cached);
      return cached;
    }
    const blob = await download(name, url, optional);
    if (blob) {
      await cache.put(url, blob);
      blobs.set(name, blob);
    }
    return blob;
  }

  async function download(name: string, url: string, optional: boolean): Promise<Blob | null> {
    let response: Response;
    try {
      response = await fetch(url, { signal });
    } catch (e) {
      throw new HubDownloadError(url, `no response (${(e as Error).message})`);
    }
    if (!response.ok) {
      await response.body?.cancel();
      if (name === 'config.json' && [401, 403, 404].includes(response.status)) {
        throw new HubRepoNotFoundError(id, root, response.status);
      }
      if (response.status === 404) {
        if (optional) return null;
        throw new ModelFileMissingError(name, `Hub model ${label}`);
      }
      throw new HubDownloadError(url, `HTTP ${response.status} ${response.statusText}`.trim());
    }
    const totalBytes = Number(response.headers.get('Content-Length')) || 0;
    const encoding = response.headers.get('Content-Encoding');
    // With content coding, Content-Length counts encoded bytes, not the ones the body stream yields.
    const exactLength = !encoding || encoding === 'identity';
    const stage = `downloading ${name}`;
    const chunks: Uint8Array<ArrayBuffer>[] = [];
    let loadedBytes = 0;
    onProgress({ stage, loadedBytes, totalBytes, fromCache: false });
    try {
      if (!response.body) throw new Error('the response has no body');
      const reader = response.body.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        chunks.push(value);
        loadedBytes += value.byteLength;
        onProgress({ stage, loadedBytes, totalBytes, fromCache: false });
      }
    } catch (e) {
      throw new HubDownloadError(url, `the transfer broke off after ${loadedBytes} of ${totalBytes || '?'} bytes (${(e as Error).message})`);
    }
    if (exactLength && totalBytes > 0 && loadedBytes !== totalBytes) {
      throw new HubDownloadError(url, `the transfer ended after ${loadedBytes} of ${totalBytes} bytes`);
    }
    return new Blob(chunks);
  }

  const manifest = await parseManifest(await cache.get(urlOf(manifestName)));
  if (manifest) {
    for (const { name, size } of manifest.files) {
      const blob = await get(name, false);
      if (blob && blob.size !== size) throw new HubDownloadError(urlOf(name), `the cached copy has ${blob.size} bytes, not ${size}`);
    }
  } else {
    await get('config.json', false);
    const index = await get(indexName, true);
    for (const name of optionalFiles) await get(name, true);
    for (const shard of index ? await shardNames(index, urlOf(indexName)) : ['model.safetensors']) await get(shard, false);
    const files = [...blobs].map(([name, blob]) => ({ name, size: blob.size }));
    await cache.put(urlOf(manifestName), new Blob([JSON.stringify({ files } satisfies Manifest)], { type: 'application/json' }));
  }

  return {
    label,
    list: () => [...blobs.keys()],
    open: async (name) => {
      const blob = blobs.get(name);
      if (!blob) throw new ModelFileMissingError(name, `Hub model ${label}`);
      return blobSource(name, blob);
    },
  };
}

async function shardNames(index: Blob, url: string): Promise<string[]> {
  try {
    const weightMap = (JSON.parse(await index.text()) as { weight_map: Record<string, string> }).weight_map;
    const names = [...new Set(Object.values(weightMap))];
    if (names.length === 0 || !names.every((n) => typeof n === 'string' && /^[\w.-]+$/.test(n))) throw new Error('bad shard names');
    return names.sort();
  } catch {
    throw new HubDownloadError(url, 'the index has no usable weight_map');
  }
}

async function parseManifest(blob: Blob | null): Promise<Manifest | null> {
  if (!blob) return null;
  try {
    const manifest = JSON.parse(await blob.text()) as Manifest;
    const ok = Array.isArray(manifest.files) && manifest.files.every((f) => typeof f.name === 'string' && Number.isSafeInteger(f.size));
    return ok ? manifest : null;
  } catch {
    return null;
  }
}
