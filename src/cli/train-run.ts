// The run lifecycle of train-sft, train-rm and train-dpo, through the same RunSession as the Train page: a run
// record before the first step, checkpoints with the curve up to them, and with --run-dir a folder that keeps both,
// so the same command run again resumes from the last checkpoint (same model, same data, same settings).
import path from 'node:path';
import type { ModelInfo } from '../engine/api';
import type { RunKind } from '../data/runs';
import type { TrainExample } from '../train/data';
import type { PairExample } from '../train/pairs';
import type { RunOptions, SftResult, SftSettings, TrainEvent } from '../train/run';
import { checkRows, checkSettings, memoryRunBook, RunSession, runTotalSteps } from '../train/session';
import { runDir } from './run-dir';

export interface CliRun {
  kind: RunKind;
  info: ModelInfo;
  dataPath: string;
  rows: TrainExample[] | PairExample[];
  truncated: number;
  settings: SftSettings;
  maxLen: number;
  trainOnInputs: boolean;
  /** --run-dir: where the run and its checkpoints are kept (none: in memory, gone when the command ends). */
  dir?: string;
}

/** The hooks a run*() call takes from the session: where it resumes, and where its events and checkpoints go. */
export type SessionHooks = Pick<RunOptions, 'resume' | 'onEvent' | 'onCheckpoint'>;

/**
 * Opens the command's run (the one in `dir` when there is one, resumed after the checks) and trains it with
 * `train`, printing each new step's event with `print`. The run record ends finished, or failed with the error.
 */
export async function trainInSession(run: CliRun, train: (hooks: SessionHooks) => Promise<SftResult>, print: (event: TrainEvent) => void): Promise<SftResult> {
  const session = await openSession(run);
  const hooks: SessionHooks = {
    resume: session.checkpoint ?? undefined,
    onEvent: (event) => {
      if (session.onEvent(event)) print(event);
    },
    onCheckpoint: (checkpoint) => session.saveCheckpoint(checkpoint),
  };
  try {
    const result = await train(hooks);
    await session.finish({ ...result, truncated: run.truncated });
    return result;
  } catch (error) {
    await session.fail((error as Error).message);
    throw error;
  }
}

async function openSession(run: CliRun): Promise<RunSession> {
  const model = { label: run.info.label, parameterCount: run.info.parameterCount, vocabSize: run.info.config.vocabSize };
  const folder = run.dir === undefined ? null : runDir(run.dir);
  const stored = await folder?.stored();
  if (folder && stored) {
    checkSettings(stored, run);
    checkRows(await folder.rows(), run.rows);
    const session = await RunSession.resume(folder, stored.id, model);
    process.stderr.write(`resuming the run in ${run.dir} from step ${session.startStep} of ${stored.totalSteps}\n`);
    return session;
  }
  const name = path.basename(run.dataPath);
  const totalSteps = runTotalSteps(run.rows.length, run.settings);
  const data = { kind: 'tokenized', name, rowCount: run.rows.length } as const;
  const newRun = { kind: run.kind, name, model, data, settings: run.settings, maxLen: run.maxLen, trainOnInputs: run.trainOnInputs, totalSteps };
  return RunSession.start(folder ?? memoryRunBook(), newRun, run.rows, run.truncated);
}
