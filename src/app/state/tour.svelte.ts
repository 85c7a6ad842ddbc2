// The guided tour "The paper in 30 minutes": eight steps across the pages, each checked off when the studio's data
// shows it done (a dataset, a finished run, a judge run ...) or when the user ticks it. Progress lives in
// localStorage, so it survives a reload; what the stores show is found again on every visit.
import { getContext, setContext } from 'svelte';
import { runKind } from '../../data/runs';
import { messageOf } from '../lib/message';
import type { Services } from '../services';

export interface TourStep {
  id: string;
  title: string;
  /** The page it happens on (its hash route). */
  route: string;
  /** What to do, with the sizes for a laptop GPU and the tiny-model path. */
  how: string;
}

export const TOUR_STEPS: TourStep[] = [
  { id: 'data', title: 'Import the GPT-4 Alpaca data', route: 'datasets', how: 'Datasets → presets → "GPT-4-LLM: Alpaca GPT-4 (English, 52K)", or the copy in your workshop bundle. Split off a validation set if you like.' },
  { id: 'teacher', title: 'Run a teacher job, or use the bundle\'s answers', route: 'teacher', how: 'With a key: answer 20 instructions with your teacher model (the paper\'s temperature 1.0, top_p 1.0). Without one: the bundle\'s answers are already a dataset.' },
  { id: 'sft', title: 'LoRA-train SmolLM2-135M', route: 'train', how: 'Load HuggingFaceTB/SmolLM2-135M-Instruct on the Playground, then Train: preset "alpaca-lora: r 8, q/v", 60 steps, batch 4, max length 256 (a few minutes on a laptop GPU). No GPU: load the tiny stories260K model from local files and train 20 steps on pre-tokenized rows.' },
  { id: 'compare', title: 'Compare base and tuned outputs', route: 'playground', how: 'Playground → adapter panel: apply the run\'s adapter and compare base and tuned samples side by side on the same prompt and seed. Tick this step when you have looked.' },
  { id: 'reward', title: 'Train the reward model', route: 'train', how: 'Train → Reward model on comparison data (or preference pairs): preset "Reward model: r 8, q/k/v/o, lr 1e-4", one epoch; watch pairwise accuracy.' },
  { id: 'rerank', title: 'Rerank', route: 'rerank', how: 'Rerank: put the reward run in the reward slot, sample 5 answers and compare the baseline with the top-1; then build ranking groups for a few eval questions.' },
  { id: 'judge', title: 'Judge', route: 'evaluate', how: 'Evaluate: judge two answer sets on the Vicuna questions in both orders (the paper\'s Figures 4-5).' },
  { id: 'reports', title: 'Reports', route: 'reports', how: 'Reports: your runs beside the paper\'s published numbers. Opening the page completes the tour.' },
];

const STORAGE_KEY = 'studio.tour';

export class TourState {
  /** Ids of the steps done. */
  done = $state<string[]>([]);
  error = $state<string | null>(null);

  constructor(
    private readonly services: Services,
    private readonly storage: Pick<Storage, 'getItem' | 'setItem'>,
  ) {
    try {
      const saved = JSON.parse(storage.getItem(STORAGE_KEY) ?? '[]');
      if (Array.isArray(saved)) this.done = saved.filter((id) => TOUR_STEPS.some((s) => s.id === id));
    } catch {
      // An unreadable record starts the tour afresh.
    }
  }

  isDone(id: string): boolean {
    return this.done.includes(id);
  }

  /** The first step not done, or null when the tour is complete. */
  get next(): TourStep | null {
    return TOUR_STEPS.find((s) => !this.isDone(s.id)) ?? null;
  }

  set(id: string, done: boolean): void {
    const others = this.done.filter((d) => d !== id);
    this.done = done ? [...others, id] : others;
    this.storage.setItem(STORAGE_KEY, JSON.stringify(this.done));
  }

  reset(): void {
    this.done = [];
    this.storage.setItem(STORAGE_KEY, '[]');
  }

  /** A visit to a page completes the steps that are only about looking at it (Reports). */
  visited(route: string): void {
    if (route === 'reports' && !this.isDone('reports')) this.set('reports', true);
  }

  /** Checks off the steps the stored data shows done. */
  async detect(): Promise<void> {
    try {
      const stores = await this.services.stores();
      const [datasets, jobs, runs, answerSets, judgeRuns] = await Promise.all([
        stores.datasets.list(),
        stores.jobs.listJobs(),
        stores.runs.list(),
        stores.evals.answerSets(),
        stores.evals.judgeRuns(),
      ]);
      const trained = (kind: 'sft' | 'reward') => runs.some((r) => runKind(r) === kind && r.checkpointStep !== null);
      const found: Record<string, boolean> = {
        data: datasets.some((d) => d.format === 'alpaca'),
        teacher: jobs.some((j) => !j.spec.judge && j.status === 'done') || datasets.some((d) => d.origin.kind === 'job'),
        sft: trained('sft'),
        reward: trained('reward'),
        rerank: answerSets.some((a) => a.origin.kind === 'local' && !!a.origin.ranking),
        judge: judgeRuns.some((r) => r.verdicts.length > 0),
      };
      for (const [id, yes] of Object.entries(found)) if (yes && !this.isDone(id)) this.set(id, true);
    } catch (e) {
      this.error = `The tour cannot read the studio's data (${messageOf(e)}); tick the steps by hand.`;
    }
  }
}

const key = Symbol('tour');

export function setTourState(state: TourState): TourState {
  return setContext(key, state);
}

export function useTourState(): TourState {
  return getContext<TourState>(key);
}
