// What the teacher is asked. English: Stanford Alpaca's template, word for word, as the user message (or, for
// evaluation answer sets, the question itself).
// Chinese (as the paper built its Chinese data): the translator model translates the instruction and the
// input, then the teacher gets the template with the translations and a system message asking for Chinese.
import { alpacaPrompt } from '../tokenizer/templates';
import type { ChatRequest, JobItem, JobSpec } from './types';

export const TRANSLATE_HEADER =
  'Translate the following text into Simplified Chinese. Reply with the translation only, without notes or quotation marks.';

export const ANSWER_IN_CHINESE = 'Always answer in Simplified Chinese (简体中文).';

export function translationRequest(spec: JobSpec, text: string): ChatRequest {
  const translator = spec.translator ?? spec.teacher;
  return { model: translator.model, messages: [{ role: 'user', content: `${TRANSLATE_HEADER}\n\n${text}` }], params: translator.params };
}

/** A question as one message: an instance input (User-Oriented, Alpaca rows) follows the instruction. */
export function plainQuestion(instruction: string, input: string): string {
  return input ? `${instruction}\n\n${input}` : instruction;
}

export function answerRequest(spec: JobSpec, instruction: string, input: string): ChatRequest {
  const content = spec.prompt === 'question' ? plainQuestion(instruction, input) : alpacaPrompt(instruction, input);
  const user = { role: 'user' as const, content };
  const messages = spec.lang === 'zh' ? [{ role: 'system' as const, content: ANSWER_IN_CHINESE }, user] : [user];
  return { model: spec.teacher.model, messages, params: spec.teacher.params };
}

export type Step = 'translate-instruction' | 'translate-input' | 'answer';

/** The request a row needs next, or null when it is answered. */
export function nextStep(spec: JobSpec, item: JobItem): { step: Step; request: ChatRequest } | null {
  if (item.output !== undefined) return null;
  if (spec.lang === 'zh') {
    const t = item.translation ?? {};
    if (t.instruction === undefined) return { step: 'translate-instruction', request: translationRequest(spec, item.instruction) };
    if (t.input === undefined) {
      // An empty input stays empty: nothing to translate, nothing to pay.
      if (!item.input.trim()) item.translation = { ...t, input: '' };
      else return { step: 'translate-input', request: translationRequest(spec, item.input) };
    }
    return { step: 'answer', request: answerRequest(spec, item.translation!.instruction!, item.translation!.input!) };
  }
  return { step: 'answer', request: answerRequest(spec, item.instruction, item.input) };
}

/** Records a step's answer on the row. */
export function applyStep(item: JobItem, step: Step, text: string): void {
  if (step === 'answer') item.output = text;
  else if (step === 'translate-instruction') item.translation = { ...item.translation, instruction: text.trim() };
  else item.translation = { ...item.translation, input: text.trim() };
}
