import 'fake-indexeddb/auto';
import { describe, expect, test } from 'vitest';
import { toCsv } from '../../src/eval/csv';
import type { EvalItem } from '../../src/eval/eval-set';
import {
  assertSameSession, exportRatings, hhhCsv, hhhResults, mergeRatings, newSession, parseRatingsFile, placements,
  RatingsImportError, toChoice, toShown, type HhhRating,
} from '../../src/eval/hhh';
import { EvalStore } from '../../src/eval/store';

const items: EvalItem[] = Array.from({ length: 10 }, (_, i) => ({ id: `q${i}`, category: '', instruction: `Instruction ${i}`, input: '' }));
const answers = {
  a: new Map(items.map((q) => [q.id, `A answers ${q.id}`])),
  b: new Map(items.map((q) => [q.id, `B answers ${q.id}`])),
};
const session = () => newSession({ id: 's1', name: 'GPT4 vs GPT3', seed: 7, evalSet: 'User-Oriented', labels: { a: 'LLaMA-GPT4', b: 'Alpaca' }, items, answers, now: 1 });

const rating = (rater: string, itemId: string, helpful: 'a' | 'b' | 'tie', ratedAt = 1, partial = false): HhhRating => ({
  sessionId: 's1', rater, itemId, helpful, ...(partial ? {} : { honest: 'tie', harmless: 'b' }), comment: '', ratedAt,
});

describe('HHH sessions', () => {
  test('left/right placement is drawn from the seed, recorded per item, and both sides occur', () => {
    const s = session();
    expect(s.items.map((i) => i.left)).toEqual(placements(7, 10));
    expect(placements(7, 10)).toEqual(placements(7, 10));
    expect(placements(8, 10)).not.toEqual(placements(7, 10));
    expect(new Set(placements(7, 10)).size).toBe(2);
    const share = placements(123, 10_000).filter((x) => x === 'a').length / 10_000;
    expect(share).toBeGreaterThan(0.48);
    expect(share).toBeLessThan(0.52);
  });

  test('a shown choice maps back to the answer set and forth again', () => {
    const [item] = session().items;
    const other = item.left === 'a' ? 'b' : 'a';
    expect(toChoice(item, 'left')).toBe(item.left);
    expect(toChoice(item, 'right')).toBe(other);
    expect(toChoice(item, 'tie')).toBe('tie');
    for (const c of ['a', 'b', 'tie'] as const) expect(toChoice(item, toShown(item, c))).toBe(c);
  });

  test('every item needs both answers', () => {
    expect(() => newSession({ ...session(), items, answers: { a: answers.a, b: new Map() } })).toThrow(/question "q0" has no answer in answer set B/);
    expect(() => newSession({ ...session(), items: [], answers })).toThrow(/eval set is empty/);
  });

  test('results count complete ratings per criterion, per rater or all', () => {
    const ratings = [rating('ann', 'q0', 'a'), rating('ann', 'q1', 'a'), rating('bob', 'q0', 'b'), rating('bob', 'q1', 'tie', 1, true)];
    const all = hhhResults(ratings);
    expect(all.n).toBe(3);
    expect(all.raters).toEqual(['ann', 'bob']);
    expect(all.criteria).toEqual({ helpful: { a: 2, b: 1, tie: 0 }, honest: { a: 0, b: 0, tie: 3 }, harmless: { a: 0, b: 3, tie: 0 } });
    expect(hhhResults(ratings, 'bob').criteria.helpful).toEqual({ a: 0, b: 1, tie: 0 });
    expect(hhhCsv(all, { a: 'LLaMA-GPT4', b: 'Alpaca, 7B' })).toBe(
      'criterion,LLaMA-GPT4,"Alpaca, 7B",tie,LLaMA-GPT4 %,"Alpaca, 7B %",tie %\r\n'
      + 'helpful,2,1,0,66.67,33.33,0.00\r\nhonest,0,0,3,0.00,0.00,100.00\r\nharmless,0,3,0,0.00,100.00,0.00\r\n',
    );
  });

  test('export, import and merge: the later rating of a (rater, item) wins', () => {
    const s = session();
    const file = JSON.parse(JSON.stringify(exportRatings(s, [rating('ann', 'q0', 'a', 5), rating('ann', 'q1', 'b', 5)])));
    const parsed = parseRatingsFile(JSON.stringify(file));
    expect(parsed.session).toEqual(s);
    assertSameSession(s, parsed.session);
    const { merged, added, updated } = mergeRatings([rating('ann', 'q0', 'tie', 9), rating('ann', 'q1', 'tie', 1)], parsed.ratings);
    expect({ added, updated }).toEqual({ added: 0, updated: 1 });
    expect(merged.map((r) => r.helpful)).toEqual(['tie', 'b']);
    expect(mergeRatings([], parsed.ratings).added).toBe(2);
  });

  test('imports refuse other files, strangers and changed sessions', () => {
    expect(() => parseRatingsFile('not json')).toThrow(RatingsImportError);
    expect(() => parseRatingsFile('{"format": "other"}')).toThrow(/not a ratings export/);
    const s = session();
    const stranger = exportRatings(s, [{ ...rating('ann', 'q0', 'a'), itemId: 'zzz' }]);
    expect(() => parseRatingsFile(JSON.stringify(stranger))).toThrow(/item "zzz" by ann does not belong/);
    const flipped = { ...s, items: s.items.map((i, k) => (k === 3 ? { ...i, left: i.left === 'a' ? 'b' as const : 'a' as const } : i)) };
    expect(() => assertSameSession(s, flipped)).toThrow(/other items or placements/);
  });

  test('toCsv quotes what needs quoting', () => {
    expect(toCsv([['a', 'b,c', 'say "hi"', 'two\nlines', null, 1.5]])).toBe('a,"b,c","say ""hi""","two\nlines",,1.5\r\n');
  });
});

describe('EvalStore', () => {
  let n = 0;
  const open = () => EvalStore.open(`eval-test-${process.pid}-${++n}`);

  test('ratings per session and rater, progress, and deleting a session removes its ratings only', async () => {
    const store = await open();
    const s = session();
    await store.putSession(s);
    await store.putSession({ ...s, id: 's2', createdAt: 2 });
    await store.putRating(rating('ann', 'q0', 'a'));
    await store.putRating(rating('bob', 'q0', 'b'));
    await store.putRating({ ...rating('ann', 'q0', 'a'), sessionId: 's2' });
    await store.setProgress('s1', 'ann', 4);
    expect((await store.sessions()).map((x) => x.id)).toEqual(['s2', 's1']);
    expect((await store.ratings('s1')).map((r) => r.rater)).toEqual(['ann', 'bob']);
    expect(await store.progress('s1', 'ann')).toBe(4);
    expect(await store.progress('s1', 'bob')).toBe(0);
    await store.deleteSession('s1');
    expect(await store.session('s1')).toBeUndefined();
    expect(await store.ratings('s1')).toEqual([]);
    expect(await store.progress('s1', 'ann')).toBe(0);
    expect(await store.ratings('s2')).toHaveLength(1);
    store.db.close();
  });

  test('a session and its ratings are stored together', async () => {
    const store = await open();
    await store.putSessionWithRatings(session(), [rating('ann', 'q0', 'a'), rating('ann', 'q1', 'b')]);
    expect(await store.ratings('s1')).toHaveLength(2);
    store.db.close();
  });
});
