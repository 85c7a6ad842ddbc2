import { describe, expect, test } from 'vitest';
import type { Row } from '../../src/data/types';
import { answerRows } from '../../src/eval/answers';
import { evalItemsFromRows } from '../../src/eval/eval-set';
import { parseAnswerSet } from '../../src/eval/eval-set';
import { parsePredictions, referencesFromRows, rougeOfSources, rougeReport, type StoredSets } from '../../src/eval/rouge-report';

// Unnatural Instructions rows as the Datasets page stores them: the label is the reference.
const unnatural: Row[] = [
  { instruction: 'Is the sky blue?', input: '', output: 'GPT-4: yes', label: 'yes' },
  { instruction: 'Name the animal.', input: 'It meows.', output: 'GPT-4: a cat', label: 'the cat sat down' },
  { instruction: 'Count to seven.', input: '', output: 'GPT-4: 1..7', label: 'one two three four five six seven' },
];
const items = evalItemsFromRows(unnatural);
const model = answerRows(items, ['Yes.', 'the cat sat', 'one two'], 'tiny');

const stored: StoredSets = {
  dataset: async (id) => {
    if (id === 'unnatural') return { name: 'unnatural', rows: unnatural };
    if (id === 'teacher') return { name: 'teacher answers', rows: [...unnatural].reverse().map((r) => ({ ...r, output: r.label! })) };
    throw new Error(`dataset ${id} does not exist`);
  },
  answerSet: (id) => (id === 'tiny' ? { name: 'tiny model', rows: model } : undefined),
};

describe('ROUGE-L from stored sets', () => {
  test("a dataset's labels against an answer set generated for an eval set made from it, matched by id", async () => {
    const { references, predictions, report } = await rougeOfSources({ kind: 'dataset', id: 'unnatural' }, { kind: 'answers', id: 'tiny' }, stored);
    expect([references, predictions]).toEqual(['unnatural', 'tiny model']);
    const direct = rougeReport(
      [{ id: '1', text: 'Yes.' }, { id: '2', text: 'the cat sat' }, { id: '3', text: 'one two' }],
      [{ id: '1', texts: ['yes'] }, { id: '2', texts: ['the cat sat down'] }, { id: '3', texts: ['one two three four five six seven'] }],
    );
    expect(report).toEqual(direct);
    expect(report.items.map((i) => i.f)).toEqual([1, 2 * 3 / 7, 2 * 2 / 9].map((f) => expect.closeTo(f, 12)));
    expect(report.bins['0-2'].n).toBe(1);
  });

  test("a dataset's outputs as predictions are matched by instruction, whatever their order", async () => {
    const { report } = await rougeOfSources({ kind: 'dataset', id: 'unnatural' }, { kind: 'dataset', id: 'teacher' }, stored);
    expect(report.mean_f).toBe(1);
  });

  test('one answer set as the reference of another; a file on one side', async () => {
    const file = new File([['Yes.', 'the cat', 'one'].map((text, i) => JSON.stringify({ id: String(i + 1), text })).join('\n')], 'other.jsonl');
    const { predictions, report } = await rougeOfSources({ kind: 'answers', id: 'tiny' }, { kind: 'file', file }, stored);
    expect(predictions).toBe('other');
    expect(report.items.map((i) => i.f)).toEqual([1, 0.8, expect.closeTo(2 / 3, 12)]);
  });

  test('a dataset without references, a deleted answer set and answers of another question set are refused with the reason', async () => {
    expect(() => referencesFromRows([{ instruction: 'q', input: '', output: '' }], 'questions')).toThrow(/“questions” has no reference texts/);
    expect(() => referencesFromRows([...unnatural, { instruction: 'q', input: '', output: '' }], 'mixed')).toThrow(/1 rows of “mixed” have no reference text .* row 4/);
    await expect(rougeOfSources({ kind: 'dataset', id: 'unnatural' }, { kind: 'answers', id: 'gone' }, stored)).rejects.toThrow(/deleted: pick another/);
    const others = new File([JSON.stringify({ id: 'x9', text: 'no' })], 'others.jsonl');
    await expect(rougeOfSources({ kind: 'dataset', id: 'unnatural' }, { kind: 'file', file: others }, stored)).rejects.toThrow(/“others”: 3 of 3 questions have no answer/);
  });
});

describe('eval files with bad records', () => {
  test('every bad record is named with its line or number and reason, up to 50, the rest counted', () => {
    const lines = ['{"id": 1, "text": "ok"}', '{"id": 2}', 'not json', '{"id": 4, "text": "ok"}', '{"text": "no id"}'];
    expect(() => parsePredictions(lines.join('\n'), 'p.jsonl')).toThrow(
      /^p\.jsonl: 3 of 5 records are bad: line 2: field "text": .*; line 3: not valid JSON.*; line 5: field "id": .*$/,
    );
    const many = Array.from({ length: 80 }, (_, i) => JSON.stringify({ question_id: i + 1 })).join('\n');
    const message = (() => {
      try {
        parseAnswerSet(many, 'a.jsonl');
      } catch (e) {
        return (e as Error).message;
      }
      return '';
    })();
    expect(message).toMatch(/^a\.jsonl: 80 of 80 records are bad: line 1: not a recognised record/);
    expect(message.match(/line \d+:/g)).toHaveLength(50);
    expect(message).toMatch(/line 50: not a recognised record; expected [^;]*; and 30 more$/);
    expect(() => parsePredictions('[{"id": 1}, {"id": 2, "text": "x"}, 3]', 'r.json')).toThrow(/r\.json: 2 of 3 records are bad: record 1: field "text".*; record 3: /);
  });
});
