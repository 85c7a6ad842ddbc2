// A finished job as dataset rows: Alpaca fields plus the model and parameters that wrote them.
import type { Row } from '../data/types';
import type { JobItem, JobSpec } from './types';

export function jobRows(spec: JobSpec, items: readonly JobItem[]): Row[] {
  const { model, params } = spec.teacher;
  const rows: Row[] = [];
  for (const item of items) {
    if (item.status !== 'done' || item.output === undefined) continue;
    if (spec.lang === 'zh') {
      rows.push({
        instruction: item.translation?.instruction ?? item.instruction,
        input: item.translation?.input ?? item.input,
        output: item.output,
        meta: {
          generatedBy: {
            model, ...params,
            translator: spec.translator?.model ?? model,
            original: { instruction: item.instruction, input: item.input },
          },
        },
      });
    } else {
      rows.push({ instruction: item.instruction, input: item.input, output: item.output, meta: { generatedBy: { model, ...params } } });
    }
  }
  return rows;
}
