import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { alignAnswers, parseAnswerSet } from '../../src/eval/eval-set';
import { EvalFileError } from '../../src/eval/records';
import { rouge } from '../../src/eval/rouge';
import {
  lengthBin,
  parsePredictions,
  parseReferenceSet,
  parseReferences,
  RougeInputError,
  rougeLMulti,
  rougeReport,
  wordCount,
} from '../../src/eval/rouge-report';

// Expected values worked out by hand from rouge-score's rules: lower-case, every run outside [a-z0-9] is a
// separator, tokens longer than 3 characters are Porter-stemmed when stemming is on, P = LCS / |prediction|,
// R = LCS / |reference|, F = 2PR / (P + R), and 0 when either side has no tokens.
interface Pair {
  name: string;
  ref: string;
  pred: string;
  stem?: boolean;
  cjk?: boolean;
  p: number;
  r: number;
  f: number;
}

const pairs: Pair[] = [
  { name: 'punctuation is a separator', ref: 'Hello, world!', pred: 'hello world', p: 1, r: 1, f: 1 },
  { name: 'hyphens split words', ref: 'state-of-the-art', pred: 'state of the art', p: 1, r: 1, f: 1 },
  { name: 'underscore is not a word character', ref: 'snake_case', pred: 'snake case', p: 1, r: 1, f: 1 },
  // [don, t, stop] vs [dont, stop]: LCS 1.
  { name: 'an apostrophe splits a word', ref: "don't stop", pred: 'dont stop', p: 1 / 2, r: 1 / 3, f: 0.4 },
  { name: 'case is ignored', ref: 'PARIS', pred: 'paris', p: 1, r: 1, f: 1 },
  // [the, answer, is, 42] vs [42].
  { name: 'digits are tokens', ref: 'The answer is 42.', pred: '42', p: 1, r: 1 / 4, f: 0.4 },
  { name: 'a decimal point splits a number', ref: '3.14', pred: '3,14', p: 1, r: 1, f: 1 },
  { name: 'a thousands separator splits a number', ref: '$1,000', pred: '1000', p: 0, r: 0, f: 0 },
  { name: 'letters and digits stay one token', ref: 'GPT4 wins', pred: 'gpt 4 wins', p: 1 / 3, r: 1 / 2, f: 0.4 },
  { name: 'accented letters are dropped', ref: 'café', pred: 'cafe', p: 0, r: 0, f: 0 },
  { name: 'repeated words match once each', ref: 'the the the', pred: 'the', p: 1, r: 1 / 3, f: 0.5 },
  { name: 'order matters (subsequence, not bag)', ref: 'a b c d', pred: 'd c b a', p: 1 / 4, r: 1 / 4, f: 1 / 4 },
  { name: 'no stemming: inflections differ', ref: 'The cats are running', pred: 'a cat runs', p: 0, r: 0, f: 0 },
  // [the, cat, are, run] vs [a, cat, run]: "are" has 3 characters and is left alone.
  { name: 'stemming', ref: 'The cats are running', pred: 'a cat runs', stem: true, p: 2 / 3, r: 1 / 2, f: 4 / 7 },
  // "flies" stems to "fli"; "fly" has 3 characters, so it is never stemmed.
  { name: 'short tokens are not stemmed', ref: 'flies', pred: 'fly', stem: true, p: 0, r: 0, f: 0 },
  { name: 'a stemmed word meets its short form', ref: 'dies', pred: 'die', stem: true, p: 1, r: 1, f: 1 },
  { name: 'empty prediction', ref: 'some answer', pred: '', p: 0, r: 0, f: 0 },
  { name: 'empty reference', ref: '', pred: 'some answer', p: 0, r: 0, f: 0 },
  { name: 'punctuation only', ref: '!!!', pred: '?', p: 0, r: 0, f: 0 },
  { name: 'Chinese scores 0 without the CJK option', ref: '北京是中国的首都', pred: '中国的首都是北京', p: 0, r: 0, f: 0 },
  // One token per character; the LCS is 中国的首都.
  { name: 'Chinese with the CJK option', ref: '北京是中国的首都', pred: '中国的首都是北京', cjk: true, p: 5 / 8, r: 5 / 8, f: 5 / 8 },
  { name: 'CJK punctuation separates', ref: '你好，世界。', pred: '你好世界', cjk: true, p: 1, r: 1, f: 1 },
  // [i, love, 北, 京] vs [i, love, beijing].
  { name: 'mixed script with the CJK option', ref: 'I love 北京', pred: 'i love Beijing', cjk: true, p: 2 / 3, r: 1 / 2, f: 4 / 7 },
  // [i, love] vs [i, love, beijing].
  { name: 'mixed script without it', ref: 'I love 北京', pred: 'i love Beijing', p: 2 / 3, r: 1, f: 0.8 },
];

describe('ROUGE-L on tricky pairs', () => {
  test.each(pairs)('$name', ({ ref, pred, stem, cjk, p, r, f }) => {
    const s = rouge(ref, pred, ['rougeL'], { stem, cjk }).rougeL;
    expect(s.precision).toBeCloseTo(p, 12);
    expect(s.recall).toBeCloseTo(r, 12);
    expect(s.fmeasure).toBeCloseTo(f, 12);
  });

  test('several references: the best F-measure wins, with its own P and R', () => {
    const s = rougeLMulti(['the cat', 'a dog'], 'a dog barks');
    expect(s.precision).toBeCloseTo(2 / 3, 12);
    expect(s.recall).toBe(1);
    expect(s.fmeasure).toBeCloseTo(0.8, 12);
    expect(rougeLMulti([], 'anything').fmeasure).toBe(0);
  });
});

describe('reference length bins', () => {
  test('words are whitespace-separated; CJK characters count one each with the option', () => {
    expect(wordCount('')).toBe(0);
    expect(wordCount('  Hello,   world! ')).toBe(2);
    expect(wordCount("don't stop")).toBe(2);
    expect(wordCount('今天天气很好')).toBe(1);
    expect(wordCount('今天天气很好', { cjk: true })).toBe(6);
    expect(wordCount('I love 北京.', { cjk: true })).toBe(5);
  });

  test('bin edges', () => {
    expect([0, 2, 3, 5, 6, 10, 11, 400].map(lengthBin)).toEqual(['0-2', '0-2', '3-5', '3-5', '6-10', '6-10', '>10', '>10']);
  });

  test('report: items in reference order, overall mean and mean per bin', () => {
    const refs = parseReferences([
      '{"id": 1, "text": "yes"}',
      '{"id": "b", "text": "one two three four"}',
      '{"id": "c", "text": ["a b c d e f g h i j k", "alternative"]}',
      '{"id": "d", "text": "no"}',
    ].join('\n'), 'refs.jsonl');
    const preds = parsePredictions('[{"id": "d", "text": "nope"}, {"id": 1, "text": "Yes."}, {"id": "b", "text": "one three"},'
      + ' {"id": "c", "text": "alternative"}, {"id": "extra", "text": "ignored"}]', 'preds.json');
    const report = rougeReport(preds, refs);
    expect(report.items.map((i) => i.id)).toEqual(['1', 'b', 'c', 'd']);
    // b: [one, two, three, four] vs [one, three]: P 1, R 1/2, F 2/3. c: the second reference matches exactly.
    expect(report.items.map((i) => i.f)).toEqual([1, expect.closeTo(2 / 3, 12), 1, 0]);
    expect(report.items[1]).toMatchObject({ precision: 1, recall: 0.5 });
    expect(report.mean_f).toBeCloseTo((1 + 2 / 3 + 1 + 0) / 4, 12);
    // c's bin comes from its first reference (11 words).
    expect(report.bins).toEqual({
      '0-2': { n: 2, mean_f: 0.5 },
      '3-5': { n: 1, mean_f: expect.closeTo(2 / 3, 12) },
      '6-10': { n: 0, mean_f: null },
      '>10': { n: 1, mean_f: 1 },
    });
  });

  test('missing and duplicate predictions are refused with what to do', () => {
    const refs = [{ id: 'a', texts: ['x'] }, { id: 'b', texts: ['y'] }];
    expect(() => rougeReport([{ id: 'a', text: 'x' }], refs)).toThrow(RougeInputError);
    expect(() => rougeReport([{ id: 'a', text: 'x' }], refs)).toThrow(/1 reference id\(s\) have no prediction \("b"\)/);
    expect(() => rougeReport([{ id: 'a', text: 'x' }, { id: 'a', text: 'z' }, { id: 'b', text: 'y' }], refs)).toThrow(/appears twice/);
  });

  test('references from Unnatural Instructions rows, predictions matched by instruction', () => {
    const { references, items } = parseReferenceSet([
      JSON.stringify({ instruction: 'Add the numbers.', input: '2 and 3', label: '5' }),
      JSON.stringify({ instruction: 'Name a colour.', output: 'Blue' }),
    ].join('\n'), 'unnatural.jsonl');
    expect(references).toEqual([{ id: '1', texts: ['5'] }, { id: '2', texts: ['Blue'] }]);
    const preds = alignAnswers(items, parseAnswerSet(JSON.stringify([
      { instruction: 'Name a colour.', input: '', output: 'blue!' },
      { instruction: 'Add the numbers.', input: '2 and 3', output: 'It is 5' },
    ]), 'outputs.json'), 'outputs.json');
    const report = rougeReport([...preds].map(([id, text]) => ({ id, text })), references);
    expect(report.items.map((i) => i.f)).toEqual([expect.closeTo(2 / 4, 12), 1]);
  });

  test('bad files name the file and line', () => {
    expect(() => parsePredictions('{"id": 1, "text": "ok"}\n{"id": 2}\n', 'p.jsonl')).toThrow(EvalFileError);
    expect(() => parsePredictions('{"id": 1, "text": "ok"}\n{"id": 2}\n', 'p.jsonl')).toThrow(/p\.jsonl line 2: field "text"/);
    expect(() => parsePredictions('{"id": 1, "text": "ok"}\nnot json\n', 'p.jsonl')).toThrow(/p\.jsonl line 2: not valid JSON/);
    expect(() => parseReferences('[{"id": 1}]', 'r.json')).toThrow(/r\.json: record 1: field "text"/);
  });
});

describe('rouge CLI', () => {
  let dir = '';
  const exec = promisify(execFile);
  const cli = (...args: string[]) =>
    exec('node', ['--import', 'tsx', '--import', './src/cli/raw-import.mjs', 'src/cli/main.ts', 'rouge', ...args]);

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'eval-rouge-'));
    await writeFile(path.join(dir, 'ref.jsonl'), [
      JSON.stringify({ id: 'q1', text: 'The cats are running' }),
      JSON.stringify({ id: 'q2', text: '北京是中国的首都' }),
    ].join('\n'));
    await writeFile(path.join(dir, 'pred.jsonl'), [
      JSON.stringify({ id: 'q2', text: '中国的首都是北京' }),
      JSON.stringify({ id: 'q1', text: 'a cat runs' }),
    ].join('\n'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  test('prints the JSON contract; --stem and --cjk change the scores', async () => {
    const plain = JSON.parse((await cli('--pred', path.join(dir, 'pred.jsonl'), '--ref', path.join(dir, 'ref.jsonl'))).stdout);
    expect(plain).toEqual({
      items: [{ id: 'q1', precision: 0, recall: 0, f: 0 }, { id: 'q2', precision: 0, recall: 0, f: 0 }],
      mean_f: 0,
      bins: { '0-2': { n: 1, mean_f: 0 }, '3-5': { n: 1, mean_f: 0 }, '6-10': { n: 0, mean_f: null }, '>10': { n: 0, mean_f: null } },
    });
    const both = JSON.parse((await cli('--pred', path.join(dir, 'pred.jsonl'), '--ref', path.join(dir, 'ref.jsonl'), '--stem', '--cjk')).stdout);
    expect(both.items[0].f).toBeCloseTo(4 / 7, 12);
    expect(both.items[1].f).toBeCloseTo(5 / 8, 12);
    expect(both.mean_f).toBeCloseTo((4 / 7 + 5 / 8) / 2, 12);
    // With --cjk the Chinese reference is 8 words long.
    expect(both.bins['6-10']).toEqual({ n: 1, mean_f: expect.closeTo(5 / 8, 12) });
    expect(both.bins['0-2'].n).toBe(0);
  });

  test('a missing flag is a usage error (exit 2)', async () => {
    await expect(cli('--pred', 'x.jsonl')).rejects.toMatchObject({ code: 2, stderr: expect.stringContaining('--ref is required') });
  });
});
