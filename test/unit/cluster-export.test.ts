import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { AXOLOTL_KEYS, axolotlYaml, clusterFiles, plainNumber, trlScript } from '../../src/data/cluster';
import { packExamples, packPairs, type RunRecord } from '../../src/data/runs';
import type { Row } from '../../src/data/types';
import { alpacaPrompt } from '../../src/tokenizer/templates';
import { defaultDpoSettings, defaultRewardSettings, defaultSftSettings, type SftSettings } from '../../src/train/run';

/**
 * A reader for the YAML subset the exporter writes (no YAML library is a dependency): `key: scalar`, `key:` with
 * `- scalar` items or `- key: value` mappings (values may be [a, b] flow lists), comments, double-quoted strings.
 */
function parseYaml(text: string): Record<string, unknown> {
  const scalar = (s: string): unknown => {
    s = s.trim();
    if (s.startsWith('"')) return JSON.parse(s);
    if (s.startsWith('[')) return s.slice(1, -1).split(',').map(scalar);
    if (s === 'true' || s === 'false') return s === 'true';
    if (/^-?\d+(\.\d+)?$/.test(s)) return Number(s);
    if (/^[A-Za-z_][\w.]*$/.test(s)) return s;
    throw new Error(`not a scalar of the subset: ${s}`);
  };
  const out: Record<string, unknown> = {};
  let list: unknown[] | null = null;
  for (const line of text.split('\n')) {
    if (!line.trim() || line.trimStart().startsWith('#')) continue;
    let m = /^(\w+):\s*(.*)$/.exec(line);
    if (m) {
      if (m[1] in out) throw new Error(`duplicate key ${m[1]}`);
      list = m[2] === '' ? [] : null;
      out[m[1]] = list ?? scalar(m[2]);
      continue;
    }
    if (!list) throw new Error(`unexpected line: ${line}`);
    if ((m = /^ {2}- (\w+): (.*)$/.exec(line))) list.push({ [m[1]]: scalar(m[2]) });
    else if ((m = /^ {2}- (.*)$/.exec(line))) list.push(scalar(m[1]));
    else if ((m = /^ {4}(\w+): (.*)$/.exec(line))) (list.at(-1) as Record<string, unknown>)[m[1]] = scalar(m[2]);
    else throw new Error(`unexpected line: ${line}`);
  }
  return out;
}

const rows: Row[] = [
  { instruction: 'Give three tips for staying healthy.', input: '', output: 'Eat well, sleep, move.' },
  { instruction: 'Translate to French.', input: 'The "cat" sat.', output: 'Le « chat » était assis.' },
];
const pairRowsData: Row[] = [
  { instruction: 'Pick a colour.', input: '', output: '', chosen: 'Blue.', rejected: 'no' },
  { instruction: 'Rate these.', input: 'x', output: '', responses: [{ response: 'good', score: 9, source: 'gpt4' }, { response: 'bad', score: 2, source: 'other' }] },
];

function runOf(kind: 'sft' | 'reward' | 'dpo', data: RunRecord['data'], settings: Partial<RunRecord['settings']> = {}): RunRecord {
  return {
    id: 'run-1', kind, name: 'my run #1', createdAt: 1, updatedAt: 2,
    model: { label: 'HuggingFaceTB/SmolLM2-135M-Instruct', parameterCount: 134_515_008, vocabSize: 49_152 },
    data,
    settings: { ...(kind === 'reward' ? defaultRewardSettings : kind === 'dpo' ? defaultDpoSettings : defaultSftSettings), ...settings },
    maxLen: 384, trainOnInputs: false, status: 'finished', totalSteps: 40, checkpointStep: 40, events: [], error: null, truncated: 0,
  };
}

const datasetData = (format: 'alpaca' | 'chat') => ({ kind: 'dataset', datasetId: 'd', name: 'alpaca', format, rowCount: 2, updatedAt: 1 } as const);

describe('Axolotl config', () => {
  const custom: SftSettings = { rank: 16, alpha: 32, dropout: 0.1, targets: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj'], lr: 2.5e-5, epochs: 3, steps: 120, batchSize: 6, gradAccum: 4, warmupRatio: 0.07, weightDecay: 0.01, maxGradNorm: 0.5, beta1: 0.85, beta2: 0.995, eps: 1e-8, seed: 1234, valFraction: 0.15, logEvery: 5, evalEvery: 20, checkpointEvery: 30, gradientCheckpointing: 'on' };

  test.each([
    ['an SFT run, Alpaca template', runOf('sft', datasetData('alpaca'), custom)],
    ['an SFT run, chat template', runOf('sft', datasetData('chat'), custom)],
    ['a reward run with margins', runOf('reward', datasetData('alpaca'), { ...custom, margin: true } as never)],
  ])('carries every hyperparameter of %s', (_what, run) => {
    const yaml = parseYaml(axolotlYaml(run, 'train.jsonl'));
    expect(yaml.base_model).toBe('HuggingFaceTB/SmolLM2-135M-Instruct');
    expect(yaml.adapter).toBe('lora');
    expect(yaml.lr_scheduler).toBe('cosine');
    const settings: Record<string, unknown> = { ...run.settings, maxLen: run.maxLen, trainOnInputs: run.trainOnInputs };
    for (const [setting, value] of Object.entries(settings)) {
      expect(AXOLOTL_KEYS, `setting ${setting} has no Axolotl key`).toHaveProperty(setting);
      const key = AXOLOTL_KEYS[setting as keyof typeof AXOLOTL_KEYS];
      if (key === null) continue; // margin: the data's column; gradient checkpointing: the studio GPU's memory
      expect(yaml[key], `${setting} as ${key}`).toEqual(value);
    }
    expect(yaml.sequence_len).toBe(384);
    expect(yaml.learning_rate).toBe(2.5e-5);
    expect(yaml.adam_epsilon).toBe(1e-8);
  });

  test('the template picks the dataset type; reward runs are sequence classifiers', () => {
    expect(parseYaml(axolotlYaml(runOf('sft', datasetData('alpaca')), 'a.jsonl')).datasets).toEqual([{ path: 'a.jsonl', ds_type: 'json', type: 'alpaca' }]);
    const chat = parseYaml(axolotlYaml(runOf('sft', datasetData('chat')), 'm.jsonl'));
    expect(chat.chat_template).toBe('tokenizer_default');
    expect(chat.datasets).toEqual([{ path: 'm.jsonl', ds_type: 'json', type: 'chat_template', field_messages: 'messages', roles_to_train: ['assistant'] }]);
    const rm = parseYaml(axolotlYaml(runOf('reward', datasetData('chat')), 'p.jsonl'));
    expect(rm).toMatchObject({ reward_model: true, num_labels: 1, model_type: 'AutoModelForSequenceClassification' });
  });

  test('a run sized by epochs writes no max_steps, and off intervals write no keys', () => {
    const yaml = parseYaml(axolotlYaml(runOf('sft', datasetData('alpaca'), { steps: 0, evalEvery: 0, checkpointEvery: 0 }), 'a.jsonl'));
    expect(yaml).not.toHaveProperty('max_steps');
    expect(yaml).not.toHaveProperty('eval_steps');
    expect(yaml).not.toHaveProperty('save_steps');
    expect(yaml.num_epochs).toBe(defaultSftSettings.epochs);
  });

  test('numbers are written without exponents and read back exactly', () => {
    for (const n of [3e-4, 1e-8, 2.5e-7, 0.05, 1e21, 123456789, -4.2e-9, 0]) {
      expect(plainNumber(n)).not.toMatch(/e/i);
      expect(Number(plainNumber(n))).toBe(n);
    }
  });
});

describe('cluster files of a run', () => {
  test('an Alpaca SFT run: Alpaca JSONL, Axolotl config and a TRL script with the same settings', () => {
    const run = runOf('sft', datasetData('alpaca'), { lr: 1e-4, rank: 4, alpha: 8 });
    const files = clusterFiles({ run, rows });
    expect(files.map((f) => f.name)).toEqual(['train.alpaca.jsonl', 'axolotl.yml', 'train_trl.py']);
    expect(files[0].text.trim().split('\n').map((l) => JSON.parse(l))).toEqual(rows.map(({ instruction, input, output }) => ({ instruction, input, output })));
    const script = files[2].text;
    expect(script).toContain('MODEL = "HuggingFaceTB/SmolLM2-135M-Instruct"');
    expect(script).toContain('learning_rate=0.0001,');
    expect(script).toContain('r=4, lora_alpha=8, lora_dropout=0.05, target_modules=["q_proj","k_proj","v_proj","o_proj"]');
    expect(script).toContain('lr_scheduler_type="cosine"');
    expect(script).toContain('completion_only_loss=True');
    expect(script).toContain('MAX_LENGTH = 384');
    // The script's Alpaca template is the studio's, word for word.
    expect(script).toContain(JSON.stringify(alpacaPrompt('{instruction}', '{input}')));
  });

  test('a chat reward run exports conversation pairs with margins from the score gap', () => {
    const run = runOf('reward', datasetData('chat'), { margin: true } as never);
    const [data] = clusterFiles({ run, rows: pairRowsData });
    expect(data.name).toBe('train.pairs.messages.jsonl');
    const pairs = data.text.trim().split('\n').map((l) => JSON.parse(l));
    expect(pairs).toEqual([
      { chosen: [{ role: 'user', content: 'Pick a colour.' }, { role: 'assistant', content: 'Blue.' }], rejected: [{ role: 'user', content: 'Pick a colour.' }, { role: 'assistant', content: 'no' }], margin: 0 },
      { chosen: [{ role: 'user', content: 'Rate these.\n\nx' }, { role: 'assistant', content: 'good' }], rejected: [{ role: 'user', content: 'Rate these.\n\nx' }, { role: 'assistant', content: 'bad' }], margin: 7 },
    ]);
    expect(trlScript(run, data.name)).toContain('task_type="SEQ_CLS", modules_to_save=["score"]');
  });

  test('pre-tokenized runs export their rows; Axolotl is declined for tokenized pairs with the reason', () => {
    const sft = runOf('sft', { kind: 'tokenized', name: 'rows.jsonl', rowCount: 1 });
    const [data] = clusterFiles({ run: sft, tokenized: packExamples('run-1', [{ inputIds: [1, 5, 9], labels: [-100, 5, 9] }]) });
    expect(JSON.parse(data.text)).toEqual({ input_ids: [1, 5, 9], attention_mask: [1, 1, 1], labels: [-100, 5, 9], completion_mask: [0, 1, 1] });
    const rm = runOf('reward', { kind: 'tokenized', name: 'pairs.jsonl', rowCount: 1 });
    const files = clusterFiles({ run: rm, tokenized: packPairs('run-1', [{ chosen: { inputIds: [1, 2], labels: [1, 2] }, rejected: { inputIds: [1, 3], labels: [1, 3] }, margin: 0 }]) });
    expect(JSON.parse(files[0].text)).toEqual({ chosen_input_ids: [1, 2], rejected_input_ids: [1, 3] });
    expect(files[1]).toMatchObject({ name: 'axolotl.txt' });
    expect(files[1].text).toMatch(/use the TRL script/);
  });

  test('a DPO run exports its pairs without margins, a TRL DPOTrainer script with its beta and a CAUSAL_LM LoRA, and no Axolotl config', () => {
    const run = { ...runOf('dpo', datasetData('alpaca'), { beta: 0.25 } as never), start: { runId: 'sft-1', name: 'SFT run', step: 40 } };
    const files = clusterFiles({ run, rows: pairRowsData });
    expect(files[0].name).toBe('train.pairs.jsonl');
    expect(files[0].text.trim().split('\n').map((l) => JSON.parse(l))).toEqual([
      { prompt: alpacaPrompt('Pick a colour.'), chosen: 'Blue.', rejected: 'no' },
      { prompt: alpacaPrompt('Rate these.', 'x'), chosen: 'good', rejected: 'bad' },
    ]);
    expect(files[1]).toMatchObject({ name: 'axolotl.txt' });
    expect(files[1].text).toMatch(/use the TRL script/);
    const script = trlScript(run, files[0].name);
    expect(script).toContain('beta=0.25');
    expect(script).toContain('DPOTrainer(model=MODEL');
    expect(script).toContain('task_type="CAUSAL_LM"');
    expect(script).toContain('SFT adapter of "SFT run" (step 40)');
  });

  test('a run whose dataset was deleted says so', () => {
    expect(() => clusterFiles({ run: runOf('sft', datasetData('alpaca')) })).toThrow(/dataset was deleted/);
  });

  const python = (() => {
    try {
      execFileSync('python3', ['--version']);
      return true;
    } catch {
      return false;
    }
  })();
  test.skipIf(!python).each([
    ['sft', 'alpaca'], ['sft', 'chat'], ['reward', 'alpaca'], ['reward', 'chat'], ['dpo', 'alpaca'],
  ] as const)('the TRL script of a %s run (%s) is valid Python', (kind, format) => {
    const dir = mkdtempSync(path.join(tmpdir(), 'trl-'));
    const file = path.join(dir, 'train_trl.py');
    writeFileSync(file, trlScript(runOf(kind, datasetData(format)), 'train.jsonl'));
    execFileSync('python3', ['-c', 'import ast, sys; ast.parse(open(sys.argv[1]).read())', file]);
  });
});
