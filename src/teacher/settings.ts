// The teacher's settings as the Teacher page stores them (the key under its own name, never inside them), and
// their defaults: the paper's sampling, GPT-4 as teacher and GPT-3.5 as translator. The Evaluate page reads
// the same record for API answer runs.
import { OPENAI_BASE_URL } from './client';
import { DEFAULT_PRICES } from './pricing';
import { PAPER_PARAMS, type PriceTable } from './types';

/** Settings-store keys. */
export const SETTINGS_KEY = 'teacher.settings';
export const API_KEY = 'teacher.apiKey';

export interface TeacherSettings {
  baseURL: string;
  teacherModel: string;
  translatorModel: string;
  temperature: number;
  top_p: number;
  max_tokens: number;
  concurrency: number;
  maxAttempts: number;
  /** USD; null for no cap. */
  budgetUSD: number | null;
  prices: PriceTable;
}

export const DEFAULT_SETTINGS: TeacherSettings = {
  baseURL: OPENAI_BASE_URL,
  teacherModel: 'gpt-4',
  translatorModel: 'gpt-3.5-turbo',
  ...PAPER_PARAMS,
  concurrency: 4,
  maxAttempts: 8,
  budgetUSD: null,
  prices: DEFAULT_PRICES,
};
