// Reward-model reranking as the paper ran it (Section 4, Figure 4): n samples per question from the policy,
// each scored by the reward model. The first sample decoded is the baseline "B" (what one decode would give);
// ranking the n samples by reward makes groups R1 (the best of each question) .. Rn (the worst). Each group is an
// answer set, judged against an opponent like any other, and Reports draws the groups beside the paper's.
import { answerRows } from './answers';
import type { AnswerRow, EvalItem } from './eval-set';
import type { AnswerOrigin, AnswerSetRecord, RankingGroup, RankingTag } from './store-records';

export type { RankingGroup, RankingTag };

/**
 * Indices of `rewards`, best first. Equal rewards keep generation order (so with a constant reward R1 is the
 * baseline); a NaN reward, which only a broken model gives, ranks last.
 */
export function rankByReward(rewards: readonly number[]): number[] {
  const key = (i: number) => (Number.isNaN(rewards[i]) ? -Infinity : rewards[i]);
  return rewards.map((_, i) => i).sort((i, j) => {
    const a = key(i), b = key(j);
    if (a !== b) return b > a ? 1 : -1;
    if (Number.isNaN(rewards[i]) !== Number.isNaN(rewards[j])) return Number.isNaN(rewards[i]) ? 1 : -1;
    return i - j;
  });
}

/** The rank (1-based) of every sample, in generation order: ranks[i] is sample i's place. */
export function ranksOf(rewards: readonly number[]): number[] {
  const ranks = new Array<number>(rewards.length);
  rankByReward(rewards).forEach((sample, place) => (ranks[sample] = place + 1));
  return ranks;
}

/** "B", "R1", "R2" ... */
export function groupLabel(group: RankingGroup): string {
  return group === 'B' ? 'B' : `R${group}`;
}

/** The answer set name of a group: "<model> baseline (B)", "<model> R1" ... */
export function groupSetName(model: string, group: RankingGroup): string {
  return group === 'B' ? `${model} baseline (B)` : `${model} R${group}`;
}

/** The model and group of a name made by groupSetName, or null. */
export function parseGroupSetName(name: string): { model: string; group: RankingGroup } | null {
  const m = /^(.+) (?:baseline \(B\)|R([1-9]\d*))$/.exec(name);
  if (!m) return null;
  return { model: m[1], group: m[2] === undefined ? 'B' : Number(m[2]) };
}

/** The group order of the paper's charts: R1 .. Rn, then B. */
export function groupOrder(group: RankingGroup): number {
  return group === 'B' ? Number.MAX_SAFE_INTEGER : group;
}

/** The n samples of one question, in generation order (sample 0 is the baseline), and their rewards. */
export interface QuestionSamples {
  texts: string[];
  rewards: number[];
}

/** An answer row of a group, with the reward its answer got. */
export interface RankedAnswerRow extends AnswerRow {
  reward: number;
}

export interface GroupSet {
  group: RankingGroup;
  name: string;
  rows: RankedAnswerRow[];
}

export class RankingError extends Error {
  override name = 'RankingError';
}

/**
 * The n + 1 answer sets of a ranking run over `items`: B (sample 1 of each question), then R1 .. Rn (each
 * question's samples ordered by reward). Every question must have n samples and n rewards.
 */
export function buildGroupSets(items: readonly EvalItem[], questions: readonly QuestionSamples[], model: string): GroupSet[] {
  if (questions.length !== items.length) throw new RankingError(`${questions.length} sampled questions for ${items.length} questions`);
  const n = questions[0]?.texts.length ?? 0;
  if (n < 1) throw new RankingError('no samples to rank');
  questions.forEach((q, i) => {
    if (q.texts.length !== n || q.rewards.length !== n) {
      throw new RankingError(`question "${items[i].id}" has ${q.texts.length} samples and ${q.rewards.length} rewards; expected ${n} of each`);
    }
  });
  const orders = questions.map((q) => rankByReward(q.rewards));
  const group = (g: RankingGroup, pick: (q: number) => number): GroupSet => {
    const name = groupSetName(model, g);
    const picked = questions.map((_, i) => pick(i));
    const rows = answerRows(items, picked.map((s, i) => questions[i].texts[s]), name);
    return { group: g, name, rows: rows.map((r, i) => ({ ...r, reward: questions[i].rewards[picked[i]] })) };
  };
  return [group('B', () => 0), ...Array.from({ length: n }, (_, k) => group(k + 1, (i) => orders[i][k]))];
}

/** The group an answer set belongs to: from its origin's tag, else (for a deleted set) from its name. */
export function rankingOf(set: Pick<AnswerSetRecord, 'name' | 'origin'> | undefined, label: string): { model: string; group: RankingGroup; runId: string | null } | null {
  if (set) {
    const tag = set.origin.kind === 'local' ? set.origin.ranking : undefined;
    if (!tag) return null;
    const parsed = parseGroupSetName(set.name);
    return { model: parsed?.model ?? set.name, group: tag.group, runId: tag.runId };
  }
  const parsed = parseGroupSetName(label);
  return parsed && { ...parsed, runId: null };
}

/** The origin of each group's answer set: the local sampling, plus the group's tag. */
export function groupOrigin(local: Extract<AnswerOrigin, { kind: 'local' }>, tag: RankingTag): AnswerOrigin {
  return { ...local, ranking: tag };
}

/**
 * Bar lengths (0..1) for rewards, which have no fixed scale and may be negative: the lowest gets a stub, the
 * highest the full length, linear between, so the differences a reward model makes are visible. Equal rewards
 * (or a single one) all get the full length; a NaN gets 0.
 */
export function rewardBars(rewards: readonly number[], stub = 0.08): number[] {
  const finite = rewards.filter(Number.isFinite);
  const lo = Math.min(...finite), hi = Math.max(...finite);
  return rewards.map((r) => {
    if (Number.isNaN(r)) return 0;
    if (!(hi > lo)) return 1;
    const x = r === Infinity ? 1 : r === -Infinity ? 0 : (r - lo) / (hi - lo);
    return stub + (1 - stub) * x;
  });
}

/** A reward as shown: three decimals, a real minus sign. */
export function formatReward(reward: number): string {
  if (Number.isNaN(reward)) return 'NaN';
  return reward.toFixed(3).replace('-', '−');
}
