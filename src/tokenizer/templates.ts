// Stanford Alpaca's prompt templates, word for word: the prompt the model sees before its response. An empty
// input selects the template without the Input section (as Alpaca's training code does).

const withInput =
  'Below is an instruction that describes a task, paired with an input that provides further context. ' +
  'Write a response that appropriately completes the request.\n\n' +
  '### Instruction:\n{instruction}\n\n### Input:\n{input}\n\n### Response:';

const withoutInput =
  'Below is an instruction that describes a task. Write a response that appropriately completes the request.\n\n' +
  '### Instruction:\n{instruction}\n\n### Response:';

export function alpacaPrompt(instruction: string, input = ''): string {
  // One pass over the template with a replacer function: "{input}" or "$&" inside user text stay literal.
  return (input === '' ? withoutInput : withInput).replace(/\{instruction\}|\{input\}/g, (slot) =>
    slot === '{instruction}' ? instruction : input,
  );
}
