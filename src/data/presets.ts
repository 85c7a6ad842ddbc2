// Public datasets for one-click import (needs a browser with internet; everything else works offline).
import type { FormatId } from './types';

export interface Preset {
  name: string;
  url: string;
  format: FormatId;
  note: string;
}

const GPT4_LLM = 'https://raw.githubusercontent.com/Instruction-Tuning-with-GPT-4/GPT-4-LLM/main/data';

export const PRESETS: Preset[] = [
  { name: 'GPT-4-LLM: Alpaca GPT-4 (English, 52K)', url: `${GPT4_LLM}/alpaca_gpt4_data.json`, format: 'alpaca', note: 'GPT-4 answers to the 52K Alpaca instructions' },
  { name: 'GPT-4-LLM: Alpaca GPT-4 (Chinese, 52K)', url: `${GPT4_LLM}/alpaca_gpt4_data_zh.json`, format: 'alpaca', note: 'instructions translated by ChatGPT, answered by GPT-4' },
  { name: 'GPT-4-LLM: comparison data v2', url: `${GPT4_LLM}/comparison_data_v2.json`, format: 'comparison', note: 'responses of three models with GPT-4 scores' },
  { name: 'GPT-4-LLM: Unnatural Instructions (GPT-4)', url: `${GPT4_LLM}/unnatural_instruction_gpt4_data.json`, format: 'unnatural', note: '9K instructions with GPT-4 answers and reference labels' },
  { name: 'Stanford Alpaca (text-davinci-003, 52K)', url: 'https://raw.githubusercontent.com/tatsu-lab/stanford_alpaca/main/alpaca_data.json', format: 'alpaca', note: 'the original GPT-3.5 answers' },
  { name: 'Vicuna-80 questions (FastChat)', url: 'https://raw.githubusercontent.com/lm-sys/FastChat/main/fastchat/llm_judge/data/vicuna_bench/question.jsonl', format: 'fastchat-question', note: 'the 80 questions of the GPT-4 judge evaluation' },
  { name: 'Self-Instruct: User-Oriented-252', url: 'https://raw.githubusercontent.com/yizhongw/self-instruct/main/human_eval/user_oriented_instructions.jsonl', format: 'user-oriented', note: 'the 252 user-oriented instructions of the human evaluation' },
];

export class DownloadError extends Error {
  override name = 'DownloadError';
}

/** Fetches a dataset file as text, with errors that say what went wrong. */
export async function fetchDatasetText(url: string, signal?: AbortSignal): Promise<string> {
  let response: Response;
  try {
    response = await fetch(url, { signal });
  } catch (e) {
    if (signal?.aborted) throw e;
    throw new DownloadError(`could not download ${url}: no connection, or the server does not allow downloads from this page (CORS). Download the file and import it from disk instead.`);
  }
  if (!response.ok) throw new DownloadError(`downloading ${url} failed with HTTP ${response.status} ${response.statusText}: check the address`);
  return response.text();
}
