import { describe, expect, test } from 'vitest';
import { porterStem } from '../../src/eval/porter';
import { lcsLength, rouge, rougeL, tokenize } from '../../src/eval/rouge';
import { seeded } from '../util';

describe('tokenize (rouge-score semantics)', () => {
  test('lower-cases and splits on every run outside [a-z0-9]', () => {
    expect(tokenize("Hi there! How's it going?")).toEqual(['hi', 'there', 'how', 's', 'it', 'going']);
    expect(tokenize('snake_case, kebab-case; v2.0')).toEqual(['snake', 'case', 'kebab', 'case', 'v2', '0']);
  });

  test('drops non-ASCII letters the way rouge-score does', () => {
    expect(tokenize('Café naïve')).toEqual(['caf', 'na', 've']);
    expect(tokenize('我爱NLP，真的!')).toEqual(['nlp']);
    expect(tokenize('')).toEqual([]);
  });

  test('stems only tokens longer than 3 characters', () => {
    expect(tokenize('The runners were running quickly', { stem: true })).toEqual(['the', 'runner', 'were', 'run', 'quickli']);
    expect(tokenize('dies ties its', { stem: true })).toEqual(['die', 'tie', 'its']);
  });

  test('cjk keeps each Han, kana and hangul character as a token', () => {
    expect(tokenize('我爱NLP，真的!', { cjk: true })).toEqual(['我', '爱', 'nlp', '真', '的']);
    expect(tokenize('カタカナとひらがな', { cjk: true })).toEqual(['カ', 'タ', 'カ', 'ナ', 'と', 'ひ', 'ら', 'が', 'な']);
    expect(tokenize('한국어 text', { cjk: true })).toEqual(['한', '국', '어', 'text']);
    // A supplementary-plane ideograph is one token, not two halves.
    expect(tokenize('𠀀x', { cjk: true })).toEqual(['𠀀', 'x']);
    expect(tokenize('Running 跑步', { cjk: true, stem: true })).toEqual(['run', '跑', '步']);
  });
});

describe('Porter stemmer (NLTK default mode)', () => {
  test("matches NLTK's documented examples", () => {
    const words = ['caresses', 'flies', 'dies', 'mules', 'denied', 'died', 'agreed', 'owned', 'humbled', 'sized',
      'meeting', 'stating', 'siezing', 'itemization', 'sensational', 'traditional', 'reference', 'colonizer', 'plotted'];
    expect(words.map(porterStem).join(' ')).toBe(
      'caress fli die mule deni die agre own humbl size meet state siez item sensat tradit refer colon plot');
  });

  test('irregular forms, extensions and short words', () => {
    expect(['skies', 'dying', 'lying', 'news', 'innings', 'proceed', 'exceed'].map(porterStem))
      .toEqual(['sky', 'die', 'lie', 'news', 'inning', 'proceed', 'exceed']);
    expect(['generously', 'happiness', 'enjoy', 'happy', 'hopefully', 'geology', 'relational', 'triplicate', 'electriciti']
      .map(porterStem)).toEqual(['gener', 'happi', 'enjoy', 'happi', 'hope', 'geolog', 'relat', 'triplic', 'electr']);
    expect(['is', 'a', 'by'].map(porterStem)).toEqual(['is', 'a', 'by']);
    expect(porterStem('constructor')).toBe('constructor');
  });
});

describe('ROUGE scores', () => {
  test('rouge1 and rouge2 count clipped n-gram overlap', () => {
    const s = rouge('testing one two', 'testing', ['rouge1', 'rouge2']);
    expect(s.rouge1).toEqual({ precision: 1, recall: 1 / 3, fmeasure: 0.5 });
    expect(s.rouge2.fmeasure).toBe(0);
    const t = rouge('testing one two', 'testing one', ['rouge2']);
    expect(t.rouge2.precision).toBe(1);
    expect(t.rouge2.recall).toBe(0.5);
    // "the the the" against "the": one match, not three.
    expect(rouge('the', 'the the the', ['rouge1']).rouge1.precision).toBeCloseTo(1 / 3, 12);
  });

  test('rougeL uses the longest common subsequence, not contiguous matches', () => {
    const s = rouge('testing one two', 'testing two', ['rougeL']).rougeL;
    expect(s.precision).toBe(1);
    expect(s.recall).toBeCloseTo(2 / 3, 12);
    expect(s.fmeasure).toBeCloseTo(0.8, 12);
    expect(rougeL('a b c d', 'd c b a')).toBeCloseTo(0.25, 12);
  });

  test('empty sides score zero', () => {
    expect(rouge('', 'anything', ['rouge1', 'rougeL', 'rougeLsum'])).toEqual({
      rouge1: { precision: 0, recall: 0, fmeasure: 0 },
      rougeL: { precision: 0, recall: 0, fmeasure: 0 },
      rougeLsum: { precision: 0, recall: 0, fmeasure: 0 },
    });
    expect(rougeL('!!!', '???')).toBe(0);
  });

  test('rougeLsum takes the union LCS over newline-separated sentences', () => {
    // Lin (2004): r = w1..w5, candidates c1 = w1 w2 w6 w7 w8 and c2 = w1 w3 w8 w9 w5; union LCS = w1 w2 w3 w5.
    const s = rouge('w1 w2 w3 w4 w5', 'w1 w2 w6 w7 w8\nw1 w3 w8 w9 w5', ['rougeLsum']).rougeLsum;
    expect(s.recall).toBeCloseTo(0.8, 12);
    expect(s.precision).toBeCloseTo(0.4, 12);
    // With a single sentence on each side it equals rougeL.
    const a = 'the cat sat on the mat', b = 'a cat was on a mat';
    expect(rouge(a, b, ['rougeLsum']).rougeLsum.fmeasure).toBeCloseTo(rouge(a, b, ['rougeL']).rougeL.fmeasure, 12);
  });

  test('stemming makes inflections match', () => {
    const plain = rouge('the cats are running', 'a cat runs', ['rouge1']).rouge1.fmeasure;
    const stemmed = rouge('the cats are running', 'a cat runs', ['rouge1'], { stem: true }).rouge1.fmeasure;
    expect(plain).toBe(0);
    expect(stemmed).toBeCloseTo(4 / 7, 12);
  });

  test('cjk scoring of Chinese text', () => {
    expect(rougeL('今天天气很好', '今天天气不好')).toBe(0);
    expect(rougeL('今天天气很好', '今天天气不好', { cjk: true })).toBeCloseTo(5 / 6, 12);
  });

  test('lcsLength agrees with a full dynamic-programming table on random sequences', () => {
    const rng = seeded(7);
    const int = (max: number) => Math.floor(rng() * max);
    const full = (a: string[], b: string[]) => {
      const t = Array.from({ length: a.length + 1 }, () => new Array<number>(b.length + 1).fill(0));
      for (let i = 1; i <= a.length; i++) {
        for (let j = 1; j <= b.length; j++) t[i][j] = a[i - 1] === b[j - 1] ? t[i - 1][j - 1] + 1 : Math.max(t[i - 1][j], t[i][j - 1]);
      }
      return t[a.length][b.length];
    };
    for (let k = 0; k < 200; k++) {
      const a = Array.from({ length: int(30) }, () => `w${int(6)}`);
      const b = Array.from({ length: int(30) }, () => `w${int(6)}`);
      expect(lcsLength(a, b)).toBe(full(a, b));
      expect(lcsLength(b, a)).toBe(full(a, b));
    }
  });
});
