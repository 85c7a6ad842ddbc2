import { expect, test } from 'vitest';
import { alpacaPrompt } from '../../src/tokenizer/templates';

test('with an input: the Alpaca prompt_input template, word for word', () => {
  expect(alpacaPrompt('Translate to French.', 'Good morning')).toBe(
    'Below is an instruction that describes a task, paired with an input that provides further context. ' +
      'Write a response that appropriately completes the request.\n\n' +
      '### Instruction:\nTranslate to French.\n\n### Input:\nGood morning\n\n### Response:',
  );
});

test('without an input: the Alpaca prompt_no_input template, word for word', () => {
  const expected =
    'Below is an instruction that describes a task. Write a response that appropriately completes the request.\n\n' +
    '### Instruction:\nGive three tips for staying healthy.\n\n### Response:';
  expect(alpacaPrompt('Give three tips for staying healthy.', '')).toBe(expected);
  expect(alpacaPrompt('Give three tips for staying healthy.')).toBe(expected);
});

test('a whitespace input still counts as an input (Alpaca compares with the empty string)', () => {
  expect(alpacaPrompt('x', ' ')).toContain('### Input:\n \n\n');
});

test('user text holding template slots or replacement patterns stays literal', () => {
  const prompt = alpacaPrompt('Use {input} and $& here', 'an {instruction} $1');
  expect(prompt).toContain('### Instruction:\nUse {input} and $& here\n\n### Input:\nan {instruction} $1\n\n### Response:');
});
