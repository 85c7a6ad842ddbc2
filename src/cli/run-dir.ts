// A training run kept in a folder, for the CLI's --run-dir: run.json (the record, readable), rows.bin (the
// tokenized rows or pairs it trains on) and checkpoint.bin (adapter, optimizer state and, for DPO, the reference
// log-probs; v8-serialized, so typed arrays stay typed). Each file is written whole and renamed into place.
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { deserialize, serialize } from 'node:v8';
import { RunNotFoundError, type RunRecord } from '../data/runs';
import type { TrainExample } from '../train/data';
import type { PairExample } from '../train/pairs';
import type { Checkpoint } from '../train/run';
import type { RunBook } from '../train/session';

export interface RunDir extends RunBook {
  /** The run stored in the folder, or null when it holds none yet. */
  stored(): Promise<RunRecord | null>;
  /** The rows or pairs the stored run trains on. */
  rows(): Promise<TrainExample[] | PairExample[]>;
}

export function runDir(dir: string): RunDir {
  const file = (name: string) => path.join(dir, name);
  const write = async (name: string, data: string | Uint8Array) => {
    await mkdir(dir, { recursive: true });
    await writeFile(file(`${name}.part`), data);
    await rename(file(`${name}.part`), file(name));
  };
  const get = async (id: string): Promise<RunRecord> => {
    const run = await stored();
    if (run?.id !== id) throw new RunNotFoundError(id);
    return run;
  };
  const put = async (run: RunRecord) => (await write('run.json', `${JSON.stringify(run, null, 1)}\n`), run);
  const stored = async (): Promise<RunRecord | null> => (existsSync(file('run.json')) ? JSON.parse(await readFile(file('run.json'), 'utf8')) : null);
  return {
    stored,
    rows: async () => deserialize(await readFile(file('rows.bin'))),
    async create(run, rows = [], truncated = 0) {
      if (await stored()) throw new Error(`${dir} already holds a run: resume it, or give another --run-dir`);
      const now = Date.now();
      await write('rows.bin', serialize(rows));
      return put({ ...run, id: `run-${now.toString(36)}`, createdAt: now, updatedAt: now, status: 'running', checkpointStep: null, events: [], error: null, truncated });
    },
    get,
    checkpoint: async (id) => {
      const run = await get(id);
      return run.checkpointStep === null ? null : (deserialize(await readFile(file('checkpoint.bin'))) as Checkpoint);
    },
    async saveCheckpoint(id, checkpoint, events) {
      const run = await get(id);
      // The checkpoint first: a run.json naming a step always has that step's checkpoint beside it.
      await write('checkpoint.bin', serialize(checkpoint));
      return put({ ...run, checkpointStep: checkpoint.step, events: events.filter((e) => e.step <= checkpoint.step), updatedAt: Date.now() });
    },
    update: async (id, patch) => put({ ...(await get(id)), ...patch, updatedAt: Date.now() }),
  };
}
