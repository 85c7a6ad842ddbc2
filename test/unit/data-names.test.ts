import { describe, expect, test } from 'vitest';
import { derivedName, nameProblem, parseDerivedName, uniqueName } from '../../src/data/names';

describe('names', () => {
  test('a rename refuses an empty name and one another item has, ignoring case and spaces', () => {
    expect(nameProblem('  ', ['a'], 'dataset')).toMatch(/empty: type a name for the dataset/);
    expect(nameProblem(' Alpaca GPT-4 ', ['alpaca gpt-4'], 'dataset')).toMatch(/Another dataset is already called “alpaca gpt-4”/);
    expect(nameProblem('Model A', ['Model B'], 'answer set')).toBeNull();
  });

  test('derived names say each step once, in order, whatever suffixes the source already has', () => {
    expect(derivedName('x', 'deduped', [])).toBe('x (deduped)');
    expect(derivedName('x (deduped)', 'train', [])).toBe('x (deduped, train)');
    expect(derivedName('x (deduped, train)', 'deduped', [])).toBe('x (deduped, train)');
    // Names made before: one group per step, "dedupe" or "deduped".
    expect(parseDerivedName('x (dedupe) (train) (dedupe)')).toEqual({ root: 'x', tags: ['deduped', 'train'] });
    expect(derivedName('x (deduped) (train) (deduped)', 'validation', [])).toBe('x (deduped, train, validation)');
    // Brackets that are part of the name stay.
    expect(derivedName('GPT-4 (en)', 'train', [])).toBe('GPT-4 (en) (train)');
    expect(parseDerivedName('(train)')).toEqual({ root: '(train)', tags: [] });
  });

  test('a clash adds a number, which the next derivation drops again', () => {
    expect(derivedName('x', 'deduped', ['x', 'X (deduped)'])).toBe('x (deduped) 2');
    expect(derivedName('x (deduped) 2', 'deduped', ['x (deduped)', 'x (deduped) 2'])).toBe('x (deduped) 3');
    expect(derivedName('x (deduped) 2', 'train', [])).toBe('x (deduped, train)');
    expect(uniqueName('a', ['b'])).toBe('a');
  });
});
