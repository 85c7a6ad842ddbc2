// `info`: the adapter and its limits as JSON.
import { parseFlags } from './args';
import { nodeEngine } from './node-engine';

export async function run(argv: string[]): Promise<void> {
  parseFlags(argv, {});
  const engine = nodeEngine();
  const info = await engine.gpuInfo();
  process.stdout.write(`${JSON.stringify(info, null, 2)}\n`);
  await engine.dispose();
}
