// "Run it on a cluster": a studio training run as files for a GPU cluster: its data (Alpaca JSONL, chat messages,
// preference pairs, or the pre-tokenized rows it trained on), an Axolotl config and a TRL script that carry the same
// model, template, LoRA settings, optimizer, schedule, epochs and batch settings. Each run kind supplies its data,
// Axolotl lines and TRL trainer through one RunRecipe; DPO plugs in as a third entry of `recipes`.
import { alpacaPrompt } from '../tokenizer/templates';
import { pairRows, type PairRow } from '../train/pairs';
import type { RewardSettings, SftSettings } from '../train/run';
import { dpoSettingsOf, rewardSettingsOf, runKind, unpackExamples, type RunDataRecord, type RunKind, type RunRecord } from './runs';
import type { Row } from './types';

export interface ClusterFile {
  name: string;
  text: string;
}

/** What a recipe reads: the run, and the rows of its dataset or its stored pre-tokenized data. */
export interface RecipeSource {
  run: RunRecord;
  rows?: readonly Row[];
  tokenized?: RunDataRecord;
}

export type YamlScalar = string | number | boolean;
export type YamlValue = YamlScalar | YamlScalar[] | Record<string, YamlScalar | YamlScalar[]>[];
export type YamlEntries = [string, YamlValue][];

interface RunRecipe {
  /** The data file's lines (one JSON object each) and the name it goes under. */
  data(source: RecipeSource): { name: string; lines: string[] };
  /** Axolotl's dataset and kind-specific entries, or why Axolotl cannot take this run. */
  axolotl(run: RunRecord, dataFile: string): YamlEntries | { unsupported: string };
  /** The TRL imports, dataset preparation and trainer of the script (the data file is DATA in it). */
  trl(run: RunRecord): string;
}

export const DATA_BASENAME = 'train';

/**
 * Every setting of a run and the Axolotl key that carries it (null: the data file carries it, or no key applies).
 * Steps, eval and checkpoint intervals are written only when set (0 is "off" in the studio). The unit test walks a
 * run's settings through this table, so a setting added to the run without an entry here fails it.
 */
export const AXOLOTL_KEYS: Record<keyof RewardSettings | 'maxLen' | 'trainOnInputs', string | null> = {
  rank: 'lora_r',
  alpha: 'lora_alpha',
  dropout: 'lora_dropout',
  targets: 'lora_target_modules',
  lr: 'learning_rate',
  epochs: 'num_epochs',
  steps: 'max_steps',
  batchSize: 'micro_batch_size',
  gradAccum: 'gradient_accumulation_steps',
  warmupRatio: 'warmup_ratio',
  weightDecay: 'weight_decay',
  maxGradNorm: 'max_grad_norm',
  beta1: 'adam_beta1',
  beta2: 'adam_beta2',
  eps: 'adam_epsilon',
  seed: 'seed',
  valFraction: 'val_set_size',
  logEvery: 'logging_steps',
  evalEvery: 'eval_steps',
  checkpointEvery: 'save_steps',
  maxLen: 'sequence_len',
  trainOnInputs: 'train_on_inputs',
  /** Carried by the data: its pairs have a "margin" column (the score gap) exactly when the run used margins. */
  margin: null,
  /** How the studio fit the run into its own GPU's memory; a cluster's GPUs decide their own. */
  gradientCheckpointing: null,
};

/** Settings whose 0 means "off" in the studio: their key is written only when set. */
const ZERO_IS_UNSET = new Set<keyof SftSettings>(['steps', 'evalEvery', 'checkpointEvery']);

const json = (value: unknown) => JSON.stringify(value);

/** The row as the studio's chat examples send it: instruction, then a blank line and the input. */
function userText(row: { instruction: string; input?: string }): string {
  return row.input ? `${row.instruction}\n\n${row.input}` : row.instruction;
}

function templateOf(run: RunRecord): 'alpaca' | 'chat' | 'tokenized' {
  return run.data.kind === 'dataset' ? run.data.format : 'tokenized';
}

function requireRows(source: RecipeSource): readonly Row[] {
  if (source.rows) return source.rows;
  throw new Error(`the rows of "${source.run.data.kind === 'dataset' ? source.run.data.name : 'the run'}" are missing: the dataset was deleted, so this run's data cannot be exported`);
}

function requireTokenized(source: RecipeSource): RunDataRecord {
  if (source.tokenized) return source.tokenized;
  throw new Error('the pre-tokenized rows of this run are missing from the browser\'s storage, so its data cannot be exported');
}

const sft: RunRecipe = {
  data(source) {
    const template = templateOf(source.run);
    if (template === 'tokenized') {
      const lines = unpackExamples(requireTokenized(source)).map((e) => json({
        input_ids: e.inputIds,
        attention_mask: e.inputIds.map(() => 1),
        labels: e.labels,
        completion_mask: e.labels.map((l) => (l === -100 ? 0 : 1)),
      }));
      return { name: `${DATA_BASENAME}.tokenized.jsonl`, lines };
    }
    const rows = requireRows(source);
    if (template === 'alpaca') return { name: `${DATA_BASENAME}.alpaca.jsonl`, lines: rows.map((r) => json({ instruction: r.instruction, input: r.input, output: r.output })) };
    return { name: `${DATA_BASENAME}.messages.jsonl`, lines: rows.map((r) => json({ messages: [{ role: 'user', content: userText(r) }, { role: 'assistant', content: r.output }] })) };
  },
  axolotl(run, dataFile) {
    const template = templateOf(run);
    if (template === 'tokenized') return [['datasets', [{ path: dataFile, ds_type: 'json' }]]];
    if (template === 'alpaca') return [['datasets', [{ path: dataFile, ds_type: 'json', type: 'alpaca' }]]];
    return [
      ['chat_template', 'tokenizer_default'],
      ['datasets', [{ path: dataFile, ds_type: 'json', type: 'chat_template', field_messages: 'messages', roles_to_train: ['assistant'] }]],
    ];
  },
  trl(run) {
    const template = templateOf(run);
    const prepare = template === 'tokenized'
      ? '# Pre-tokenized rows: TRL trains them as they are; completion_mask marks the trained tokens.\ndataset = load_dataset("json", data_files=DATA, split="train").remove_columns(["labels"])'
      : template === 'alpaca'
        ? `${ALPACA_PY}\n\ndef to_prompt_completion(row):\n    return {"prompt": alpaca_prompt(row["instruction"], row["input"]), "completion": row["output"]}\n\n\ndataset = load_dataset("json", data_files=DATA, split="train").map(to_prompt_completion, remove_columns=["instruction", "input", "output"])`
        : 'def to_prompt_completion(row):\n    user, assistant = row["messages"]\n    return {"prompt": [user], "completion": [assistant]}\n\n\ndataset = load_dataset("json", data_files=DATA, split="train").map(to_prompt_completion, remove_columns=["messages"])';
    return [
      'from trl import SFTConfig, SFTTrainer',
      '',
      prepare,
      splitPy(),
      '',
      `args = SFTConfig(\n${trainingArgsPy(run)}\n    max_length=MAX_LENGTH,\n    completion_only_loss=${py(!run.trainOnInputs)},\n)`,
      `peft_config = LoraConfig(${loraPy(run)}, task_type="CAUSAL_LM")`,
      'trainer = SFTTrainer(model=MODEL, args=args, train_dataset=train, eval_dataset=evaluation, peft_config=peft_config)',
    ].join('\n');
  },
};

const reward: RunRecipe = {
  data(source) {
    const margin = rewardSettingsOf(source.run).margin;
    const template = templateOf(source.run);
    if (template === 'tokenized') {
      const record = requireTokenized(source);
      const rows = unpackExamples(record);
      const lines = Array.from(record.margins ?? [], (m, p) => json({ chosen_input_ids: rows[2 * p].inputIds, rejected_input_ids: rows[2 * p + 1].inputIds, ...(margin ? { margin: m } : {}) }));
      return { name: `${DATA_BASENAME}.pairs.tokenized.jsonl`, lines };
    }
    const pairs = pairRows(requireRows(source));
    const withMargin = (p: PairRow) => (margin ? { margin: p.scoreGap ?? 0 } : {});
    if (template === 'alpaca') {
      return { name: `${DATA_BASENAME}.pairs.jsonl`, lines: pairs.map((p) => json({ prompt: alpacaPrompt(p.instruction, p.input ?? ''), chosen: p.chosen, rejected: p.rejected, ...withMargin(p) })) };
    }
    const turn = (p: PairRow, reply: string) => [{ role: 'user', content: userText(p) }, { role: 'assistant', content: reply }];
    return { name: `${DATA_BASENAME}.pairs.messages.jsonl`, lines: pairs.map((p) => json({ chosen: turn(p, p.chosen), rejected: turn(p, p.rejected), ...withMargin(p) })) };
  },
  axolotl(run, dataFile) {
    if (templateOf(run) === 'tokenized') return { unsupported: 'Axolotl reads reward pairs as text, and this run trained on pre-tokenized pairs: use the TRL script' };
    return [
      ['model_type', 'AutoModelForSequenceClassification'],
      ['num_labels', 1],
      ['reward_model', true],
      ...(templateOf(run) === 'chat' ? [['chat_template', 'tokenizer_default'] as [string, YamlValue]] : []),
      ['datasets', [{ path: dataFile, ds_type: 'json', type: 'bradley_terry.chat_template' }]],
    ];
  },
  trl(run) {
    return [
      'from transformers import AutoModelForSequenceClassification',
      'from trl import RewardConfig, RewardTrainer',
      '',
      '# Pairs as {prompt, chosen, rejected} text, {chosen, rejected} conversations, or pre-tokenized ids; a "margin"',
      '# column (the score gap, when the studio run used it) is read by RewardTrainer.',
      'dataset = load_dataset("json", data_files=DATA, split="train")',
      splitPy(),
      '',
      `args = RewardConfig(\n${trainingArgsPy(run)}\n    max_length=MAX_LENGTH,\n)`,
      `peft_config = LoraConfig(${loraPy(run)}, task_type="SEQ_CLS", modules_to_save=["score"])`,
      'model = AutoModelForSequenceClassification.from_pretrained(MODEL, num_labels=1)',
      'tokenizer = AutoTokenizer.from_pretrained(MODEL)',
      'if tokenizer.pad_token is None:',
      '    tokenizer.pad_token = tokenizer.eos_token',
      'model.config.pad_token_id = tokenizer.pad_token_id',
      'trainer = RewardTrainer(model=model, args=args, processing_class=tokenizer, train_dataset=train, eval_dataset=evaluation, peft_config=peft_config)',
    ].join('\n');
  },
};

/** DPO: the reward model's pair files (DPO takes no margin), TRL's DPOTrainer with a causal-LM LoRA. */
const dpo: RunRecipe = {
  data: (source) => reward.data(source),
  axolotl: () => ({ unsupported: 'this export writes no Axolotl DPO config yet: use the TRL script' }),
  trl(run) {
    const start = run.start ? [`# The studio run started from the SFT adapter of "${run.start.name}" (step ${run.start.step}): load it into MODEL first.`] : [];
    return [
      'from trl import DPOConfig, DPOTrainer',
      '',
      '# Pairs as {prompt, chosen, rejected} text or {chosen, rejected} conversations.',
      ...start,
      'dataset = load_dataset("json", data_files=DATA, split="train")',
      splitPy(),
      '',
      `args = DPOConfig(\n${trainingArgsPy(run)}\n    max_length=MAX_LENGTH,\n    beta=${py(dpoSettingsOf(run).beta)},\n)`,
      `peft_config = LoraConfig(${loraPy(run)}, task_type="CAUSAL_LM")`,
      'trainer = DPOTrainer(model=MODEL, args=args, train_dataset=train, eval_dataset=evaluation, peft_config=peft_config)',
    ].join('\n');
  },
};

const recipes: Record<RunKind, RunRecipe> = { sft, reward, dpo };

const ALPACA_PY = [
  '# Stanford Alpaca\'s prompt templates, as the studio trained with them.',
  'def alpaca_prompt(instruction, input):',
  '    if input:',
  `        return ${json(alpacaPrompt('{instruction}', '{input}'))}.format(instruction=instruction, input=input)`,
  `    return ${json(alpacaPrompt('{instruction}'))}.format(instruction=instruction)`,
].join('\n');

/** The run's settings as Axolotl entries, in AXOLOTL_KEYS order. */
export function hyperparameterEntries(run: RunRecord): YamlEntries {
  const settings: Record<string, unknown> = { ...(runKind(run) === 'reward' ? rewardSettingsOf(run) : run.settings), maxLen: run.maxLen, trainOnInputs: run.trainOnInputs };
  const entries: YamlEntries = [];
  for (const [setting, key] of Object.entries(AXOLOTL_KEYS)) {
    const value = settings[setting];
    if (key === null || value === undefined || (ZERO_IS_UNSET.has(setting as keyof SftSettings) && value === 0)) continue;
    entries.push([key, value as YamlValue]);
  }
  return entries;
}

export function axolotlYaml(run: RunRecord, dataFile: string): string {
  const kindEntries = recipes[runKind(run)].axolotl(run, dataFile);
  if (!Array.isArray(kindEntries)) throw new Error(kindEntries.unsupported);
  const entries: YamlEntries = [
    ['base_model', run.model.label],
    ...kindEntries,
    ['adapter', 'lora'],
    ['lr_scheduler', 'cosine'],
    ['optimizer', 'adamw_torch'],
    ...hyperparameterEntries(run),
    ['output_dir', `./outputs/${safeName(run.name)}`],
  ];
  const header = [
    `# Axolotl config for the studio run "${run.name}" (${runKind(run)}, ${templateOf(run)} data): the same model, LoRA,`,
    '# optimizer, cosine schedule with warmup, epochs and batch settings. Train with: axolotl train axolotl.yml',
    ...(run.settings.steps > 0 ? ['# The studio run was sized by steps: max_steps wins over num_epochs, as in the studio.'] : []),
    ...(runKind(run) === 'reward' && rewardSettingsOf(run).margin ? ['# The pairs\' "margin" column (their score gap) was the loss margin in the studio.'] : []),
  ];
  return `${header.join('\n')}\n${toYaml(entries)}`;
}

export function trlScript(run: RunRecord, dataFile: string): string {
  const s = run.settings;
  return [
    `# TRL script for the studio run "${run.name}" (${runKind(run)}, ${templateOf(run)} data), with its hyperparameters.`,
    '# pip install trl peft datasets transformers   then: python train_trl.py',
    'from datasets import load_dataset',
    'from peft import LoraConfig',
    'from transformers import AutoTokenizer',
    '',
    `MODEL = ${json(run.model.label)}`,
    `DATA = ${json(dataFile)}`,
    `MAX_LENGTH = ${py(run.maxLen)}`,
    `VAL_FRACTION = ${py(s.valFraction)}`,
    `SEED = ${py(s.seed)}`,
    `OUTPUT_DIR = ${json(`./outputs/${safeName(run.name)}`)}`,
    '',
    recipes[runKind(run)].trl(run),
    'trainer.train()',
    'trainer.save_model(OUTPUT_DIR)',
    '',
  ].join('\n');
}

/** The run's data, Axolotl config (when Axolotl can take the run) and TRL script. */
export function clusterFiles(source: RecipeSource): ClusterFile[] {
  const data = recipes[runKind(source.run)].data(source);
  const files: ClusterFile[] = [{ name: data.name, text: data.lines.map((l) => `${l}\n`).join('') }];
  try {
    files.push({ name: 'axolotl.yml', text: axolotlYaml(source.run, data.name) });
  } catch (e) {
    files.push({ name: 'axolotl.txt', text: `No Axolotl config for this run: ${e instanceof Error ? e.message : String(e)}.\n` });
  }
  files.push({ name: 'train_trl.py', text: trlScript(source.run, data.name) });
  return files;
}

function splitPy(): string {
  return [
    'if VAL_FRACTION > 0:',
    '    parts = dataset.train_test_split(test_size=VAL_FRACTION, seed=SEED)',
    '    train, evaluation = parts["train"], parts["test"]',
    'else:',
    '    train, evaluation = dataset, None',
  ].join('\n');
}

function trainingArgsPy(run: RunRecord): string {
  const s = run.settings;
  const args: [string, string][] = [
    ['output_dir', 'OUTPUT_DIR'],
    ['learning_rate', py(s.lr)],
    ['num_train_epochs', py(s.epochs)],
    ['max_steps', py(s.steps > 0 ? s.steps : -1)],
    ['per_device_train_batch_size', py(s.batchSize)],
    ['gradient_accumulation_steps', py(s.gradAccum)],
    ['lr_scheduler_type', '"cosine"'],
    ['warmup_ratio', py(s.warmupRatio)],
    ['weight_decay', py(s.weightDecay)],
    ['max_grad_norm', py(s.maxGradNorm)],
    ['adam_beta1', py(s.beta1)],
    ['adam_beta2', py(s.beta2)],
    ['adam_epsilon', py(s.eps)],
    ['seed', 'SEED'],
    ['logging_steps', py(s.logEvery)],
    ['eval_strategy', s.evalEvery > 0 ? '"steps" if evaluation is not None else "no"' : '"epoch" if evaluation is not None else "no"'],
    ...(s.evalEvery > 0 ? [['eval_steps', py(s.evalEvery)] as [string, string]] : []),
    ...(s.checkpointEvery > 0 ? [['save_steps', py(s.checkpointEvery)] as [string, string]] : []),
  ];
  return args.map(([k, v]) => `    ${k}=${v},`).join('\n');
}

function loraPy(run: RunRecord): string {
  const s = run.settings;
  return `r=${py(s.rank)}, lora_alpha=${py(s.alpha)}, lora_dropout=${py(s.dropout)}, target_modules=${json(s.targets)}`;
}

/** A number, string or boolean as Python source. */
function py(value: number | boolean | string): string {
  if (typeof value === 'boolean') return value ? 'True' : 'False';
  return typeof value === 'number' ? plainNumber(value) : json(value);
}

/** A number without exponent notation (YAML 1.1 reads "3e-4" as a string), the same digits as JavaScript's shortest form. */
export function plainNumber(n: number): string {
  const s = String(n);
  const m = /^(-?)(\d)(?:\.(\d+))?e([+-]\d+)$/.exec(s);
  if (!m) return s;
  const [, sign, lead, rest = '', exp] = m;
  const digits = lead + rest;
  const point = 1 + Number(exp); // where the decimal point goes in `digits`
  if (point <= 0) return `${sign}0.${'0'.repeat(-point)}${digits}`;
  return `${sign}${digits.padEnd(point, '0')}${digits.length > point ? `.${digits.slice(point)}` : ''}`;
}

function yamlScalar(value: YamlScalar): string {
  if (typeof value === 'number') return plainNumber(value);
  if (typeof value === 'boolean') return String(value);
  return json(value);
}

/** The YAML subset this module writes: scalars, lists of scalars, and lists of flat mappings. */
export function toYaml(entries: YamlEntries): string {
  const lines: string[] = [];
  for (const [key, value] of entries) {
    if (!Array.isArray(value)) {
      lines.push(`${key}: ${yamlScalar(value)}`);
      continue;
    }
    lines.push(`${key}:`);
    for (const item of value) {
      if (typeof item !== 'object') {
        lines.push(`  - ${yamlScalar(item)}`);
        continue;
      }
      Object.entries(item).forEach(([k, v], i) => {
        const prefix = i === 0 ? '  - ' : '    ';
        lines.push(`${prefix}${k}: ${Array.isArray(v) ? `[${v.map(yamlScalar).join(', ')}]` : yamlScalar(v)}`);
      });
    }
  }
  return `${lines.join('\n')}\n`;
}

function safeName(name: string): string {
  return name.replace(/[^\p{L}\p{N}.-]+/gu, '-').replace(/^-+|-+$/g, '') || 'run';
}
