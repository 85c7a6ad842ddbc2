// train-sft --run-dir: the CLI keeps its run and checkpoints in a folder (the same RunSession as the Train page),
// so a command killed mid-run and started again resumes from the last checkpoint, and ends with the same losses
// as a run never stopped. Other settings or other data are refused, and a finished run is not trained again.
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect, test } from 'vitest';
import { cliOutput } from './cli';

const cliArgs = ['--import', 'tsx', '--import', './src/cli/raw-import.mjs', 'src/cli/main.ts'];

/** Starts a CLI command and kills it once it has printed the JSON line of `step`; resolves with the lines seen. */
function runUntilStep(args: string[], step: number): Promise<{ step: number; loss: number }[]> {
  return new Promise((resolve, reject) => {
    const child = spawn('node', [...cliArgs, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    const lines: { step: number; loss: number }[] = [];
    let buffered = '';
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.stdout.on('data', (chunk) => {
      buffered += chunk;
      const parts = buffered.split('\n');
      buffered = parts.pop()!;
      for (const part of parts) {
        lines.push(JSON.parse(part));
        if (lines.at(-1)!.step === step) child.kill('SIGKILL');
      }
    });
    child.on('exit', () => (lines.at(-1)?.step === step ? resolve(lines) : reject(new Error(`stopped before step ${step}: ${stderr}`))));
  });
}

const losses = (stdout: string) => stdout.trim().split('\n').map((l) => JSON.parse(l) as { step: number; loss: number });

test('train-sft killed after step 3 resumes from its step-2 checkpoint and ends as an unbroken run does', async () => {
  const goldens = JSON.parse(await readFile('test/fixtures/stories260K/goldens.json', 'utf8'));
  const story: number[] = goldens.greedy_from_bos_39;
  const rows = Array.from({ length: 8 }, (_, i) => {
    const ids = [1, ...story.slice(1 + i, 7 + i)];
    return JSON.stringify({ input_ids: ids, labels: ids.map((id, t) => (t < 2 ? -100 : id)) });
  });
  const dir = await mkdtemp(path.join(tmpdir(), 'run-dir-cli-'));
  const data = path.join(dir, 'rows.jsonl');
  await writeFile(data, rows.join('\n'));
  const common = ['--model', 'test/fixtures/stories260K', '--data', data, '--rank', '2', '--dropout', '0', '--lr', '0.01', '--steps', '6', '--batch-size', '4'];
  const runDir = path.join(dir, 'run');

  const unbroken = losses((await cliOutput('train-sft', ...common, '--out', path.join(dir, 'a'))).stdout);
  expect(unbroken.map((l) => l.step)).toEqual([1, 2, 3, 4, 5, 6]);

  const before = await runUntilStep(['train-sft', ...common, '--out', path.join(dir, 'b'), '--run-dir', runDir, '--checkpoint-every', '2'], 3);
  const stored = JSON.parse(await readFile(path.join(runDir, 'run.json'), 'utf8'));
  expect(stored).toMatchObject({ status: 'running', checkpointStep: 2, totalSteps: 6, kind: 'sft' });

  await expect(cliOutput('train-sft', ...common, '--lr', '0.02', '--out', path.join(dir, 'b'), '--run-dir', runDir)).rejects.toThrow(/lr 0.02 \(the run's: 0.01\)/);
  await writeFile(path.join(dir, 'other.jsonl'), rows.slice(1).join('\n'));
  const otherData = common.map((a) => (a === data ? path.join(dir, 'other.jsonl') : a));
  await expect(cliOutput('train-sft', ...otherData, '--out', path.join(dir, 'b'), '--run-dir', runDir)).rejects.toThrow('The data differs from the 8 rows');

  const resumed = await cliOutput('train-sft', ...common, '--out', path.join(dir, 'b'), '--run-dir', runDir, '--checkpoint-every', '2');
  expect(resumed.stderr).toContain(`resuming the run in ${runDir} from step 2 of 6`);
  const after = losses(resumed.stdout);
  expect(after.map((l) => l.step)).toEqual([3, 4, 5, 6]);
  expect(before.slice(0, 3).map((l) => l.loss)).toEqual(unbroken.slice(0, 3).map((l) => l.loss));
  for (const [i, line] of after.entries()) expect(line.loss).toBeCloseTo(unbroken[i + 2].loss, 5);

  const finished = JSON.parse(await readFile(path.join(runDir, 'run.json'), 'utf8'));
  expect(finished).toMatchObject({ status: 'finished', checkpointStep: 6 });
  expect(finished.events.map((e: { step: number }) => e.step)).toEqual([1, 2, 3, 4, 5, 6]);
  expect(JSON.parse(await readFile(path.join(dir, 'b', 'adapter_config.json'), 'utf8'))).toMatchObject({ r: 2, task_type: 'CAUSAL_LM' });
  await expect(cliOutput('train-sft', ...common, '--out', path.join(dir, 'b'), '--run-dir', runDir)).rejects.toThrow('finished all its 6 steps');
}, 600_000);
