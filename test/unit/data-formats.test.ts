import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { exportRows, pairOf } from '../../src/data/export';
import { BadRowsError, ImportError, MAX_LISTED_PROBLEMS, MAX_ROW_CHARS, parseDataset } from '../../src/data/formats';

const shared = path.resolve(__dirname, '../../../shared/data');
const haveShared = existsSync(shared);
if (!haveShared) console.warn(`[data-formats] ${shared} is absent: tests on the shared dataset files are skipped`);
const readShared = (name: string) => readFileSync(path.join(shared, name), 'utf8');

function importError(text: string): ImportError {
  try {
    parseDataset(text);
  } catch (e) {
    expect(e).toBeInstanceOf(ImportError);
    return e as ImportError;
  }
  throw new Error('expected the import to fail');
}

const alpacaRows = [
  { instruction: 'Give three tips for staying healthy.', input: '', output: 'Eat well, sleep, move.' },
  { instruction: 'Translate to French.', input: 'Good morning', output: 'Bonjour' },
];

describe('formats', () => {
  test('Alpaca JSON and JSONL give the same rows', () => {
    const json = parseDataset(JSON.stringify(alpacaRows, null, 2));
    const jsonl = parseDataset(alpacaRows.map((r) => JSON.stringify(r)).join('\n') + '\n');
    expect(json.format).toBe('alpaca');
    expect(json.container).toBe('json');
    expect(jsonl.container).toBe('jsonl');
    expect(json.rows).toEqual(alpacaRows);
    expect(jsonl.rows).toEqual(alpacaRows);
  });

  test('Alpaca rows without input or output (instruction-only sources)', () => {
    expect(parseDataset('[{"instruction": "Name a color."}]').rows).toEqual([{ instruction: 'Name a color.', input: '', output: '' }]);
  });

  test('BOM and CRLF import the same rows as the clean file', () => {
    const clean = parseDataset(JSON.stringify(alpacaRows, null, 2)).rows;
    expect(parseDataset('\ufeff' + JSON.stringify(alpacaRows, null, 2).replace(/\n/g, '\r\n')).rows).toEqual(clean);
    expect(parseDataset('\ufeff' + alpacaRows.map((r) => JSON.stringify(r)).join('\r\n') + '\r\n\r\n').rows).toEqual(clean);
  });

  test('comparison_data_v2 keeps every scored response, output is the best', () => {
    const file = [{
      user_input: 'Name a fruit.',
      responses_and_scores: [
        { response: 'Apple.', score: 9, source: 'gpt4' },
        { response: 'Car.', score: 2, source: 'icm-1.3b' },
        { response: 'Banana', score: 7, source: 'text-davinci-003' },
      ],
    }];
    const { format, rows } = parseDataset(JSON.stringify(file));
    expect(format).toBe('comparison');
    expect(rows[0]).toMatchObject({ instruction: 'Name a fruit.', input: '', output: 'Apple.' });
    expect(rows[0].responses).toHaveLength(3);
    expect(pairOf(rows[0])).toEqual({ prompt: 'Name a fruit.', chosen: 'Apple.', rejected: 'Car.' });
  });

  test('unnatural instructions keep the label', () => {
    const { format, rows } = parseDataset(JSON.stringify([{ instruction: 'Add.', input: '2 and 3', output: '5', label: '5' }]));
    expect(format).toBe('unnatural');
    expect(rows[0]).toEqual({ instruction: 'Add.', input: '2 and 3', output: '5', label: '5' });
  });

  test('Vicuna-80, FastChat question.jsonl and User-Oriented-252 in small files', () => {
    const vicuna = parseDataset('{"question_id": 1, "text": "How can I sleep better?", "category": "generic"}\n');
    expect(vicuna.format).toBe('vicuna80');
    expect(vicuna.rows[0]).toEqual({ instruction: 'How can I sleep better?', input: '', output: '', meta: { id: 1, category: 'generic' } });
    const fastchat = parseDataset('{"question_id": 81, "category": "writing", "turns": ["Write a blog post.", "Rewrite it."]}');
    expect(fastchat.format).toBe('fastchat-question');
    expect(fastchat.rows[0]).toEqual({ instruction: 'Write a blog post.', input: '', output: '', meta: { id: 81, category: 'writing', turns: ['Rewrite it.'] } });
    const uo = parseDataset(JSON.stringify({ id: 'user_oriented_task_0', motivation_app: 'Grammarly', instruction: 'Fix it.', instances: [{ input: 'a', output: 'b' }] }));
    expect(uo.format).toBe('user-oriented');
    expect(uo.rows[0]).toEqual({ instruction: 'Fix it.', input: 'a', output: 'b', meta: { id: 'user_oriented_task_0', motivationApp: 'Grammarly' } });
  });

  test('preference pairs in both shapes', () => {
    const sharegpt = parseDataset(JSON.stringify([{
      conversations: [{ from: 'human', value: 'Hi' }, { from: 'gpt', value: 'Hello!' }, { from: 'human', value: 'Tell a joke.' }],
      chosen: { from: 'gpt', value: 'A funny joke.' },
      rejected: { from: 'gpt', value: 'No.' },
    }]));
    expect(sharegpt.format).toBe('pairs-sharegpt');
    expect(sharegpt.rows[0]).toEqual({
      instruction: 'Tell a joke.', input: '', output: 'A funny joke.', chosen: 'A funny joke.', rejected: 'No.',
      history: [{ from: 'human', value: 'Hi' }, { from: 'gpt', value: 'Hello!' }],
    });
    const prompt = parseDataset('{"prompt": "2+2?", "chosen": "4", "rejected": "5"}\n{"prompt": "Sky color?", "chosen": "Blue", "rejected": "Green"}');
    expect(prompt.format).toBe('pairs-prompt');
    expect(prompt.rows.map(pairOf)).toEqual([
      { prompt: '2+2?', chosen: '4', rejected: '5' },
      { prompt: 'Sky color?', chosen: 'Blue', rejected: 'Green' },
    ]);
  });
});

describe('malformed files are refused with the row and the reason', () => {
  test('empty', () => {
    expect(importError('').message).toMatch(/empty/);
    expect(importError('\ufeff \r\n ').message).toMatch(/empty/);
    expect(importError('[]').message).toMatch(/no rows/);
  });

  test('truncated JSON names the row that is cut off', () => {
    const text = JSON.stringify(alpacaRows.concat(alpacaRows), null, 2);
    const e = importError(text.slice(0, text.length - 40));
    expect(e.row).toBe(4);
    expect(e.message).toMatch(/truncated/);
    expect(e.message).toMatch(/Nothing was imported/);
  });

  test('truncated JSON Lines names the last line', () => {
    const text = alpacaRows.map((r) => JSON.stringify(r)).join('\n');
    const e = importError(text.slice(0, -10));
    expect(e.row).toBe(2);
    expect(e.line).toBe(2);
    expect(e.message).toMatch(/truncated/);
  });

  test('a broken element in the middle of an array', () => {
    const e = importError('[\n{"instruction": "a"},\n{"instruction": "b" "input": ""},\n{"instruction": "c"}\n]');
    expect(e.row).toBe(2);
    expect(e.line).toBe(3);
    expect(e.message).toMatch(/invalid JSON/);
    expect(importError('[{"instruction": "a"},]').message).toMatch(/trailing comma/);
  });

  test('wrong field types and unknown shapes', () => {
    const e = importError(JSON.stringify([alpacaRows[0], { instruction: 'x', input: '', output: 42 }]));
    expect(e.row).toBe(2);
    expect(e.message).toMatch(/output: .*expected string/);
    const missing = importError('{"instruction": "a"}\n{"input": "b", "output": "c"}\n');
    expect(missing.row).toBe(2);
    expect(missing.message).toMatch(/instruction/);
    const unknown = importError('[{"question": "a", "answer": "b"}]');
    expect(unknown.row).toBe(1);
    expect(unknown.message).toMatch(/no known format has the fields \{question, answer\}/);
    expect(importError('[1, 2]').message).toMatch(/row 1 \(line 1\): expected an object, got 1; and 1 more bad row \(2 of 2\)/);
    expect(importError('{"a": 1} trailing').message).toMatch(/row 1 \(line 1\): invalid JSON/);
    expect(importError('"just a string"').message).toMatch(/JSON array of rows or JSON Lines/);
    const comparison = importError(JSON.stringify([{ user_input: 'q', responses_and_scores: [{ response: 'r', score: 'high', source: 's' }] }]));
    expect(comparison.message).toMatch(/responses_and_scores\.0\.score/);
  });

  test('a huge row', () => {
    const big = { instruction: 'x', input: '', output: 'y'.repeat(MAX_ROW_CHARS + 1) };
    expect(importError(JSON.stringify([alpacaRows[0], big])).row).toBe(2);
    expect(importError(JSON.stringify([alpacaRows[0], big])).message).toMatch(/over the 1,000,000 limit/);
    expect(importError(JSON.stringify(alpacaRows[0]) + '\n' + JSON.stringify(big)).row).toBe(2);
  });
});

describe('every bad row is reported, up to a cap', () => {
  const good = (i: number) => ({ instruction: `Instruction ${i}`, input: '', output: `Output ${i}` });

  test('a JSON array lists each bad row with its line and reason, in file order', () => {
    const rows: unknown[] = Array.from({ length: 10 }, (_, i) => good(i));
    rows[2] = { instruction: 'x', output: 42 };
    rows[5] = 'just text';
    rows[8] = { input: 'no instruction' };
    const e = importError(JSON.stringify(rows, null, 1)) as BadRowsError;
    expect(e).toBeInstanceOf(BadRowsError);
    expect(e.problems.map((p) => p.row)).toEqual([3, 6, 9]);
    expect(e.problems.every((p) => p.line !== undefined && p.line > 1)).toBe(true);
    expect(e.problems[0].reason).toMatch(/output: .*expected string/);
    expect(e.problems[1].reason).toMatch(/expected an object/);
    expect(e.problems[2].reason).toMatch(/instruction/);
    expect([e.bad, e.total, e.good]).toEqual([3, 10, 7]);
    expect(e.message).toMatch(/^row 3 \(line \d+\): output: .*; and 2 more bad rows \(3 of 10\)\. Nothing was imported\.$/);
  });

  test('broken JSON in several array elements: each is named, the rows after them still read', () => {
    const text = '[\n{"instruction": "a"},\n{"instruction": "b" "input": ""},\n{"instruction": "c"},\n{"instruction": 7},\n{"instruction": "d",}\n]';
    const e = importError(text) as BadRowsError;
    expect(e.problems.map((p) => [p.row, p.line])).toEqual([[2, 3], [4, 5], [5, 6]]);
    expect(e.problems[0].reason).toMatch(/invalid JSON/);
    expect(e.problems[1].reason).toMatch(/instruction: .*expected string/);
    expect(parseDataset(text, { skipBadRows: true }).rows.map((r) => r.instruction)).toEqual(['a', 'c']);
  });

  test('JSON Lines: bad lines are listed by line, blank lines skipped', () => {
    const text = [good(0), 'not json', good(1), '', { instruction: 3 }, good(2)].map((r) => (typeof r === 'string' ? r : JSON.stringify(r))).join('\n');
    const e = importError(text) as BadRowsError;
    expect(e.problems).toEqual([
      { row: 2, line: 2, reason: expect.stringMatching(/invalid JSON/) },
      { row: 4, line: 5, reason: expect.stringMatching(/instruction: .*expected string/) },
    ]);
  });

  test(`at most ${MAX_LISTED_PROBLEMS} are listed; all are counted`, () => {
    const rows = Array.from({ length: 500 }, (_, i) => (i % 4 === 1 ? { instruction: i } : good(i)));
    const e = importError(rows.map((r) => JSON.stringify(r)).join('\n')) as BadRowsError;
    expect(e.problems).toHaveLength(MAX_LISTED_PROBLEMS);
    expect(e.problems[0].row).toBe(2);
    expect(e.problems.at(-1)!.row).toBe(2 + 4 * (MAX_LISTED_PROBLEMS - 1));
    expect(e.bad).toBe(125);
    expect(e.message).toMatch(/and 124 more bad rows \(125 of 500\)/);
  });

  test('skipBadRows returns the good rows and what was left out; a file of bad rows only still throws', () => {
    const rows = [good(0), { instruction: 1 }, good(2)];
    const parsed = parseDataset(JSON.stringify(rows), { skipBadRows: true });
    expect(parsed.rows.map((r) => r.output)).toEqual(['Output 0', 'Output 2']);
    expect(parsed.skipped).toEqual({ bad: 1, problems: [{ row: 2, line: 1, reason: expect.stringMatching(/instruction/) }] });
    expect(parseDataset(JSON.stringify([good(0)]), { skipBadRows: true }).skipped).toBeUndefined();
    expect(() => parseDataset('[1, 2]', { skipBadRows: true })).toThrow(BadRowsError);
    // A file that is wrong as a whole is not a matter of rows.
    expect(() => parseDataset(JSON.stringify([good(0)]).slice(0, -5), { skipBadRows: true })).toThrow(/truncated/);
  });
});

describe('exports', () => {
  test('Alpaca JSON and JSONL round-trip', () => {
    const rows = parseDataset(JSON.stringify(alpacaRows)).rows;
    const json = exportRows(rows, 'alpaca-json', 'my data.json');
    expect(json.fileName).toBe('my_data.json');
    expect(JSON.parse(json.text)).toEqual(alpacaRows);
    expect(parseDataset(exportRows(rows, 'alpaca-jsonl', 'x').text).rows).toEqual(alpacaRows);
  });

  test('pairs JSONL writes pairs and counts rows without one', () => {
    const rows = parseDataset('{"prompt": "p", "chosen": "c", "rejected": "r"}').rows
      .concat(parseDataset(JSON.stringify(alpacaRows)).rows);
    const out = exportRows(rows, 'pairs-jsonl', 'pairs');
    expect(out.count).toBe(1);
    expect(out.skipped).toBe(2);
    expect(parseDataset(out.text).rows.map(pairOf)).toEqual([{ prompt: 'p', chosen: 'c', rejected: 'r' }]);
  });
});

describe.skipIf(!haveShared)('the shared dataset files', () => {
  test('alpaca_gpt4_en_1k.json and alpaca_gpt4_zh_1k.json', () => {
    for (const [name, count] of [['alpaca_gpt4_en_1k.json', 999], ['alpaca_gpt4_zh_1k.json', 1000]] as const) {
      const { format, rows } = parseDataset(readShared(name));
      expect(format).toBe('alpaca');
      expect(rows).toHaveLength(count);
      expect(rows.every((r) => r.instruction.length > 0 && r.output.length > 0)).toBe(true);
    }
  });

  test('Vicuna-80 in both layouts name the same 80 questions', () => {
    const old = parseDataset(readShared('vicuna_question_80.jsonl'));
    const bench = parseDataset(readShared('vicuna_bench_question.jsonl'));
    expect(old.format).toBe('vicuna80');
    expect(bench.format).toBe('fastchat-question');
    expect(old.rows).toHaveLength(80);
    expect(bench.rows.map((r) => r.instruction)).toEqual(old.rows.map((r) => r.instruction));
  });

  test('User-Oriented-252 and the preference pairs', () => {
    const uo = parseDataset(readShared('user_oriented_instructions_252.jsonl'));
    expect(uo.format).toBe('user-oriented');
    expect(uo.rows).toHaveLength(252);
    const pairs = parseDataset(readShared('preference_pairs_en_300.json'));
    expect(pairs.format).toBe('pairs-sharegpt');
    expect(pairs.rows).toHaveLength(300);
    expect(pairs.rows.filter((r) => r.history).length).toBeGreaterThan(0);
    expect(exportRows(pairs.rows, 'pairs-jsonl', 'p').count).toBe(300);
  });
});
