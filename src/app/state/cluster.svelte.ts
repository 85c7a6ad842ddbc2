// "Run it on a cluster" for the Workshop page: picks a training run, a teacher job or a judge run and prepares its
// files (data + Axolotl config + TRL script, or OpenAI Batch files), each then saved by the user.
import { clusterFiles, type ClusterFile } from '../../data/cluster';
import type { RunRecord } from '../../data/runs';
import { alignAnswers } from '../../eval/eval-set';
import type { JudgeRunRecord } from '../../eval/store';
import { judgeBatchFiles, teacherBatchFiles } from '../../teacher/batch-export';
import type { JobRecord } from '../../teacher/types';
import { messageOf } from '../lib/message';
import type { Services } from '../services';

export class ClusterState {
  runs = $state.raw<RunRecord[]>([]);
  jobs = $state.raw<JobRecord[]>([]);
  judgeRuns = $state.raw<JudgeRunRecord[]>([]);
  /** The files prepared last, and what they are for. */
  files = $state.raw<ClusterFile[]>([]);
  preparedFor = $state<string | null>(null);
  busy = $state(false);
  error = $state<string | null>(null);

  constructor(private readonly services: Services) {}

  async refresh(): Promise<void> {
    await this.task(async () => {
      const { runs, jobs, evals } = await this.services.stores();
      this.runs = await runs.list();
      // Judge jobs export with their judge runs.
      this.jobs = (await jobs.listJobs()).filter((j) => !j.spec.judge);
      this.judgeRuns = await evals.judgeRuns();
    });
  }

  async prepareRun(id: string): Promise<void> {
    await this.task(async () => {
      const { db, runs, datasets } = await this.services.stores();
      const run = await runs.get(id);
      const rows = run.data.kind === 'dataset' ? await datasets.rows(run.data.datasetId) : undefined;
      const tokenized = run.data.kind === 'tokenized' ? await db.get('runData', id) : undefined;
      this.show(`run “${run.name}”`, clusterFiles({ run, rows: rows?.length ? rows : undefined, tokenized }));
    });
  }

  async prepareJob(id: string): Promise<void> {
    await this.task(async () => {
      const store = (await this.services.stores()).jobs;
      const job = await store.loadJob(id);
      if (!job) throw new Error('this teacher job was deleted: reload the page');
      this.show(`teacher job “${job.spec.name}”`, teacherBatchFiles(job, await store.loadItems(id)));
    });
  }

  async prepareJudge(id: string): Promise<void> {
    await this.task(async () => {
      const { evals } = await this.services.stores();
      const run = (await evals.judgeRuns()).find((r) => r.id === id);
      if (!run) throw new Error('this judge run was deleted: reload the page');
      const evalSet = await evals.evalSet(run.evalSetId);
      if (!evalSet) throw new Error(`the eval set of “${run.name}” was deleted, so its questions are gone`);
      const answers = async (side: 'a' | 'b') => {
        const set = await evals.answerSet(run.answerSets[side]);
        if (!set) throw new Error(`the answer set “${run.labels[side]}” of “${run.name}” was deleted`);
        return alignAnswers(evalSet.items, set.rows, `answer set “${set.name}”`);
      };
      this.show(`judge run “${run.name}”`, judgeBatchFiles(run, evalSet.items, { a: await answers('a'), b: await answers('b') }));
    });
  }

  private show(what: string, files: ClusterFile[]): void {
    this.preparedFor = what;
    this.files = files;
  }

  private async task(fn: () => Promise<void>): Promise<void> {
    this.busy = true;
    this.error = null;
    try {
      await fn();
    } catch (e) {
      this.error = messageOf(e);
      this.files = [];
      this.preparedFor = null;
    } finally {
      this.busy = false;
    }
  }
}
