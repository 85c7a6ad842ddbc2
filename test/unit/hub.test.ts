import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { LoadProgress } from '../../src/engine/api';
import { loadConfig } from '../../src/model/config';
import { HubDownloadError, HubRepoNotFoundError, InvalidHubIdError, ModelFileMissingError } from '../../src/model/errors';
import { memoryCache } from '../../src/model/file-cache';
import { readText } from '../../src/model/files';
import { hubFiles } from '../../src/model/hub';
import { openModelWeights, toFloat32, writeSafetensors } from '../../src/model/safetensors';
import { startHubServer, type HubServer } from '../fakes/hub-server';

const stories = path.resolve(__dirname, '../fixtures/stories260K');
const storiesWeights = readFileSync(path.join(stories, 'model.safetensors'));
const id = 'karpathy/stories260K';

let server: HubServer;
let cutAfter: Record<string, number>;
let sharded: string;
let noWeights: string;

beforeAll(async () => {
  // A two-shard model with a tokenizer_config.json and no tokenizer.json.
  sharded = mkdtempSync(path.join(tmpdir(), 'hub-sharded-'));
  writeFileSync(path.join(sharded, 'config.json'), readFileSync(path.join(stories, 'config.json')));
  writeFileSync(path.join(sharded, 'tokenizer_config.json'), '{"bos_token": "<s>"}');
  writeFileSync(path.join(sharded, 's-1.safetensors'), writeSafetensors([{ name: 'a', dtype: 'F32', shape: [2], data: new Float32Array([1, 2]) }]));
  writeFileSync(path.join(sharded, 's-2.safetensors'), writeSafetensors([{ name: 'b', dtype: 'F32', shape: [1], data: new Float32Array([3]) }]));
  writeFileSync(path.join(sharded, 'model.safetensors.index.json'), JSON.stringify({ weight_map: { a: 's-1.safetensors', b: 's-2.safetensors' } }));
  noWeights = mkdtempSync(path.join(tmpdir(), 'hub-noweights-'));
  writeFileSync(path.join(noWeights, 'config.json'), '{}');

  cutAfter = {};
  server = await startHubServer({ repos: { [id]: stories, 'test/sharded': sharded, 'test/no-weights': noWeights }, cutAfter });
});

afterAll(async () => {
  await server.close();
  rmSync(sharded, { recursive: true });
  rmSync(noWeights, { recursive: true });
});

function resolvePath(repo: string, file: string, revision = 'main') {
  return `GET /${repo}/resolve/${revision}/${file}`;
}

describe('hubFiles against the fake hub', () => {
  test('first load downloads through resolve URLs; the second makes zero requests', async () => {
    const cache = memoryCache();
    const progress: LoadProgress[] = [];
    const before = server.requests.length;
    const files = await hubFiles(id, { endpoint: server.url, cache, onProgress: (p) => progress.push(p) });
    expect(server.requests.slice(before)).toEqual([
      resolvePath(id, 'config.json'),
      resolvePath(id, 'model.safetensors.index.json'),
      resolvePath(id, 'tokenizer.json'),
      resolvePath(id, 'tokenizer_config.json'),
      resolvePath(id, 'chat_template.jinja'),
      resolvePath(id, 'model.safetensors'),
    ]);
    expect(files.label).toBe(id);
    expect(files.list().sort()).toEqual(['config.json', 'model.safetensors']);
    expect((await loadConfig(files)).numLayers).toBe(5);
    const source = await files.open('model.safetensors');
    expect(Buffer.from(await source.read(0, source.size)).equals(storiesWeights)).toBe(true);
    const weights = await openModelWeights(files);
    expect(weights.tensors.size).toBe(47);

    const last = progress.filter((p) => p.stage === 'downloading model.safetensors').at(-1);
    expect(last).toEqual({ stage: 'downloading model.safetensors', loadedBytes: storiesWeights.byteLength, totalBytes: storiesWeights.byteLength, fromCache: false });
    const loaded = progress.filter((p) => p.stage === 'downloading model.safetensors').map((p) => p.loadedBytes);
    expect(loaded).toEqual([...loaded].sort((a, b) => a - b));

    const afterFirst = server.requests.length;
    const again: LoadProgress[] = [];
    const second = await hubFiles(id, { endpoint: server.url, cache, onProgress: (p) => again.push(p) });
    expect(server.requests.length).toBe(afterFirst);
    expect(second.list().sort()).toEqual(['config.json', 'model.safetensors']);
    expect(toFloat32('F32', await (await openModelWeights(second)).read('model.norm.weight'))).toEqual(
      toFloat32('F32', await weights.read('model.norm.weight')),
    );
    expect(again.length).toBeGreaterThan(0);
    expect(again.every((p) => p.fromCache === true)).toBe(true);
  });

  test('a sharded model downloads the index and every shard, not model.safetensors', async () => {
    const before = server.requests.length;
    const files = await hubFiles('test/sharded', { endpoint: `${server.url}/`, revision: 'v1.0', cache: memoryCache() });
    const requests = server.requests.slice(before);
    expect(requests).toContain(resolvePath('test/sharded', 's-1.safetensors', 'v1.0'));
    expect(requests).toContain(resolvePath('test/sharded', 's-2.safetensors', 'v1.0'));
    expect(requests.some((r) => r.endsWith('/model.safetensors'))).toBe(false);
    expect(files.label).toBe('test/sharded@v1.0');
    expect(files.list().sort()).toEqual(['config.json', 'model.safetensors.index.json', 's-1.safetensors', 's-2.safetensors', 'tokenizer_config.json']);
    const weights = await openModelWeights(files);
    expect(toFloat32('F32', await weights.read('b'))).toEqual(new Float32Array([3]));
  });

  test('a missing repo is a typed error that says to check the id and endpoint', async () => {
    const error = await hubFiles('nobody/nothing', { endpoint: server.url, cache: memoryCache() }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HubRepoNotFoundError);
    expect((error as Error).message).toMatch(/Model nobody\/nothing was not found at http:\/\/127.0.0.1:\d+ \(HTTP 404\).*Check the model id and the endpoint/);
  });

  test('a repo without weights names model.safetensors', async () => {
    const error = await hubFiles('test/no-weights', { endpoint: server.url, cache: memoryCache() }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ModelFileMissingError);
    expect((error as Error).message).toMatch(/^Hub model test\/no-weights has no model.safetensors/);
  });

  test('an interrupted download leaves that file out of the cache; the next load fetches only what is missing', async () => {
    const cache = memoryCache();
    const weightsUrl = `${server.url}/${id}/resolve/main/model.safetensors`;
    cutAfter['model.safetensors'] = 100_000;
    try {
      const error = await hubFiles(id, { endpoint: server.url, cache }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(HubDownloadError);
      expect((error as Error).message).toMatch(/model.safetensors failed: the transfer broke off after \d+ of 1044984 bytes/);
    } finally {
      delete cutAfter['model.safetensors'];
    }
    expect(await cache.get(weightsUrl)).toBeNull();
    expect(await cache.get(`${server.url}/${id}/resolve/main/config.json`)).not.toBeNull();

    const before = server.requests.length;
    const files = await hubFiles(id, { endpoint: server.url, cache });
    const requests = server.requests.slice(before);
    expect(requests).not.toContain(resolvePath(id, 'config.json'));
    expect(requests).toContain(resolvePath(id, 'model.safetensors'));
    expect((await cache.get(weightsUrl))?.size).toBe(storiesWeights.byteLength);
    expect(await readText(files, 'config.json')).toBe(readFileSync(path.join(stories, 'config.json'), 'utf8'));

    const afterComplete = server.requests.length;
    await hubFiles(id, { endpoint: server.url, cache });
    expect(server.requests.length).toBe(afterComplete);
  });

  test('an unreachable endpoint and a malformed id are typed errors', async () => {
    const closed = await startHubServer({ repos: {} });
    await closed.close();
    await expect(hubFiles(id, { endpoint: closed.url, cache: memoryCache() })).rejects.toBeInstanceOf(HubDownloadError);
    await expect(hubFiles('../etc', { endpoint: server.url })).rejects.toBeInstanceOf(InvalidHubIdError);
    await expect(hubFiles('a b', { endpoint: server.url })).rejects.toBeInstanceOf(InvalidHubIdError);
  });

  test('the fake server sends CORS headers and Content-Length, and 404 outside resolve URLs', async () => {
    const ok = await fetch(`${server.url}/${id}/resolve/main/config.json`);
    expect(ok.headers.get('access-control-allow-origin')).toBe('*');
    expect(Number(ok.headers.get('content-length'))).toBe(readFileSync(path.join(stories, 'config.json')).byteLength);
    await ok.arrayBuffer();
    for (const bad of [`/${id}/config.json`, `/${id}/resolve/main/..%2F..%2Fpackage.json`, `/${id}/resolve/main/nope.json`]) {
      const response = await fetch(`${server.url}${bad}`);
      expect(response.status).toBe(404);
      expect(response.headers.get('access-control-allow-origin')).toBe('*');
      await response.arrayBuffer();
    }
  });
});
