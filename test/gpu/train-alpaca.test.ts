// train-sft on Alpaca rows tokenized with the Llama 2 tokenizer (vocabulary 32000): Stanford Alpaca's
// templates, response-only labels, the truncation report, and 16 examples overfitted to near zero.
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { ALPACA_ROWS, llama2Tokenizer, writeLlama2TokenizerModel } from '../fixtures/alpaca-rows';
import { cli, cliOutput } from './cli';

describe.skipIf(!existsSync(llama2Tokenizer))('LoRA training on Alpaca rows with the Llama 2 tokenizer (skipped without ../shared)', () => {
  test('train-sft overfits 16 Alpaca rows to near zero and reports rows cut at --max-len', async () => {
    const model = await writeLlama2TokenizerModel();
    const dir = await mkdtemp(path.join(tmpdir(), 'sft-alpaca-'));
    const data = path.join(dir, 'alpaca.json');
    await writeFile(data, JSON.stringify(ALPACA_ROWS));
    const common = ['--model', model.dir, '--data', data, '--rank', '32', '--alpha', '64', '--dropout', '0', '--batch-size', '16',
      '--targets', 'q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj', '--warmup-ratio', '0.1'];

    // Every prompt is longer than 40 tokens (the template alone is about 35), so every row is cut.
    const short = await cliOutput('train-sft', ...common, '--out', path.join(dir, 'short'), '--steps', '1', '--max-len', '40');
    expect(short.stderr).toMatch(/16 of 16 rows were longer than --max-len 40 and were truncated/);

    const stdout = await cli('train-sft', ...common, '--out', path.join(dir, 'adapter'), '--lr', '0.02', '--steps', '40');
    const losses = stdout.trim().split('\n').map((l) => JSON.parse(l).loss as number);
    expect(losses).toHaveLength(40);
    // A random model starts far from the answers (its vocabulary is 32000 wide) and ends near zero.
    expect(losses[0]).toBeGreaterThan(10);
    expect(losses[39]).toBeLessThan(0.15);
    const config = JSON.parse(await readFile(path.join(dir, 'adapter', 'adapter_config.json'), 'utf8'));
    expect(config.target_modules).toHaveLength(7);
  }, 600_000);
});
