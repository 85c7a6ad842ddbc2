// Teacher and judge jobs as OpenAI Batch API input files, to run them on an account's Batch queue outside the
// studio. The lines are the ones the studio's own Batch mode sends (batchLine, the same custom_ids and prompts),
// split at the API's limits of 50,000 requests and 200 MB per file.
import type { ClusterFile } from '../data/cluster';
import type { EvalItem } from '../eval/eval-set';
import { judgeTasks } from '../eval/judge';
import { judgeRequest } from '../eval/judge-prompts';
import type { JudgeRunRecord } from '../eval/store';
import { batchLine, customId, MAX_BYTES_PER_FILE, MAX_REQUESTS_PER_FILE, splitLines, type BatchLimits } from './batch';
import { nextStep } from './prompts';
import type { JobItem, JobRecord } from './types';

const defaultLimits: BatchLimits = { maxRequests: MAX_REQUESTS_PER_FILE, maxBytes: MAX_BYTES_PER_FILE };

function files(prefix: string, lines: string[], limits: BatchLimits): ClusterFile[] {
  if (!lines.length) throw new Error('there is nothing to send: the job has no rows');
  const parts = splitLines(lines, limits);
  return parts.map((part, i) => ({ name: parts.length === 1 ? `${prefix}.jsonl` : `${prefix}-${i + 1}.jsonl`, text: part.lines.join('') }));
}

/**
 * Every row's request as if it were not answered yet: the answer (or, in Chinese mode, the translation a row still
 * lacks; rows already translated ask for their answer). Results join back on custom_id "row-<index>-<step>".
 */
export function teacherBatchFiles(job: JobRecord, items: readonly JobItem[], limits = defaultLimits): ClusterFile[] {
  const lines = items.map((item) => {
    const next = nextStep(job.spec, { ...item, output: undefined })!;
    return batchLine(customId(item.index, next.step), next.request);
  });
  return files(`teacher-${slug(job.spec.name)}`, lines, limits);
}

/** Both orders of every question of a judge run; custom_id "<question id>-<side shown first>". */
export function judgeBatchFiles(run: JudgeRunRecord, items: readonly EvalItem[], answers: { a: ReadonlyMap<string, string>; b: ReadonlyMap<string, string> }, limits = defaultLimits): ClusterFile[] {
  const lines = judgeTasks(items).map(({ item, first }) => {
    const [shownFirst, shownSecond] = first === 'a' ? [answers.a.get(item.id), answers.b.get(item.id)] : [answers.b.get(item.id), answers.a.get(item.id)];
    if (shownFirst === undefined || shownSecond === undefined) throw new Error(`question ${item.id} has no answer in one of the answer sets`);
    return batchLine(`${item.id}-${first}`, judgeRequest(run.prompt, run.model, item, shownFirst, shownSecond));
  });
  return files(`judge-${slug(run.name)}`, lines, limits);
}

function slug(name: string): string {
  return name.replace(/[^\p{L}\p{N}.-]+/gu, '-').replace(/^-+|-+$/g, '') || 'job';
}
