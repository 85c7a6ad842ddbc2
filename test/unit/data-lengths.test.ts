// Output lengths for Figure 1: English in words, Chinese in characters (it has no spaces between words), and
// both on one axis in words with each Chinese character as one; the histogram carries its unit.
import { describe, expect, test } from 'vitest';
import { isChinese, outputLengths, textLength } from '../../src/data/stats';

const en = ['The cat sat on the mat.', 'Two words'];
const zh = ['猫坐在垫子上。', '你好，世界 hello'];

describe('output lengths', () => {
  test('Chinese is told from English by its letters', () => {
    expect(isChinese(zh)).toBe(true);
    expect(isChinese(en)).toBe(false);
    expect(isChinese([''])).toBe(false);
  });

  test('characters count every non-space character; words split on spaces', () => {
    expect(textLength('猫坐在垫子上。', 'characters')).toBe(7);
    expect(textLength('你好，世界 hello', 'characters')).toBe(10);
    expect(textLength('The cat sat', 'words')).toBe(3);
  });

  test('the histogram says what it counts', () => {
    const zhOnly = outputLengths([{ name: 'zh', outputs: zh }], 4);
    expect(zhOnly.unit).toBe('characters');
    expect(zhOnly.series[0].mean).toBeCloseTo((7 + 10) / 2, 12);
    const enOnly = outputLengths([{ name: 'en', outputs: en }], 4);
    expect(enOnly.unit).toBe('words');
    expect(enOnly.series[0].mean).toBe((6 + 2) / 2);
    const both = outputLengths([{ name: 'en', outputs: en }, { name: 'zh', outputs: zh }], 4);
    expect(both.unit).toBe('mixed');
    // wordCount: each Chinese character is a word, and so is a run of punctuation between them ("。", "，").
    expect(both.series[1].mean).toBe((7 + 6) / 2);
  });
});
