import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { memoryFiles } from '../../src/model/files';
import { alpacaPrompt } from '../../src/tokenizer/templates';
import { loadTokenizer, type TextTokenizer } from '../../src/tokenizer/tokenizer';
import {
  alpacaExample,
  chatExample,
  IGNORE_INDEX,
  makeBatches,
  parseTokenizedJsonl,
  splitExamples,
  TrainDataError,
  type TrainExample,
} from '../../src/train/data';
import { randInt, seeded } from '../util';

// A byte-level BPE without merges: token id = UTF-8 byte, so expected ids can be written down from the text.
// Specials: <s> 256, </s> 257, <|im_start|> 258, <|im_end|> 259.
const BOS = 256;
const EOS = 257;
const IM_START = 258;
const IM_END = 259;

function byteLevelTokenizerJson() {
  const keep = (b: number) => (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
  let shifted = 0;
  const vocab: Record<string, number> = {};
  for (let b = 0; b < 256; b++) vocab[String.fromCharCode(keep(b) ? b : 256 + shifted++)] = b;
  const specials = ['<s>', '</s>', '<|im_start|>', '<|im_end|>'];
  specials.forEach((s, k) => (vocab[s] = 256 + k));
  const byteLevel = { add_prefix_space: false, trim_offsets: true, use_regex: true };
  return {
    version: '1.0',
    added_tokens: specials.map((content, k) => ({ id: 256 + k, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true })),
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', ...byteLevel },
    post_processor: null,
    decoder: { type: 'ByteLevel', ...byteLevel },
    model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null, fuse_unk: false, byte_fallback: false, vocab, merges: [] },
  };
}

const chatml =
  "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}{% endfor %}" +
  "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

async function byteTokenizer(config: Record<string, unknown> = {}): Promise<TextTokenizer> {
  const tokenizerConfig = { add_bos_token: true, bos_token: '<s>', eos_token: '</s>', ...config };
  const tokenizer = await loadTokenizer(
    memoryFiles({ 'tokenizer.json': JSON.stringify(byteLevelTokenizerJson()), 'tokenizer_config.json': JSON.stringify(tokenizerConfig) }),
  );
  if (!tokenizer) throw new Error('expected a tokenizer');
  return tokenizer;
}

const bytes = (text: string) => [...new TextEncoder().encode(text)];
const masked = (n: number) => new Array<number>(n).fill(IGNORE_INDEX);

describe('alpacaExample', () => {
  test('BOS + prompt + output + EOS, loss on the output and EOS only', async () => {
    const tokenizer = await byteTokenizer();
    const row = { instruction: 'Add 2 and 3.', input: '', output: 'It is 5.' };
    const { example, truncated } = alpacaExample(tokenizer, row, { trainOnInputs: false, maxLen: 512 });
    const prompt = [BOS, ...bytes(alpacaPrompt(row.instruction))];
    const response = [...bytes(row.output), EOS];
    expect(truncated).toBe(false);
    expect(example.inputIds).toEqual([...prompt, ...response]);
    expect(example.labels).toEqual([...masked(prompt.length), ...response]);
  });

  test('the input section is used when there is an input; trainOnInputs trains every position', async () => {
    const tokenizer = await byteTokenizer();
    const row = { instruction: 'Translate.', input: 'Bonjour', output: 'Hello' };
    const { example } = alpacaExample(tokenizer, row, { trainOnInputs: true, maxLen: 512 });
    const ids = [BOS, ...bytes(alpacaPrompt('Translate.', 'Bonjour')), ...bytes('Hello'), EOS];
    expect(tokenizer.decode(example.inputIds)).toContain('### Input:\nBonjour\n\n### Response:Hello');
    expect(example.inputIds).toEqual(ids);
    expect(example.labels).toEqual(ids);
  });

  test('no BOS when the tokenizer adds none', async () => {
    const tokenizer = await byteTokenizer({ add_bos_token: false });
    const { example } = alpacaExample(tokenizer, { instruction: 'x', output: 'y' }, { trainOnInputs: false, maxLen: 512 });
    expect(example.inputIds[0]).not.toBe(BOS);
    expect(example.inputIds.slice(-2)).toEqual([...bytes('y'), EOS]);
  });

  test('special-token text in a row stays plain text', async () => {
    const tokenizer = await byteTokenizer();
    const { example } = alpacaExample(tokenizer, { instruction: 'Say </s>', output: 'Done </s> <s>' }, { trainOnInputs: false, maxLen: 512 });
    expect(example.inputIds.filter((id) => id === EOS)).toEqual([EOS]); // only the appended one
    expect(example.inputIds.filter((id) => id === BOS)).toEqual([BOS]);
    expect(example.inputIds.at(-1)).toBe(EOS);
  });

  test('truncation keeps the first maxLen tokens and says so', async () => {
    const tokenizer = await byteTokenizer();
    const row = { instruction: 'Write a long answer.', output: 'word '.repeat(50) };
    const full = alpacaExample(tokenizer, row, { trainOnInputs: false, maxLen: 10_000 }).example;
    const cut = alpacaExample(tokenizer, row, { trainOnInputs: false, maxLen: 120 });
    expect(cut.truncated).toBe(true);
    expect(cut.example.inputIds).toEqual(full.inputIds.slice(0, 120));
    expect(cut.example.labels).toEqual(full.labels.slice(0, 120));
    expect(alpacaExample(tokenizer, row, { trainOnInputs: false, maxLen: full.inputIds.length }).truncated).toBe(false);
  });

  test('a tokenizer without EOS is a typed error', async () => {
    const tokenizer = await byteTokenizer({ eos_token: null });
    expect(() => alpacaExample(tokenizer, { instruction: 'x', output: 'y' }, { trainOnInputs: false, maxLen: 8 })).toThrow(TrainDataError);
    expect(() => alpacaExample(tokenizer, { instruction: 'x', output: 'y' }, { trainOnInputs: false, maxLen: 8 })).toThrow(/no EOS token/);
  });
});

describe('chatExample', () => {
  test('ChatML: only the reply and <|im_end|> are trained; the trailing newline is dropped', async () => {
    const tokenizer = await byteTokenizer({ chat_template: chatml, eos_token: '<|im_end|>' });
    const row = { instruction: 'Name a color.', input: 'Not red.', output: 'Blue </s>' };
    const { example, truncated } = chatExample(tokenizer, row, { trainOnInputs: false, maxLen: 512 });
    const prompt = [IM_START, ...bytes('user\nName a color.\n\nNot red.'), IM_END, ...bytes('\n'), IM_START, ...bytes('assistant\n')];
    const reply = [...bytes('Blue </s>'), IM_END];
    expect(truncated).toBe(false);
    expect(example.inputIds).toEqual([...prompt, ...reply]);
    expect(example.labels).toEqual([...masked(prompt.length), ...reply]);

    const all = chatExample(tokenizer, row, { trainOnInputs: true, maxLen: 512 }).example;
    expect(all.labels).toEqual(all.inputIds);
    expect(chatExample(tokenizer, row, { trainOnInputs: false, maxLen: 20 }).truncated).toBe(true);
  });

  test('a template that closes the reply without EOS gets EOS appended', async () => {
    const plain = "{% for m in messages %}{{ m['role'] + ': ' + m['content'] + '\\n' }}{% endfor %}{% if add_generation_prompt %}{{ 'assistant: ' }}{% endif %}";
    const tokenizer = await byteTokenizer({ chat_template: plain });
    const { example } = chatExample(tokenizer, { instruction: 'Hi', output: 'Hello' }, { trainOnInputs: false, maxLen: 512 });
    const prompt = bytes('user: Hi\nassistant: ');
    expect(example.inputIds).toEqual([...prompt, ...bytes('Hello\n'), EOS]);
    expect(example.labels).toEqual([...masked(prompt.length), ...bytes('Hello\n'), EOS]);
  });

  test('a template whose prompt is not a prefix of the conversation is refused', async () => {
    const odd = "{% for m in messages %}{{ m['content'] }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>' }}{% endif %}";
    const tokenizer = await byteTokenizer({ chat_template: odd });
    expect(() => chatExample(tokenizer, { instruction: 'Hi', output: 'Hello' }, { trainOnInputs: false, maxLen: 512 })).toThrow(
      /cannot be told apart from the prompt\. Train with the Alpaca template instead\./,
    );
  });
});

const llamaDir = path.resolve(__dirname, '../../../shared/fixtures/llama2-tokenizer');
const llamaPresent = existsSync(path.join(llamaDir, 'tokenizer.json'));
if (!llamaPresent) console.warn(`Llama 2 tokenizer tests of train/data skipped: ${llamaDir} is absent (the shared fixtures live in ../shared)`);

describe.skipIf(!llamaPresent)('alpacaExample with the Llama 2 tokenizer (../shared/fixtures/llama2-tokenizer)', () => {
  test('<s> prompt, response, </s>; the trained tokens decode to the output', async () => {
    const read = (name: string) => readFileSync(path.join(llamaDir, name), 'utf8');
    const tokenizer = (await loadTokenizer(memoryFiles({ 'tokenizer.json': read('tokenizer.json'), 'tokenizer_config.json': read('tokenizer_config.json') })))!;
    const row = { instruction: 'Give three tips for staying healthy.', input: '', output: '1. Eat well.\n2. Sleep.\n3. Move.' };
    const { example } = alpacaExample(tokenizer, row, { trainOnInputs: false, maxLen: 512 });
    const prompt = tokenizer.encode(alpacaPrompt(row.instruction));
    expect(prompt[0]).toBe(1);
    expect(example.inputIds.slice(0, prompt.length)).toEqual(prompt);
    expect(example.inputIds.at(-1)).toBe(2);
    const trained = example.labels.filter((l) => l !== IGNORE_INDEX);
    expect(trained).toEqual(example.inputIds.slice(prompt.length));
    expect(tokenizer.decode(trained, { skipSpecial: true })).toBe(row.output);
  });
});

describe('parseTokenizedJsonl', () => {
  test('rows with blank lines, CRLF and extra keys', () => {
    const text = '{"input_ids":[1,5,9],"labels":[-100,5,9],"attention_mask":[1,1,1]}\r\n\n  \n{"input_ids":[7],"labels":[-100]}\n';
    expect(parseTokenizedJsonl(text, 10)).toEqual([
      { inputIds: [1, 5, 9], labels: [-100, 5, 9] },
      { inputIds: [7], labels: [-100] },
    ]);
  });

  const good = '{"input_ids":[1,2],"labels":[-100,2]}';
  test.each([
    ['not JSON', `${good}\n{"input_ids":[1,2]`, 2, /line 2: not JSON/],
    ['an id at the vocabulary size', `${good}\n${good}\n{"input_ids":[1,10],"labels":[-100,2]}`, 3, /line 3: input_ids\[1\] must be an integer token id from 0 to 9/],
    ['a negative id', '{"input_ids":[-1,2],"labels":[-100,2]}', 1, /input_ids\[0\] must be an integer token id/],
    ['a fractional id', '{"input_ids":[1.5,2],"labels":[-100,2]}', 1, /input_ids\[0\] must be an integer token id/],
    ['a label that is neither -100 nor an id', '{"input_ids":[1,2],"labels":[-1,2]}', 1, /labels\[0\] must be -100 \(not trained\) or an integer token id from 0 to 9/],
    ['a label beyond the vocabulary', '{"input_ids":[1,2],"labels":[-100,12]}', 1, /labels\[1\] must be -100/],
    ['different lengths', '{"input_ids":[1,2,3],"labels":[-100,2]}', 1, /labels has 2 entries but input_ids has 3/],
    ['no labels', '{"input_ids":[1,2]}', 1, /line 1: labels must be a list of labels/],
    ['empty ids', '{"input_ids":[],"labels":[]}', 1, /input_ids must not be empty/],
    ['an array row', '[1,2]', 1, /line 1: /],
  ])('%s is refused with its line', (_, text, line, message) => {
    let error: unknown;
    try {
      parseTokenizedJsonl(text, 10);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(TrainDataError);
    expect((error as TrainDataError).line).toBe(line);
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).toMatch(/nothing was loaded/);
  });

  test('an empty file is refused', () => {
    expect(() => parseTokenizedJsonl('\n \n', 10)).toThrow(/no rows/);
  });
});

function randomExamples(n: number, seed: number, maxLen = 100): TrainExample[] {
  const rng = seeded(seed);
  return Array.from({ length: n }, () => {
    const T = 1 + Math.floor(rng() * maxLen);
    const inputIds = [...randInt(rng, T, 50)];
    return { inputIds, labels: inputIds.map((id) => (rng() < 0.4 ? IGNORE_INDEX : id)) };
  });
}

describe('makeBatches', () => {
  test('rows are padded with padId, targets are the labels shifted by one with -100 on padding', () => {
    const examples: TrainExample[] = [
      { inputIds: [1, 2, 3, 4], labels: [-100, -100, 3, 4] },
      { inputIds: [1, 7], labels: [-100, 7] },
    ];
    const [batch, ...rest] = makeBatches(examples, 2, 0, 99);
    expect(rest).toEqual([]);
    expect(batch.B).toBe(2);
    expect(batch.T).toBe(4);
    // Sorted longest first within a batch.
    expect([...batch.inputIds]).toEqual([1, 2, 3, 4, 1, 7, 99, 99]);
    expect([...batch.targets]).toEqual([-100, 3, 4, -100, 7, -100, -100, -100]);
    expect(batch.tokens).toBe(6);
    expect(batch.trainedTokens).toBe(3);
  });

  test('every example lands in exactly one batch, unchanged', () => {
    const examples = randomExamples(203, 1);
    const batches = makeBatches(examples, 8, 5, 0);
    expect(batches.map((b) => b.B).reduce((a, b) => a + b)).toBe(203);
    expect(batches.filter((b) => b.B < 8).map((b) => b.B)).toEqual([203 % 8]);
    const seen: string[] = [];
    for (const b of batches) {
      for (let r = 0; r < b.B; r++) {
        const ids = [...b.inputIds.subarray(r * b.T, (r + 1) * b.T)];
        const targets = [...b.targets.subarray(r * b.T, (r + 1) * b.T)];
        const match = examples.find((e) => e.inputIds.every((id, t) => ids[t] === id) && e.labels.slice(1).every((l, t) => targets[t] === l) && targets.slice(e.inputIds.length - 1).every((x) => x === -100));
        expect(match).toBeDefined();
        seen.push(JSON.stringify(match));
      }
      expect(b.tokens).toBeLessThanOrEqual(b.B * b.T);
      expect(b.trainedTokens).toBe(b.targets.filter((x) => x !== -100).length);
    }
    expect(new Set(seen).size).toBe(new Set(examples.map((e) => JSON.stringify(e))).size);
    expect(batches.reduce((a, b) => a + b.tokens, 0)).toBe(examples.reduce((a, e) => a + e.inputIds.length, 0));
  });

  test('deterministic for a seed, different for another', () => {
    const examples = randomExamples(300, 2);
    const a = makeBatches(examples, 4, 7, 0);
    expect(makeBatches(examples, 4, 7, 0)).toEqual(a);
    expect(makeBatches(examples, 4, 8, 0).map((b) => [...b.inputIds])).not.toEqual(a.map((b) => [...b.inputIds]));
  });

  test('batches hold similar lengths, and their order is shuffled', () => {
    const examples = randomExamples(1000, 3);
    const batches = makeBatches(examples, 4, 11, 0);
    const padded = batches.reduce((a, b) => a + b.B * b.T, 0);
    const real = batches.reduce((a, b) => a + b.tokens, 0);
    // Random fours of lengths 1..100 pad about 60%; sorted inside windows of 200 they pad a few %.
    expect(padded / real - 1).toBeLessThan(0.08);
    const Ts = batches.slice(0, 50).map((b) => b.T);
    expect(Ts.some((T, i) => i > 0 && T > Ts[i - 1])).toBe(true);
    expect(Ts.some((T, i) => i > 0 && T < Ts[i - 1])).toBe(true);
  });

  test('bad arguments are refused', () => {
    expect(() => makeBatches(randomExamples(3, 4), 0, 0, 0)).toThrow(RangeError);
    expect(() => makeBatches([{ inputIds: [1, 2], labels: [1] }], 1, 0, 0)).toThrow(TrainDataError);
    expect(makeBatches([], 4, 0, 0)).toEqual([]);
  });
});

describe('splitExamples', () => {
  test('deterministic, disjoint, complete, in input order', () => {
    const examples = randomExamples(101, 5);
    const { train, val } = splitExamples(examples, 0.1, 3);
    expect(val.length).toBe(10);
    expect(train.length).toBe(91);
    const index = (e: TrainExample) => examples.indexOf(e);
    const all = [...train.map(index), ...val.map(index)].sort((a, b) => a - b);
    expect(all).toEqual(examples.map((_, i) => i));
    expect(train.map(index)).toEqual([...train.map(index)].sort((a, b) => a - b));
    expect(splitExamples(examples, 0.1, 3)).toEqual({ train, val });
    expect(splitExamples(examples, 0.1, 4).val).not.toEqual(val);
    expect(splitExamples(examples, 0, 3)).toEqual({ train: examples, val: [] });
  });
});
