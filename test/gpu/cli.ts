// Runs `npm run cli -- ...` as a child process (the contract other checks use) and returns its output.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

export async function cliOutput(...args: string[]): Promise<{ stdout: string; stderr: string }> {
  return run('node', ['--import', 'tsx', '--import', './src/cli/raw-import.mjs', 'src/cli/main.ts', ...args], {
    env: { ...process.env },
    maxBuffer: 64 * 1024 * 1024,
  });
}

export async function cli(...args: string[]): Promise<string> {
  return (await cliOutput(...args)).stdout;
}
