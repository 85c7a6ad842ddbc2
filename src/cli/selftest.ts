// `selftest [--json]`: every kernel check on this GPU, run now: each variant and weight type with its max error
// against the CPU twin, and pass, fail or not available (f16 without shader-f16). Exits 1 when any check fails.
import { parseFlags } from './args';
import { nodeEngine } from './node-engine';

export async function run(argv: string[]): Promise<void> {
  const flags = parseFlags(argv, { json: 'boolean' });
  const engine = nodeEngine();
  const gpu = await engine.gpuInfo();
  const checks = await engine.selftest();
  const failed = checks.filter((c) => c.status === 'fail');
  if (flags.json) {
    process.stdout.write(`${JSON.stringify({ adapter: `${gpu.vendor} ${gpu.architecture} ${gpu.description}`.trim(), checks, failed: failed.length }, null, 2)}\n`);
  } else {
    const rows = checks.map((c) => [c.kernel, c.variant, c.dtype, c.maxError === null ? '-' : c.maxError.toExponential(2), c.status, c.reason ?? '']);
    const header = ['kernel', 'variant', 'weights', 'max error', 'result', 'why'];
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].split('\n')[0].length)));
    const line = (cells: string[]) => cells.map((cell, i) => cell.split('\n')[0].padEnd(widths[i])).join('  ').trimEnd();
    process.stdout.write(`${[line(header), ...rows.map(line)].join('\n')}\n`);
    process.stdout.write(`${checks.length} checks: ${checks.filter((c) => c.status === 'pass').length} pass, ${failed.length} fail, ${checks.filter((c) => c.status === 'not available').length} not available\n`);
  }
  await engine.dispose();
  if (failed.length) process.exitCode = 1;
}
