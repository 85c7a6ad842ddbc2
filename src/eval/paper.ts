// The paper's own published numbers, shown as reference series beside the user's runs.
//
// Figure 6 (ROUGE-L on 9,000 Unnatural Instructions by ground-truth response length): copied from the
// GPT-4-LLM repository's plot data (plots/data/eval_unnatural_instructions/*.json, the same numbers as
// ../shared/data/paper_results/unnatural_rouge_len*.json; a unit test compares them when that folder exists).
// In those files the model "Alpaca-GPT4" is the paper's LLaMA-GPT4 (7B), and the bin the files call "5-10"
// (and the figure "6-10") holds references of 6 to 10 words.
//
// Figures 3-5 (human HHH shares, GPT-4 judge totals): copied from the lists the GPT-4-LLM repository's
// plots/main_plots.ipynb draws those figures from. Each judge pair is (the model's total, the opponent's
// total) summed over the 80 Vicuna questions, full marks 800; the notebook's own names are kept.
import type { LengthBin } from './rouge-report';

export interface PaperRougeSeries {
  /** The name the paper's figure uses. */
  model: string;
  /** ROUGE-L F per reference-length bin, and over all 9,000 instances. */
  bins: Record<LengthBin, number>;
  all: number;
}

export const PAPER_FIGURE6_SOURCE = 'Peng et al. 2023, Instruction Tuning with GPT-4, Figure 6 (GPT-4-LLM plot data)';

/** Instances per bin (of 9,000). */
export const PAPER_FIGURE6_COUNTS: Record<LengthBin, number> = { '0-2': 5089, '3-5': 868, '6-10': 936, '>10': 2107 };

export const PAPER_FIGURE6: readonly PaperRougeSeries[] = [
  {
    model: 'LLaMA-GPT4 (7B)',
    bins: { '0-2': 0.31707959491942583, '3-5': 0.29614883200033626, '6-10': 0.39029242633895994, '>10': 0.4118854298955491 },
    all: 0.34467723453714916,
  },
  {
    model: 'Alpaca (7B)',
    bins: { '0-2': 0.4165098753921288, '3-5': 0.3442310128644717, '6-10': 0.36474946600141755, '>10': 0.33977007931435893 },
    all: 0.38599969448111626,
  },
  {
    model: 'GPT-4',
    bins: { '0-2': 0.3602531444671222, '3-5': 0.30546631154753745, '6-10': 0.37702486219580666, '>10': 0.416627274621374 },
    all: 0.3697349140194752,
  },
];

export interface PaperJudgeRow {
  model: string;
  /** The model's total and the opponent's, as the figure prints them ("606 : 727 = 83%"). */
  a: number;
  b: number;
}

export interface PaperJudgeFigure {
  id: string;
  /** Where the chart sits in the paper, and what it compares. */
  title: string;
  /** The model every row is judged against. */
  opponent: string;
  rows: readonly PaperJudgeRow[];
}

export const PAPER_JUDGE_SOURCE = 'Peng et al. 2023, Instruction Tuning with GPT-4, Figures 4-5 (GPT-4-LLM plot notebook)';

const CHATBOTS = ['LLaMA (13B)', 'Alpaca (13B)', 'Vicuna (13B)', 'LLaMA-GPT4 (7B)', 'LLaMA-GPT4 (7B, R1)', 'Bard', 'ChatGPT', 'GPT-4'];
const chatbots = (pairs: [number, number][]): PaperJudgeRow[] => pairs.map(([a, b], i) => ({ model: CHATBOTS[i], a, b }));
/** Reward-model ranking groups 1-5 of LLaMA-GPT4's sampled answers, and "B": one decoded answer per question. */
const groups = (pairs: [number, number][]): PaperJudgeRow[] => pairs.map(([a, b], i) => ({ model: i < 5 ? `Group ${i + 1}` : 'B (one answer)', a, b }));

export const PAPER_JUDGE_FIGURES: readonly PaperJudgeFigure[] = [
  {
    id: 'all-vs-chatgpt',
    title: 'Figure 4 · all chatbots against ChatGPT',
    opponent: 'ChatGPT',
    rows: chatbots([[502, 698.5], [585, 704.5], [649, 652.5], [609, 666.5], [624, 667], [634, 660], [759, 759], [613, 521]]),
  },
  {
    id: 'all-vs-gpt4',
    title: 'Figure 4 · all chatbots against GPT-4',
    opponent: 'GPT-4',
    rows: chatbots([[520, 731.5], [593, 745.5], [640, 715.5], [606, 726.5], [631, 722.5], [633, 722], [652, 714], [760, 760]]),
  },
  {
    id: 'ranked-vs-chatgpt',
    title: 'Figure 4 · LLaMA-GPT4 answers ranked by the reward model, against ChatGPT',
    opponent: 'ChatGPT',
    rows: groups([[624, 667], [614, 670], [623, 681.5], [597, 669], [605, 677.5], [609, 666.5]]),
  },
  {
    id: 'ranked-vs-gpt4',
    title: 'Figure 4 · LLaMA-GPT4 answers ranked by the reward model, against GPT-4',
    opponent: 'GPT-4',
    rows: groups([[631, 722.5], [614, 720.5], [615, 724], [602, 726], [605, 726], [606, 726.5]]),
  },
  {
    id: 'zh-translated-vs-gpt4-translated',
    title: 'Figure 5 · English answers translated to Chinese, against GPT-4 (translated)',
    opponent: 'GPT-4 (translated)',
    rows: chatbots([[466, 697], [539, 712], [639, 687.5], [607, 700], [620, 693], [624, 681], [652.5, 684.5], [758, 758]]),
  },
  {
    id: 'zh-translated-vs-gpt4-generated',
    title: 'Figure 5 · English answers translated to Chinese, against GPT-4 answering in Chinese',
    opponent: 'GPT-4 (Chinese)',
    rows: chatbots([[500, 699], [551, 702], [658, 677], [618.5, 685.5], [629, 672], [642, 678], [658, 679], [680.5, 626.5]]),
  },
  {
    id: 'zh-questions',
    title: 'Figure 5 · Chinese questions answered in Chinese, against GPT-4 (translated)',
    opponent: 'GPT-4 (translated)',
    rows: [
      { model: 'LLaMA (13B)', a: 233, b: 707 },
      { model: 'Alpaca (13B)', a: 259, b: 724 },
      { model: 'Vicuna (13B)', a: 545, b: 691 },
      { model: 'LLaMA-GPT4 (7B)', a: 253, b: 723 },
      { model: 'LLaMA-GPT4-CN (7B)', a: 445, b: 694 },
      { model: 'GPT-4', a: 626.5, b: 680.5 },
    ],
  },
];

/**
 * The paper's opponent a model or answer set name stands for: ChatGPT (gpt-3.5-turbo) or GPT-4 (not GPT-4o,
 * GPT-4 Turbo or LLaMA-GPT4), or null for any other model, which the paper never judged against.
 */
export function paperOpponent(name: string): 'ChatGPT' | 'GPT-4' | null {
  if (/(?<![a-z0-9-])(chatgpt|gpt-?3\.5|gpt-?35)(?![a-z0-9.])/i.test(name)) return 'ChatGPT';
  if (/(?<![a-z0-9-])gpt-?4(?![a-z0-9.]|-(turbo|mini|vision|o)\b)/i.test(name)) return 'GPT-4';
  return null;
}

/** The paper's chart of runs against the same opponent as `opponent` (ChatGPT or GPT-4), or null when it has none. */
export function paperFigureFor(opponent: string): PaperJudgeFigure | null {
  const same = paperOpponent(opponent);
  return same ? PAPER_JUDGE_FIGURES.find((f) => f.id === (same === 'ChatGPT' ? 'all-vs-chatgpt' : 'all-vs-gpt4'))! : null;
}

/** The paper's ranking-group chart against the same opponent (ChatGPT or GPT-4), or null when it has none. */
export function paperRankingFigureFor(opponent: string): PaperJudgeFigure | null {
  const same = paperOpponent(opponent);
  return same ? PAPER_JUDGE_FIGURES.find((f) => f.id === (same === 'ChatGPT' ? 'ranked-vs-chatgpt' : 'ranked-vs-gpt4'))! : null;
}

export interface PaperHhhFigure {
  title: string;
  labels: { a: string; b: string };
  /** Shares of the ratings (the notebook has fractions, not counts) per criterion. */
  criteria: Record<'helpful' | 'honest' | 'harmless', { a: number; b: number; tie: number }>;
}

export const PAPER_HHH_SOURCE = 'Peng et al. 2023, Instruction Tuning with GPT-4, Figure 3 (GPT-4-LLM plot notebook): human ratings on the 252 User-Oriented instructions';

export const PAPER_FIGURE3: readonly PaperHhhFigure[] = [
  {
    title: 'Figure 3 · LLaMA-GPT4 against Alpaca (LLaMA on GPT-3 data)',
    labels: { a: 'LLaMA-GPT4', b: 'Alpaca' },
    criteria: {
      helpful: { a: 0.5411931818181818, b: 0.19744318181818182, tie: 0.26136363636363646 },
      honest: { a: 0.2599431818181818, b: 0.31392045454545453, tie: 0.42613636363636365 },
      harmless: { a: 0.16477272727272727, b: 0.25426136363636365, tie: 0.5809659090909091 },
    },
  },
  {
    title: 'Figure 3 · LLaMA-GPT4 against GPT-4',
    labels: { a: 'LLaMA-GPT4', b: 'GPT-4' },
    criteria: {
      helpful: { a: 0.4278145695364238, b: 0.4410596026490066, tie: 0.1311258278145695 },
      honest: { a: 0.37880794701986753, b: 0.3748344370860927, tie: 0.2463576158940397 },
      harmless: { a: 0.3165562913907285, b: 0.3536423841059603, tie: 0.32980132450331123 },
    },
  },
];
