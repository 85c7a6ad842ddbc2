// The judge's prompts, word for word, since the scores depend on them.
// - "vicuna": FastChat's original reviewer (fastchat/eval/table/prompt.jsonl), the one the paper used for
//   Figures 4-5: one system message, a two-assistant template, and a [System] instruction chosen by the
//   question's category (coding and math have their own, everything else is general). It asks for the two
//   1-10 scores on the first line (the math instruction asks for a Python tuple instead).
// - "pair-v2": FastChat llm_judge's pairwise prompt ([[A]] / [[B]] / [[C]]), the same text as
//   ../shared/data/fastchat_judge_prompts.jsonl (a unit test compares them when that file is present).
// The teacher's job runner asks them too (judge jobs), so this file imports nothing that runs jobs.
import type { ChatRequest, GenerationParams, JudgePromptId } from '../teacher/types';
import type { EvalItem } from './eval-set';

export type { JudgePromptId };

export const JUDGE_PROMPTS: readonly JudgePromptId[] = ['vicuna', 'pair-v2'];

export const VICUNA_SYSTEM = 'You are a helpful and precise assistant for checking the quality of the answer.';

export const VICUNA_TEMPLATE =
  "[Question]\n{question}\n\n[The Start of Assistant 1's Answer]\n{answer_1}\n\n[The End of Assistant 1's Answer]\n\n"
  + "[The Start of Assistant 2's Answer]\n{answer_2}\n\n[The End of Assistant 2's Answer]\n\n[System]\n{prompt}\n\n";

export type VicunaPromptKind = 'general' | 'coding' | 'math';

export const VICUNA_PROMPTS: Record<VicunaPromptKind, string> = {
  general:
    'We would like to request your feedback on the performance of two AI assistants in response to the user question displayed above.\n'
    + 'Please rate the helpfulness, relevance, accuracy, level of details of their responses. Each assistant receives an overall score on a scale of 1 to 10, where a higher score indicates better overall performance.\n'
    + 'Please first output a single line containing only two values indicating the scores for Assistant 1 and 2, respectively. The two scores are separated by a space. In the subsequent line, please provide a comprehensive explanation of your evaluation, avoiding any potential bias and ensuring that the order in which the responses were presented does not affect your judgment.',
  coding:
    'Your task is to evaluate the coding abilities of the above two assistants. They have been asked to implement a program to solve a given problem. Please review their code submissions, paying close attention to their problem-solving approach, code structure, readability, and the inclusion of helpful comments.\n\n'
    + "Please ensure that the assistants' submissions:\n\n"
    + '1. Correctly implement the given problem statement.\n2. Contain accurate and efficient code.\n3. Include clear and concise comments that explain the code\'s logic and functionality.\n4. Adhere to proper coding standards and best practices.\n\n'
    + 'Once you have carefully reviewed both submissions, provide detailed feedback on their strengths and weaknesses, along with any suggestions for improvement. You should first output a single line containing two scores on the scale of 1-10 (1: no code/no sense; 10: perfect) for Assistant 1 and 2, respectively. Then give extra comments starting from the next line.',
  math:
    'We would like to request your feedback on the mathematical proficiency of two AI assistants regarding the given user question displayed above.\n'
    + 'First, please solve the problem independently, without referring to the answers provided by Assistant 1 and Assistant 2.\n'
    + 'Afterward, please examine the problem-solving process of Assistant 1 and Assistant 2 step-by-step to ensure their correctness, identifying any incorrect steps if present. Your evaluation should take into account not only the answer but also the problem-solving steps.\n'
    + 'Finally, please output a Python tuple containing two numerical scores for Assistant 1 and Assistant 2, ranging from 1 to 10, respectively. If applicable, explain the reasons for any variations in their scores and determine which assistant performed better.',
};

/** The reviewer FastChat picked per Vicuna-80 category: coding and math have their own instruction. */
export function vicunaPromptKind(category: string): VicunaPromptKind {
  return category === 'coding' || category === 'math' ? category : 'general';
}

export const PAIR_V2_SYSTEM =
  'Please act as an impartial judge and evaluate the quality of the responses provided by two AI assistants to the user question displayed below. '
  + "You should choose the assistant that follows the user's instructions and answers the user's question better. "
  + 'Your evaluation should consider factors such as the helpfulness, relevance, accuracy, depth, creativity, and level of detail of their responses. '
  + 'Begin your evaluation by comparing the two responses and provide a short explanation. '
  + 'Avoid any position biases and ensure that the order in which the responses were presented does not influence your decision. '
  + 'Do not allow the length of the responses to influence your evaluation. Do not favor certain names of the assistants. Be as objective as possible. '
  + 'After providing your explanation, output your final verdict by strictly following this format: "[[A]]" if assistant A is better, "[[B]]" if assistant B is better, and "[[C]]" for a tie.';

export const PAIR_V2_TEMPLATE =
  "[User Question]\n{question}\n\n[The Start of Assistant A's Answer]\n{answer_a}\n[The End of Assistant A's Answer]\n\n"
  + "[The Start of Assistant B's Answer]\n{answer_b}\n[The End of Assistant B's Answer]";

/** Sampling as each judge ran: the Vicuna reviewer at temperature 0.2 with 1024 tokens, llm_judge greedy with 2048. */
export const JUDGE_PARAMS: Record<JudgePromptId, GenerationParams> = {
  vicuna: { temperature: 0.2, top_p: 1, max_tokens: 1024 },
  'pair-v2': { temperature: 0, top_p: 1, max_tokens: 2048 },
};

/** Fills {name} placeholders in one pass, so an answer that contains "{answer_2}" stays as written. */
export function fill(template: string, values: Record<string, string>): string {
  return template.replace(/\{(\w+)\}/g, (whole, name: string) => (Object.hasOwn(values, name) ? values[name] : whole));
}

/** The request that asks the judge about one question with `first` shown before `second`. */
export function judgeRequest(prompt: JudgePromptId, model: string, item: EvalItem, first: string, second: string, params?: GenerationParams): ChatRequest {
  const question = item.input ? `${item.instruction}\n\n${item.input}` : item.instruction;
  const user = prompt === 'vicuna'
    ? fill(VICUNA_TEMPLATE, { question, answer_1: first, answer_2: second, prompt: VICUNA_PROMPTS[vicunaPromptKind(item.category)] })
    : fill(PAIR_V2_TEMPLATE, { question, answer_a: first, answer_b: second });
  return {
    model,
    messages: [{ role: 'system', content: prompt === 'vicuna' ? VICUNA_SYSTEM : PAIR_V2_SYSTEM }, { role: 'user', content: user }],
    params: params ?? JUDGE_PARAMS[prompt],
  };
}
