import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { ANSWER_IN_CHINESE } from '../../src/teacher/prompts';
import { alpacaPrompt } from '../../src/tokenizer/templates';
import { fakeAnswer, startFakeOpenAI, type FakeOpenAI } from '../fakes/openai-server';

const root = path.resolve(__dirname, '../..');
const KEY = 'sk-cli-test-key-9f8e7d6c5b4a3210';
let dir = '';
let server: FakeOpenAI | undefined;

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'teach-cli-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(async () => {
  await server?.close();
  server = undefined;
});

interface Run {
  child: ChildProcess;
  output: () => string;
  exit: Promise<number | null>;
}

function teach(args: string[], env: Record<string, string> = { OPENAI_API_KEY: KEY }): Run {
  const child = spawn(process.execPath, ['--import', 'tsx', '--import', './src/cli/raw-import.mjs', 'src/cli/main.ts', 'teach', ...args], {
    cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  child.stdout!.on('data', (d: Buffer) => (text += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (text += d.toString()));
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output: () => text, exit };
}

/** Rows the journal records as answered (read-only: the CLI may be writing it). */
function answeredInJournal(file: string): number {
  if (!existsSync(file)) return 0;
  const done = new Set<number>();
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line.endsWith('}')) continue;
    const e = JSON.parse(line) as { t: string; item?: { index: number; status: string } };
    if (e.t === 'item' && e.item!.status === 'done') done.add(e.item!.index);
  }
  return done.size;
}

async function until(what: string, ok: () => boolean, timeoutMs = 90_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const sources = (n: number) => Array.from({ length: n }, (_, i) => ({ instruction: `CLI instruction ${i}: explain item ${i}.`, input: i % 5 === 0 ? `details ${i}` : '', output: '' }));

describe('npm run cli -- teach', () => {
  test('killed with SIGKILL mid-run and restarted: nothing lost, no completed request paid twice, the key nowhere', async () => {
    server = await startFakeOpenAI({ apiKey: KEY, faultRate: 0.2, seed: 21, slowMs: 100, retryAfterMs: 20 });
    const rows = sources(500);
    const source = path.join(dir, 'source.json');
    const out = path.join(dir, 'out.json');
    const journal = path.join(dir, 'teach.journal.jsonl');
    writeFileSync(source, JSON.stringify(rows));
    const args = ['--source', source, '--out', out, '--base-url', server.url, '--model', 'gpt-4', '--concurrency', '8', '--journal', journal];

    // Hold every request after the 150th answer, wait until all 8 workers are stuck on one and every answer
    // delivered so far is in the journal, then kill: the kill lands with requests in flight.
    server.holdAfter(150);
    const first = teach(args);
    await until('8 held requests', () => server!.heldCount === 8);
    await until('the journal to catch up', () => answeredInJournal(journal) === server!.completedTotal);
    first.child.kill('SIGKILL');
    expect(await first.exit).toBeNull();
    const answeredBeforeKill = answeredInJournal(journal);
    expect(answeredBeforeKill).toBeGreaterThanOrEqual(150);
    expect(answeredBeforeKill).toBeLessThan(500);
    server.release(); // the held requests belong to a dead client: they are dropped, not answered
    await new Promise((r) => setTimeout(r, 200));
    expect(server.completedTotal).toBe(answeredBeforeKill);

    const second = teach(args);
    const code = await second.exit;
    expect(code, second.output()).toBe(0);
    const written = JSON.parse(readFileSync(out, 'utf8')) as { instruction: string; input: string; output: string }[];
    expect(written).toHaveLength(500);
    for (const [i, r] of rows.entries()) {
      expect(written[i]).toEqual({ instruction: r.instruction, input: r.input, output: fakeAnswer([{ role: 'user', content: alpacaPrompt(r.instruction, r.input) }]) });
    }
    expect(server.duplicates()).toEqual([]);
    expect(server.completedTotal).toBe(500);
    expect(Object.values(server.faults).reduce((a, b) => a + b, 0)).toBeGreaterThan(50);
    for (const text of [readFileSync(journal, 'utf8'), readFileSync(out, 'utf8'), first.output(), second.output()]) {
      expect(text).not.toContain(KEY);
      expect(text).not.toContain(KEY.slice(10));
    }
    expect(second.output()).toMatch(/500\/500 answered/);
  }, 240_000);

  test('Chinese mode through the CLI writes the translations and the Chinese answers', async () => {
    server = await startFakeOpenAI({ apiKey: KEY });
    const rows = sources(5);
    const source = path.join(dir, 'zh-source.jsonl');
    const out = path.join(dir, 'zh-out.json');
    writeFileSync(source, rows.map((r) => JSON.stringify({ instruction: r.instruction, input: r.input })).join('\n'));
    const run = teach(['--source', source, '--out', out, '--base-url', server.url, '--model', 'gpt-4', '--lang', 'zh', '--translator', 'gpt-3.5-turbo']);
    expect(await run.exit, run.output()).toBe(0);
    const written = JSON.parse(readFileSync(out, 'utf8')) as { instruction: string; input: string; output: string }[];
    expect(written[0].instruction).toBe(`【译】${rows[0].instruction}`);
    expect(written[0].input).toBe(`【译】${rows[0].input}`);
    expect(written[1].input).toBe('');
    expect(written[1].output).toBe(fakeAnswer([{ role: 'system', content: ANSWER_IN_CHINESE }, { role: 'user', content: alpacaPrompt(written[1].instruction, '') }]));
  }, 120_000);

  test('usage errors and a journal from another job', async () => {
    server = await startFakeOpenAI({ apiKey: KEY });
    const source = path.join(dir, 'small.json');
    writeFileSync(source, JSON.stringify(sources(2)));
    const out = path.join(dir, 'small-out.json');
    const noKey = teach(['--source', source, '--out', out, '--base-url', server.url, '--model', 'gpt-4'], { OPENAI_API_KEY: '' });
    expect(await noKey.exit).toBe(2);
    expect(noKey.output()).toMatch(/set OPENAI_API_KEY/);
    const ok = teach(['--source', source, '--out', out, '--base-url', server.url, '--model', 'gpt-4']);
    expect(await ok.exit, ok.output()).toBe(0);
    const other = teach(['--source', source, '--out', out, '--base-url', server.url, '--model', 'gpt-4o']);
    expect(await other.exit).toBe(2);
    expect(other.output()).toMatch(/belongs to another job/);
    const wrongKey = teach(['--source', source, '--out', path.join(dir, 'wk.json'), '--base-url', server.url, '--model', 'gpt-4'], { OPENAI_API_KEY: 'sk-wrong-key-abcdefghijklmnop' });
    expect(await wrongKey.exit).toBe(1);
    expect(wrongKey.output()).toMatch(/rejected the API key/);
    expect(wrongKey.output()).not.toContain('abcdefghijklmnop');
  }, 120_000);
});
