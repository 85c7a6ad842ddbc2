// The command line on Node's WebGPU as a user runs it: a child process with the environment a shell gives it.
import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, test } from 'vitest';

const root = path.resolve(__dirname, '../..');
const stories = path.join(root, 'test/fixtures/stories260K');

/** `npm run cli -- ...args` with XDG_RUNTIME_DIR unset (sudo, cron, CI); the exit code instead of a throw. */
async function cliWithoutRuntimeDir(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = { ...process.env };
  delete env.XDG_RUNTIME_DIR;
  const command = ['--import', 'tsx', '--import', './src/cli/raw-import.mjs', 'src/cli/main.ts', ...args];
  return promisify(execFile)(process.execPath, command, { cwd: root, env }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
  );
}

describe('the CLI on Node', () => {
  test('info: the adapter as JSON, and no "XDG_RUNTIME_DIR is invalid" on stderr', async () => {
    const { code, stdout, stderr } = await cliWithoutRuntimeDir('info');
    expect(code).toBe(0);
    expect(JSON.parse(stdout).limits.maxBufferSize).toBeGreaterThan(0);
    expect(stderr).not.toMatch(/XDG_RUNTIME_DIR/);
  });

  test('a model whose config.json claims 10000000 layers is refused with what disagrees', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'bad-config-'));
    const config = JSON.parse(readFileSync(path.join(stories, 'config.json'), 'utf8'));
    writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ ...config, num_hidden_layers: 10_000_000 }));
    copyFileSync(path.join(stories, 'model.safetensors'), path.join(dir, 'model.safetensors'));
    const { code, stderr } = await cliWithoutRuntimeDir('logits', '--model', dir, '--ids', '1,2');
    expect(code).toBe(1);
    expect(stderr).toMatch(/^error: config\.json of .* is not usable: num_hidden_layers is 10000000 but the weights hold 5 layers/m);
  });
});
