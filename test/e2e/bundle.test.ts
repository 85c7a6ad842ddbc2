// The project bundle in the browser: a project (dataset, SFT run with its curve and adapter, judge run, rating,
// settings and an API key) is exported from the Workshop page, imported into a fresh browser profile from the file
// and, in a third profile, opened from a `?bundle=URL` link. Every store equals the original, byte for byte where
// it holds typed arrays, and the key is in none of it.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFile } from 'node:fs/promises';
import type { Page } from 'playwright-core';
import { afterAll, describe, expect, test } from 'vitest';
import { openStudio, type Studio } from './harness';

const SECRET = 'sk-e2e-bundle-key-0123456789abcdef';
const studios: Studio[] = [];
let server: Server | null = null;

afterAll(async () => {
  for (const s of studios) await s.close();
  await new Promise((resolve) => (server ? server.close(resolve) : resolve(null)));
});

async function fresh(): Promise<Studio> {
  const studio = await openStudio();
  studios.push(studio);
  return studio;
}

/** Writes a small project straight into the studio's database, as the app's stores would have. */
async function seed(page: Page): Promise<void> {
  // Opening the database through the app runs its migrations first.
  await page.evaluate(() => window.studio.exportBundle());
  await page.evaluate(async (secret) => {
    const open = (name: string) => new Promise<IDBDatabase>((resolve, reject) => {
      const req = indexedDB.open(name);
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
    const write = (db: IDBDatabase, puts: [string, unknown, IDBValidKey?][]) => new Promise<void>((resolve, reject) => {
      const tx = db.transaction([...new Set(puts.map(([store]) => store))], 'readwrite');
      for (const [store, value, key] of puts) tx.objectStore(store).put(value, key);
      tx.oncomplete = () => resolve();
      tx.onerror = () => reject(tx.error);
    });
    const adapter = {
      rank: 2, alpha: 16, dropout: 0.05, targets: ['q_proj', 'v_proj'], baseModel: 'stories260K',
      modules: [
        { layer: 0, target: 'q_proj', inFeatures: 4, outFeatures: 4, A: Float32Array.from({ length: 8 }, (_, i) => Math.sin(i) / 3), B: Float32Array.from({ length: 8 }, (_, i) => i * 1e-3) },
        { layer: 1, target: 'v_proj', inFeatures: 4, outFeatures: 2, A: Float32Array.from({ length: 8 }, (_, i) => -i), B: new Float32Array([0.1, 0.2, 0.3, 0.4]) },
      ],
    };
    const events = Array.from({ length: 12 }, (_, i) => ({ step: i + 1, totalSteps: 12, epoch: (i + 1) / 12, lr: 3e-4, loss: 5 / (i + 1), tokensPerSecond: 90 + i }));
    const run = {
      id: 'run-e2e', kind: 'sft', name: 'workshop run', createdAt: 2, updatedAt: 3,
      model: { label: 'stories260K', parameterCount: 260_000, vocabSize: 512 },
      data: { kind: 'tokenized', name: 'rows.jsonl', rowCount: 2 },
      settings: { rank: 2, alpha: 16, dropout: 0.05, targets: ['q_proj', 'v_proj'], lr: 3e-4, epochs: 1, steps: 12, batchSize: 2, gradAccum: 1, warmupRatio: 0.03, weightDecay: 0, maxGradNorm: 1, beta1: 0.9, beta2: 0.999, eps: 1e-8, seed: 1, valFraction: 0, logEvery: 1, evalEvery: 0, checkpointEvery: 4 },
      maxLen: 64, trainOnInputs: false, status: 'finished', totalSteps: 12, checkpointStep: 12, events, error: null, truncated: 0,
    };
    await write(await open('instruct-studio'), [
      ['datasets', { id: 'ds-e2e', name: 'Workshop Alpaca', format: 'alpaca', origin: { kind: 'paste' }, rowCount: 2, nextSeq: 2, createdAt: 1, updatedAt: 1 }],
      ['records', { datasetId: 'ds-e2e', seq: 0, instruction: 'Give three tips for staying healthy.', input: '', output: 'Eat, sleep, move.' }],
      ['records', { datasetId: 'ds-e2e', seq: 1, instruction: 'Translate "cat".', input: 'French', output: 'chat' }],
      ['runs', run],
      ['checkpoints', { runId: 'run-e2e', step: 12, savedAt: 4, adapter, optimizer: { m: [new Float32Array(8).fill(0.5)], v: [new Float32Array(8).fill(0.25)] } }],
      ['runData', { runId: 'run-e2e', offsets: Uint32Array.from([0, 3, 5]), inputIds: Uint32Array.from([1, 2, 3, 4, 5]), labels: Int32Array.from([-100, 2, 3, 4, 5]) }],
      ['settings', { baseURL: 'http://127.0.0.1:9/v1', teacherModel: 'gpt-4' }, 'teacher.settings'],
      ['settings', secret, 'teacher.apiKey'],
      ['judgeRuns', { id: 'judge-e2e', name: 'tuned vs base', createdAt: 5, prompt: 'vicuna', model: 'gpt-4', baseURL: 'http://127.0.0.1:9/v1', evalSetId: 'vicuna80', answerSets: { a: 'x', b: 'y' }, labels: { a: 'tuned', b: 'base' }, verdicts: [{ questionId: '1', category: 'generic', order: 'ab', text: '8 7', scores: [8, 7] }] }],
      ['hhhSessions', { id: 'hhh-e2e', name: 'ratings', createdAt: 6, seed: 1, labels: { a: 'x', b: 'y' }, evalSet: 'vicuna80', items: [] }],
      ['hhhRatings', { sessionId: 'hhh-e2e', rater: 'ana', itemId: '1', helpful: 'a', comment: '', ratedAt: 7 }],
    ]);
  }, SECRET);
}

/** Every store of the studio database, typed arrays as their type and bytes, so two profiles compare exactly. */
function dump(page: Page) {
  return page.evaluate(async () => {
    const plain = (v: unknown): unknown => {
      if (ArrayBuffer.isView(v)) return { type: v.constructor.name, bytes: Array.from(new Uint8Array(v.buffer, v.byteOffset, v.byteLength)) };
      if (Array.isArray(v)) return v.map(plain);
      if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
      return v;
    };
    const out: Record<string, unknown> = {};
    const db = await new Promise<IDBDatabase>((resolve, reject) => {
      const req = indexedDB.open('instruct-studio');
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
    for (const store of db.objectStoreNames) {
      const tx = db.transaction(store);
      const [keys, values] = await Promise.all(['getAllKeys', 'getAll'].map((m) => new Promise<unknown[]>((resolve) => {
        const req = (tx.objectStore(store) as unknown as Record<string, () => IDBRequest<unknown[]>>)[m]();
        req.onsuccess = () => resolve(req.result);
      })));
      out[store] = plain(keys.map((k, i) => [k, values[i]]));
    }
    db.close();
    return out as Record<string, [unknown, unknown][]>;
  });
}

describe('project bundle', () => {
  let original: Record<string, [unknown, unknown][]>;
  let bundle: Buffer;

  test('exports from the Workshop page without the API key', async () => {
    const a = await fresh();
    await a.open('workshop');
    await seed(a.page);
    original = await dump(a.page);
    expect(original.checkpoints).toHaveLength(1);
    const download = a.page.waitForEvent('download');
    await a.page.getByRole('button', { name: 'Export project…' }).click();
    bundle = await readFile(await (await download).path());
    expect(bundle.subarray(0, 8).toString()).toBe('ISBUNDLE');
    expect(bundle.includes(Buffer.from(SECRET))).toBe(false);
    // The console API gives the same bytes but for the time stamp in the header.
    const fromConsole = Buffer.from(await a.page.evaluate(async () => Array.from(await window.studio.exportBundle())));
    expect(fromConsole.length).toBe(bundle.length);
    expect(a.errors).toEqual([]);
  });

  test('imported into a fresh profile, every dataset, run, curve point, adapter byte and judge run equals the original', async () => {
    const b = await fresh();
    await b.open('workshop');
    await b.page.getByLabel('Bundle file').setInputFiles({ name: 'workshop.isbundle', mimeType: 'application/octet-stream', buffer: bundle });
    await b.page.getByRole('status').filter({ hasText: 'Imported 1 dataset, 1 training run, 1 judge run, 1 rating session from workshop.isbundle.' }).waitFor();
    const imported = await dump(b.page);
    for (const store of ['datasets', 'records', 'runs', 'checkpoints', 'runData', 'judgeRuns', 'hhhSessions', 'hhhRatings']) {
      expect(imported[store], store).toEqual(original[store]);
    }
    expect(imported.settings).toEqual(original.settings.filter(([key]) => key !== 'teacher.apiKey'));
    await b.open('datasets');
    await b.page.getByText('Workshop Alpaca').first().waitFor();

    // A damaged file is refused with a message and changes nothing.
    await b.open('workshop');
    await b.page.getByLabel('Bundle file').setInputFiles({ name: 'cut.isbundle', mimeType: 'application/octet-stream', buffer: bundle.subarray(0, 100) });
    await b.page.getByRole('alert').filter({ hasText: 'not a usable studio bundle' }).waitFor();
    expect(await dump(b.page)).toEqual(imported);

    // The guided tour sees what the bundle brought (an Alpaca dataset, a trained run, a judged run), a step ticked
    // by hand survives a reload, and so does the rest of the progress.
    const step = (name: string) => b.page.getByRole('checkbox', { name });
    await b.page.getByTestId('tour-progress').filter({ hasText: '3 of 8 done' }).waitFor();
    expect(await step('Import the GPT-4 Alpaca data').isChecked()).toBe(true);
    expect(await step('LoRA-train SmolLM2-135M').isChecked()).toBe(true);
    await step('Compare base and tuned outputs').check();
    await b.page.getByTestId('tour-progress').filter({ hasText: '4 of 8 done' }).waitFor();
    await b.page.reload();
    await b.page.getByTestId('tour-progress').filter({ hasText: '4 of 8 done' }).waitFor();
    expect(await step('Compare base and tuned outputs').isChecked()).toBe(true);
    expect(await step('Train the reward model').isChecked()).toBe(false);
    expect(b.errors).toEqual([]);
  });

  test('a ?bundle= link opens the bundle once and leaves the address bar; presenter mode stays on across a reload', async () => {
    server = createServer((req, res) => {
      res.writeHead(req.url === '/workshop.isbundle' ? 200 : 404, { 'access-control-allow-origin': '*', 'content-type': 'application/octet-stream' });
      res.end(req.url === '/workshop.isbundle' ? bundle : undefined);
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const link = `http://127.0.0.1:${(server.address() as AddressInfo).port}/workshop.isbundle`;
    const c = await fresh();
    await c.page.goto(`${c.url}?bundle=${encodeURIComponent(link)}#/datasets`);
    await c.page.getByRole('status').filter({ hasText: 'Opened the workshop bundle: 1 dataset, 1 training run' }).waitFor();
    expect(new URL(c.page.url()).search).toBe('');
    await c.page.getByText('Workshop Alpaca').first().waitFor();
    const imported = await dump(c.page);
    expect(imported.checkpoints).toEqual(original.checkpoints);

    // Presenter mode for the class: Alt+P sets large type on every page, and it stays on across a reload.
    const rootFontSize = () => c.page.evaluate(() => getComputedStyle(document.documentElement).fontSize);
    expect(await rootFontSize()).toBe('15px');
    await c.page.keyboard.press('Alt+KeyP');
    await c.page.getByRole('button', { name: 'Presenter', pressed: true }).waitFor();
    expect(await rootFontSize()).toBe('21px');
    await c.page.reload();
    await c.page.getByRole('button', { name: 'Presenter', pressed: true }).waitFor();
    expect(await rootFontSize()).toBe('21px');
    expect(c.errors).toEqual([]);
  });
});
