// `logits --model DIR [--adapter DIR] --ids 1,2,3 [--out FILE]`: argmax and logsumexp per position as JSON;
// --out writes all logits as little-endian float32, T x V, row-major.
import { writeFile } from 'node:fs/promises';
import { idsFlag, parseFlags, requireFlag } from './args';
import { engineWithModel } from './node-engine';

export async function run(argv: string[]): Promise<void> {
  const flags = parseFlags(argv, { model: 'string', adapter: 'string', ids: 'string', out: 'string' });
  const ids = idsFlag(requireFlag(flags.ids, 'ids'), 'ids');
  const { engine, adapter } = await engineWithModel(requireFlag(flags.model, 'model'), flags.adapter);
  try {
    const { logits, T, V } = await engine.logits(ids, adapter);
    const positions = Array.from({ length: T }, (_, t) => rowSummary(logits.subarray(t * V, (t + 1) * V)));
    if (flags.out) await writeFile(flags.out, littleEndianF32(logits));
    process.stdout.write(`${JSON.stringify({ T, V, argmax: positions.map((p) => p.argmax), logsumexp: positions.map((p) => p.logsumexp) })}\n`);
  } finally {
    await engine.dispose();
  }
}

export function rowSummary(row: Float32Array): { argmax: number; logsumexp: number } {
  let argmax = 0;
  for (let i = 1; i < row.length; i++) if (row[i] > row[argmax]) argmax = i;
  const max = row[argmax];
  let sum = 0;
  for (let i = 0; i < row.length; i++) sum += Math.exp(row[i] - max);
  return { argmax, logsumexp: max + Math.log(sum) };
}

function littleEndianF32(values: Float32Array): Uint8Array {
  const view = new DataView(new ArrayBuffer(values.length * 4));
  values.forEach((v, i) => view.setFloat32(i * 4, v, true));
  return new Uint8Array(view.buffer);
}
