// What the teacher is asked. English: Stanford Alpaca's template, word for word, as the user message (or, for
// evaluation answer sets, the question itself).
// Chinese (as the paper built its Chinese data): the translator model translates the instruction and the
// input, then the teacher gets the template with the translations and a system message asking for Chinese.
// Feedback (the paper's comparison data): the teacher rates one response to a prompt from 1 to 10.
// Judge: the judge compares a question's two answers in the order the row shows them (FastChat's prompts).
import { judgeRequest } from '../eval/judge-prompts';
import { alpacaPrompt } from '../tokenizer/templates';
import type { ChatRequest, GenerationParams, JobItem, JobSpec } from './types';

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

/**
 * The feedback prompt, word for word (whitespace included: trailing spaces after the headings, four-space blank
 * lines) as the GPT-4-LLM authors published it: Baolin Peng's answer of 2023-04-10 in
 * https://github.com/Instruction-Tuning-with-GPT-4/GPT-4-LLM/issues/8 ("Question about the Reward Model"): the
 * prompt they used for the paper's comparison data (the paper omits it). Sent as the one user message, no system
 * message. FastChat's reviewer (src/eval/judge-prompts.ts) is its two-assistant relative, not this prompt.
 * Placeholders as published: {instruction} and {Response}.
 */
export const FEEDBACK_TEMPLATE =
  '### Instruction \n    \n{instruction}\n    \n### Response \n    \n{Response}\n    \n### End of Response \n    \n'
  + 'We would like to request your feedback on the performance of AI assistant in response to the user question displayed above. '
  + 'Please rate the helpfulness, relevance, accuracy, level of details of their responses. '
  + 'Each assistant receives an overall score on a scale of 1 to 10, where a higher score indicates better overall performance. '
  + 'Please first output a single line containing value indicating the scores. '
  + 'In the subsequent line, please provide a comprehensive explanation of your evaluation, avoiding any potential bias.';

/** The authors did not publish the sampling of their feedback runs: these are FastChat's reviewer's (the paper's judge). */
export const FEEDBACK_PARAMS: GenerationParams = { temperature: 0.2, top_p: 1, max_tokens: 1024 };

/** The feedback prompt for one response; filled in one pass, so a response containing "{instruction}" stays as written. */
export function feedbackPrompt(instruction: string, response: string): string {
  return FEEDBACK_TEMPLATE.replace(/\{(instruction|Response)\}/g, (_, name: string) => (name === 'instruction' ? instruction : response));
}

/** Asks the teacher to rate a feedback row's response; the row's instruction and input are the prompt. */
export function feedbackRequest(spec: JobSpec, item: JobItem): ChatRequest {
  if (!item.rates) throw new Error(`row ${item.index + 1} of a feedback job has no response to rate`);
  const content = feedbackPrompt(plainQuestion(item.instruction, item.input), item.rates.response);
  return { model: spec.teacher.model, messages: [{ role: 'user', content }], params: spec.teacher.params };
}

/** Asks the judge about a judge row's pair, in the order the row shows it. */
export function judgeRowRequest(spec: JobSpec, item: JobItem): ChatRequest {
  if (!item.judges || !spec.judge) throw new Error(`row ${item.index + 1} of a judge job has no pair to judge`);
  const question = { id: item.judges.questionId, category: item.judges.category, instruction: item.instruction, input: item.input };
  return judgeRequest(spec.judge.prompt, spec.teacher.model, question, item.judges.shown[0], item.judges.shown[1], spec.teacher.params);
}

export type Step = 'translate-instruction' | 'translate-input' | 'answer';

/** The request a row needs next, or null when it is answered. */
export function nextStep(spec: JobSpec, item: JobItem): { step: Step; request: ChatRequest } | null {
  if (item.output !== undefined) return null;
  if (spec.prompt === 'feedback') return { step: 'answer', request: feedbackRequest(spec, item) };
  if (spec.prompt === 'judge') return { step: 'answer', request: judgeRowRequest(spec, item) };
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

/**
 * The requests a pending row still needs, for cost estimates. A Chinese row not yet translated is counted with
 * its translations and an answer asked about the original text (the translation is about as long).
 */
export function remainingRequests(spec: JobSpec, item: JobItem): ChatRequest[] {
  if (item.status !== 'pending' || item.output !== undefined) return [];
  if (spec.lang !== 'zh' || spec.prompt === 'feedback' || spec.prompt === 'judge') {
    return [nextStep(spec, { ...item, translation: item.translation && { ...item.translation } })!.request];
  }
  const t = item.translation ?? {};
  const out: ChatRequest[] = [];
  if (t.instruction === undefined) out.push(translationRequest(spec, item.instruction));
  if (t.input === undefined && item.input.trim()) out.push(translationRequest(spec, item.input));
  out.push(answerRequest(spec, t.instruction ?? item.instruction, t.input ?? item.input));
  return out;
}

/** Records a step's answer on the row. */
export function applyStep(item: JobItem, step: Step, text: string): void {
  if (step === 'answer') item.output = text;
  else if (step === 'translate-instruction') item.translation = { ...item.translation, instruction: text.trim() };
  else item.translation = { ...item.translation, input: text.trim() };
}
