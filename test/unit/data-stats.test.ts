import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { dedupeByRougeL, dedupeByRougeLAsync } from '../../src/data/dedupe';
import { splitIndices } from '../../src/data/split';
import { lengthHistograms, verbNoun, verbNounStats, wordCount } from '../../src/data/stats';
import { rougeL, type RougeOptions } from '../../src/eval/rouge';
import { seeded } from '../util';

const shared = path.resolve(__dirname, '../../../shared/data');
const haveShared = existsSync(shared);
if (!haveShared) console.warn(`[data-stats] ${shared} is absent: tests on the shared dataset files are skipped`);
const sharedRows = (name: string) => JSON.parse(readFileSync(path.join(shared, name), 'utf8')) as { instruction: string; output: string }[];

/** self-instruct's loop, literally: keep a row unless its ROUGE-L with some kept row is above 0.7. */
function bruteForce(texts: string[], options: RougeOptions = {}): boolean[] {
  const kept: string[] = [];
  return texts.map((t) => {
    if (kept.some((k) => rougeL(k, t, options) > 0.7)) return false;
    kept.push(t);
    return true;
  });
}

describe('dedupe by ROUGE-L > 0.7', () => {
  test('matches the quadratic loop on generated near-duplicates', async () => {
    const rng = seeded(11);
    const words = ['write', 'a', 'poem', 'story', 'about', 'the', 'sea', 'cat', 'dog', 'explain', 'why', 'sky', 'is', 'blue', 'list', 'three', 'tips'];
    const base = Array.from({ length: 40 }, () => Array.from({ length: 3 + Math.floor(rng() * 12) }, () => words[Math.floor(rng() * words.length)]));
    const texts: string[] = [];
    for (let i = 0; i < 400; i++) {
      const b = [...base[Math.floor(rng() * base.length)]];
      const edits = Math.floor(rng() * 5);
      for (let e = 0; e < edits; e++) {
        const at = Math.floor(rng() * (b.length + 1));
        if (rng() < 0.5 && b.length > 1) b.splice(Math.min(at, b.length - 1), 1);
        else b.splice(at, 0, words[Math.floor(rng() * words.length)]);
      }
      texts.push(b.join(rng() < 0.3 ? ', ' : ' '));
    }
    texts.push('', '!!!', '');
    const fast = dedupeByRougeL(texts);
    const slow = bruteForce(texts);
    expect(fast.keep).toEqual(slow);
    expect(slow.filter((k) => !k).length).toBeGreaterThan(100);
    const progress: number[] = [];
    expect((await dedupeByRougeLAsync(texts, { onProgress: (done) => progress.push(done) })).keep).toEqual(slow);
    expect(progress).toEqual([250, texts.length]);
    for (let i = 0; i < texts.length; i++) {
      if (!fast.keep[i]) expect(rougeL(texts[fast.duplicateOf[i]], texts[i])).toBeGreaterThan(0.7);
    }
  });

  test('the threshold is strict: exactly 0.7 survives', () => {
    // 10 tokens each, LCS 7: F = 0.7.
    const a = 'a b c d e f g h i j', b = 'a b c d e f g x y z';
    expect(rougeL(a, b)).toBeCloseTo(0.7, 12);
    expect(dedupeByRougeL([a, b]).keep).toEqual(bruteForce([a, b]));
  });

  test('cjk mode finds Chinese near-duplicates', () => {
    const texts = ['请写一首关于大海的诗。', '请写一首关于海洋的诗。', '解释疫苗是如何起作用的。'];
    expect(dedupeByRougeL(texts).keep).toEqual([true, true, true]);
    expect(dedupeByRougeL(texts, { cjk: true }).keep).toEqual([true, false, true]);
  });

  test.skipIf(!haveShared)('matches the quadratic loop on alpaca_gpt4_en_1k and alpaca_gpt4_zh_1k', () => {
    const en = sharedRows('alpaca_gpt4_en_1k.json').map((r) => r.instruction);
    expect(dedupeByRougeL(en).keep).toEqual(bruteForce(en));
    const zh = sharedRows('alpaca_gpt4_zh_1k.json').map((r) => r.instruction).slice(0, 400);
    expect(dedupeByRougeL(zh, { cjk: true }).keep).toEqual(bruteForce(zh, { cjk: true }));
  });
});

describe('split', () => {
  test('seeded, disjoint, complete, file order kept', () => {
    const a = splitIndices(1000, 0.2, 5);
    expect(a.validation).toHaveLength(200);
    expect([...a.train, ...a.validation].sort((x, y) => x - y)).toEqual([...Array(1000).keys()]);
    expect(a.train).toEqual([...a.train].sort((x, y) => x - y));
    expect(splitIndices(1000, 0.2, 5)).toEqual(a);
    expect(splitIndices(1000, 0.2, 6).validation).not.toEqual(a.validation);
    expect(() => splitIndices(10, 1.5, 0)).toThrow(RangeError);
  });
});

describe('Figure 1 statistics', () => {
  test('root verb and direct object of typical instructions', () => {
    expect(verbNoun('Give three tips for staying healthy.')).toEqual({ verb: 'give', noun: 'tip' });
    expect(verbNoun('Write me a short story about dragons.')).toEqual({ verb: 'write', noun: 'story' });
    expect(verbNoun('Generate a list of five adjectives that describe a cat.')).toEqual({ verb: 'generate', noun: 'list' });
    expect(verbNoun('Please summarize the given article in two sentences.')).toEqual({ verb: 'summarize', noun: 'article' });
    expect(verbNoun('Rewrite the following sentences using passive voice')).toEqual({ verb: 'rewrite', noun: 'sentence' });
    expect(verbNoun('What is the capital of France?')).toBeNull();
    expect(verbNoun('Explain why the sky is blue.')).toBeNull();
    expect(verbNoun('')).toBeNull();
  });

  test('word counts treat each CJK character as a word', () => {
    expect(wordCount('  two words ')).toBe(2);
    expect(wordCount('今天 is 好')).toBe(4);
    expect(wordCount('')).toBe(0);
  });

  test('histograms share bins and clip the long tail into the last bin', () => {
    const h = lengthHistograms([{ name: 'a', lengths: [0, 1, 2, 3, 10, 1000] }, { name: 'b', lengths: [5, 5, 5] }], 4, 11);
    expect(h.edges).toEqual([0, 3, 6, 9, 12]);
    expect(h.series[0].counts).toEqual([3, 1, 0, 2]);
    expect(h.series[1].counts).toEqual([0, 3, 0, 0]);
    expect(h.series[1].mean).toBe(5);
  });

  test.skipIf(!haveShared)('verb-noun pairs of alpaca_gpt4_en_1k', async () => {
    const rows = sharedRows('alpaca_gpt4_en_1k.json');
    const stats = await verbNounStats(rows.map((r) => r.instruction), { topVerbs: 10 });
    expect(stats.total).toBe(999);
    expect(stats.withPair).toBeGreaterThan(400);
    const verbs = stats.verbs.map((v) => v.verb);
    for (const v of ['generate', 'write', 'create', 'describe']) expect(verbs).toContain(v);
    expect(stats.verbs[0].count).toBeGreaterThanOrEqual(stats.verbs[1].count);
    expect(stats.pairs[0].count).toBeGreaterThan(5);
  });
});
