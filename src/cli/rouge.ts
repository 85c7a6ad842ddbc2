// `rouge --pred FILE --ref FILE [--stem] [--cjk]`: ROUGE-L per item and by reference length as JSON.
// A stable contract other checks read: {"items": [{id, precision, recall, f}], "mean_f", "bins": {...}}.
import { readFile } from 'node:fs/promises';
import { parseFlags, requireFlag } from './args';
import { parsePredictions, parseReferences, rougeReport } from '../eval/rouge-report';

export async function run(argv: string[]): Promise<void> {
  const flags = parseFlags(argv, { pred: 'string', ref: 'string', stem: 'boolean', cjk: 'boolean' });
  const predFile = requireFlag(flags.pred, 'pred');
  const refFile = requireFlag(flags.ref, 'ref');
  const [predText, refText] = await Promise.all([readFile(predFile, 'utf8'), readFile(refFile, 'utf8')]);
  const report = rougeReport(parsePredictions(predText, predFile), parseReferences(refText, refFile), {
    stem: flags.stem ?? false,
    cjk: flags.cjk ?? false,
  });
  process.stdout.write(`${JSON.stringify(report)}\n`);
}
