// The paper's own published numbers, shown as reference series beside the user's runs.
//
// Figure 6 (ROUGE-L on 9,000 Unnatural Instructions by ground-truth response length): copied from the
// GPT-4-LLM repository's plot data (plots/data/eval_unnatural_instructions/*.json, the same numbers as
// ../shared/data/paper_results/unnatural_rouge_len*.json; a unit test compares them when that folder exists).
// In those files the model "Alpaca-GPT4" is the paper's LLaMA-GPT4 (7B), and the bin the files call "5-10"
// (and the figure "6-10") holds references of 6 to 10 words.
//
// Figures 3-5 (human HHH pies, GPT-4 judge relative scores): their numbers are not in the shared data, and
// none is built in here without a source to check it against; reports show the user's own runs for those.
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
