// `npm run cli -- feedback` against the fake endpoint: killed mid-run and started again it pays for no verdict
// twice; it writes comparison_data_v2 and {prompt, chosen, rejected} pairs; several Alpaca files answering the
// same instructions are responses from several sources; unreadable verdicts are reported and asked again only
// with --retry-unparseable.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { startFakeOpenAI, type FakeOpenAI } from '../fakes/openai-server';

const root = path.resolve(__dirname, '../..');
const KEY = 'sk-feedback-cli-7e6d5c4b3a291807';
let dir = '';
let server: FakeOpenAI | undefined;

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'feedback-cli-'));
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

function feedback(args: string[], env: Record<string, string> = { OPENAI_API_KEY: KEY }): Run {
  const child = spawn(process.execPath, ['--import', 'tsx', '--import', './src/cli/raw-import.mjs', 'src/cli/main.ts', 'feedback', ...args], {
    cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  child.stdout!.on('data', (d: Buffer) => (text += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (text += d.toString()));
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output: () => text, exit };
}

function doneInJournal(file: string): number {
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

interface Comparison {
  user_input: string;
  responses_and_scores: { response: string; score: number; source: string }[];
}

const readJsonl = <T>(file: string) => readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as T);

describe('npm run cli -- feedback', () => {
  test('killed with SIGKILL mid-run and restarted: every response rated once, none paid twice; scores and pairs written', async () => {
    server = await startFakeOpenAI({ apiKey: KEY, faultRate: 0.15, seed: 8, slowMs: 80, retryAfterMs: 20 });
    const P = 100, K = 3;
    const score = (p: number, k: number) => 1 + ((p + k * 4) % 10) - (k === 2 && p % 5 === 0 ? (p + 8) % 10 : 0);
    const rows = Array.from({ length: P }, (_, p) => ({
      user_input: `Rate prompt ${p}`,
      responses_and_scores: Array.from({ length: K }, (_, k) => ({ response: `Reply ${k} for ${p} [[score:${score(p, k)}]]`, score: 0, source: `src-${k}` })),
    }));
    const source = path.join(dir, 'comparison.json');
    const out = path.join(dir, 'scores.json');
    const pairsOut = path.join(dir, 'pairs.jsonl');
    const journal = path.join(dir, 'feedback.journal.jsonl');
    writeFileSync(source, JSON.stringify(rows));
    const args = ['--source', source, '--out', out, '--pairs-out', pairsOut, '--base-url', server.url, '--model', 'gpt-4', '--concurrency', '6', '--journal', journal];

    server.holdAfter(120);
    const first = feedback(args);
    await until('6 held requests', () => server!.heldCount === 6);
    await until('the journal to catch up', () => doneInJournal(journal) === server!.completedTotal);
    first.child.kill('SIGKILL');
    expect(await first.exit).toBeNull();
    const before = doneInJournal(journal);
    expect(before).toBeGreaterThanOrEqual(120);
    expect(before).toBeLessThan(P * K);
    server.release();
    await new Promise((r) => setTimeout(r, 200));
    expect(server.completedTotal).toBe(before);

    const second = feedback(args);
    expect(await second.exit, second.output()).toBe(0);
    expect(server.duplicates()).toEqual([]);
    expect(server.completedTotal).toBe(P * K);
    expect(second.output()).toMatch(/300\/300 rated/);

    const written = JSON.parse(readFileSync(out, 'utf8')) as Comparison[];
    expect(written).toHaveLength(P);
    let pairs = 0, ties = 0;
    for (const [p, row] of written.entries()) {
      expect(row.user_input).toBe(`Rate prompt ${p}`);
      expect(row.responses_and_scores).toEqual(rows[p].responses_and_scores.map((r, k) => ({ ...r, score: score(p, k) })));
      const s = row.responses_and_scores.map((r) => r.score);
      for (let i = 0; i < K; i++) for (let j = i + 1; j < K; j++) s[i] === s[j] ? ties++ : pairs++;
    }
    expect(ties).toBeGreaterThan(0);
    const pairRows = readJsonl<{ prompt: string; chosen: string; rejected: string }>(pairsOut);
    expect(pairRows).toHaveLength(pairs);
    for (const r of pairRows) {
      const s = (t: string) => Number(/\[\[score:(\d+)\]\]/.exec(t)![1]);
      expect(s(r.chosen)).toBeGreaterThan(s(r.rejected));
      expect(r.prompt).toMatch(/^Rate prompt \d+$/);
    }
    expect(second.output()).toContain(`${pairs} pairs to ${pairsOut}; ${ties} tied pairs dropped`);
    for (const text of [readFileSync(journal, 'utf8'), readFileSync(out, 'utf8'), first.output(), second.output()]) expect(text).not.toContain(KEY);
  }, 240_000);

  test('Alpaca files as sources; unreadable verdicts reported, kept out, and asked again with --retry-unparseable', async () => {
    server = await startFakeOpenAI({ apiKey: KEY });
    const a = path.join(dir, 'model-a.json');
    const b = path.join(dir, 'model-b.jsonl');
    writeFileSync(a, JSON.stringify([
      { instruction: 'Say hi', input: '', output: 'hi [[score:9]]' },
      { instruction: 'Count', input: 'to 3', output: '1 2 3 [[score:none]]' },
    ]));
    writeFileSync(b, [
      { instruction: 'Count', input: 'to 3', output: 'one two three [[score:6]]' },
      { instruction: 'Say hi', input: '', output: 'hello [[score:4]]' },
      { instruction: 'Say hi', input: '', output: '' },
    ].map((r) => JSON.stringify(r)).join('\n'));
    const out = path.join(dir, 'ab.json');
    const args = ['--source', `${a},${b}`, '--out', out, '--base-url', server.url, '--model', 'gpt-4'];
    const run = feedback(args);
    expect(await run.exit, run.output()).toBe(0);
    expect(run.output()).toMatch(/2 prompts, 4 responses from 2 sources; 1 empty responses left out/);
    expect(run.output()).toMatch(/1 verdicts hold no readable score/);
    expect(run.output()).toContain('--retry-unparseable');
    const scores = JSON.parse(readFileSync(out, 'utf8')) as Comparison[];
    expect(scores).toEqual([
      { user_input: 'Say hi', responses_and_scores: [{ response: 'hi [[score:9]]', score: 9, source: 'model-a' }, { response: 'hello [[score:4]]', score: 4, source: 'model-b' }] },
      { user_input: 'Count\n\nto 3', responses_and_scores: [{ response: 'one two three [[score:6]]', score: 6, source: 'model-b' }] },
    ]);
    expect(readJsonl(path.join(dir, 'ab.pairs.jsonl'))).toEqual([{ prompt: 'Say hi', chosen: 'hi [[score:9]]', rejected: 'hello [[score:4]]' }]);
    expect(server.completedTotal).toBe(4);

    // Run again: nothing is asked. With --retry-unparseable the unreadable verdict is asked again, and counts now.
    const again = feedback(args);
    expect(await again.exit, again.output()).toBe(0);
    expect(server.completedTotal).toBe(4);
    server.options = { ...server.options, answer: (_m, usual) => (usual.startsWith('I am unable') ? 'Score: 3/10\nWrong format.' : usual) };
    const retry = feedback([...args, '--retry-unparseable']);
    expect(await retry.exit, retry.output()).toBe(0);
    expect(retry.output()).toMatch(/asking again for 1 unreadable verdicts/);
    expect(server.completedTotal).toBe(5);
    expect((JSON.parse(readFileSync(out, 'utf8')) as Comparison[])[1].responses_and_scores).toEqual([
      { response: '1 2 3 [[score:none]]', score: 3, source: 'model-a' },
      { response: 'one two three [[score:6]]', score: 6, source: 'model-b' },
    ]);
    expect(readJsonl(path.join(dir, 'ab.pairs.jsonl'))).toHaveLength(2);
  }, 120_000);

  test('usage errors, and a journal from another job', async () => {
    server = await startFakeOpenAI({ apiKey: KEY });
    const source = path.join(dir, 'one.json');
    writeFileSync(source, JSON.stringify([{ instruction: 'Q', input: '', output: 'A [[score:5]]' }]));
    const out = path.join(dir, 'one-out.json');
    const noKey = feedback(['--source', source, '--out', out, '--base-url', server.url, '--model', 'gpt-4'], { OPENAI_API_KEY: '' });
    expect(await noKey.exit).toBe(2);
    expect(noKey.output()).toMatch(/set OPENAI_API_KEY/);
    const empty = path.join(dir, 'empty.json');
    writeFileSync(empty, JSON.stringify([{ instruction: 'Q', input: '', output: '' }]));
    const nothing = feedback(['--source', empty, '--out', out, '--base-url', server.url, '--model', 'gpt-4']);
    expect(await nothing.exit).toBe(2);
    expect(nothing.output()).toMatch(/hold no responses to rate/);
    const ok = feedback(['--source', source, '--out', out, '--base-url', server.url, '--model', 'gpt-4']);
    expect(await ok.exit, ok.output()).toBe(0);
    expect(ok.output()).toMatch(/1 prompts have a single response \(rated, no pairs\)/);
    const other = feedback(['--source', source, '--out', out, '--base-url', server.url, '--model', 'gpt-4o']);
    expect(await other.exit).toBe(2);
    expect(other.output()).toMatch(/belongs to another job/);
  }, 120_000);
});
