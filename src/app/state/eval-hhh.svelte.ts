// Human eval page state: blind A/B sessions, the rater's place in one, their choices (saved on every key
// press, so a reload resumes exactly), results of one rater or all, and ratings export/import for workshops.
import {
  assertSameSession, CRITERIA, exportRatings, hhhResults, isComplete, mergeRatings, newSession, parseRatingsFile,
  toChoice, toShown, type Criterion, type HhhItem, type HhhRating, type HhhResults, type HhhSession, type ShownChoice,
} from '../../eval/hhh';
import type { EvalStore } from '../../eval/store';
import { evalStateOf, type EvalState } from './eval.svelte';
import { messageOf } from '../lib/message';
import { useServices, type Services } from '../services';
import { sharedState } from './shared.svelte';
import { runTask } from './task';

export interface NewSessionForm {
  name: string;
  evalSetId: string;
  a: string;
  b: string;
  seed: number;
}

export class HhhState {
  sessions = $state.raw<HhhSession[]>([]);
  session = $state.raw<HhhSession | null>(null);
  /** Every rater's ratings of the open session. */
  ratings = $state.raw<HhhRating[]>([]);
  rater = $state('');
  index = $state(0);
  /** The question the number keys answer (0 helpful, 1 honest, 2 harmless). */
  active = $state(0);
  /** Results of everyone, or of the current rater only. */
  resultsOf = $state<'all' | 'me'>('all');
  form = $state<NewSessionForm>({ name: '', evalSetId: '', a: '', b: '', seed: Math.floor(Math.random() * 2 ** 31) });
  busy = $state<string | null>(null);
  error = $state<string | null>(null);
  notice = $state<string | null>(null);

  constructor(readonly evals: EvalState, private readonly storage: Pick<Storage, 'getItem' | 'setItem'>) {
    this.rater = storage.getItem('hhh.rater') ?? '';
  }

  item = $derived<HhhItem | null>(this.session?.items[this.index] ?? null);
  mine = $derived(new Map(this.ratings.filter((r) => r.rater === this.rater).map((r) => [r.itemId, r])));
  current = $derived(this.item ? this.mine.get(this.item.id) : undefined);
  done = $derived(this.session ? this.session.items.filter((i) => isComplete(this.mine.get(i.id))).length : 0);
  results = $derived<HhhResults>(hhhResults(this.ratings, this.resultsOf === 'me' ? this.rater : undefined));

  /** What the rater picked for a criterion of the current item, as shown (left / right / tie). */
  shown(criterion: Criterion): ShownChoice | null {
    const choice = this.current?.[criterion];
    return this.item && choice ? toShown(this.item, choice) : null;
  }

  /** The answer shown on each side of the current item. */
  sides = $derived(this.item
    ? { left: this.item.left === 'a' ? this.item.a : this.item.b, right: this.item.left === 'a' ? this.item.b : this.item.a }
    : null);

  #task<T>(label: string, fn: (store: EvalStore) => Promise<T>): Promise<T | undefined> {
    return runTask(this, label, async () => fn(await this.evals.store()));
  }

  async init(): Promise<void> {
    await this.evals.init();
    await this.#task('Opening sessions…', async (store) => {
      this.sessions = await store.sessions();
    });
    const f = this.form;
    f.evalSetId ||= this.evals.evalSets[0]?.id ?? '';
    f.a ||= this.evals.answerSets[0]?.id ?? '';
    f.b ||= this.evals.answerSets[1]?.id ?? '';
  }

  async create(): Promise<void> {
    const f = this.form;
    await this.#task('Creating the session…', async (store) => {
      const evalSet = this.evals.evalSet(f.evalSetId);
      const a = this.evals.answerSet(f.a), b = this.evals.answerSet(f.b);
      if (!evalSet || !a || !b) throw new Error('pick an eval set and two answer sets');
      if (a.id === b.id) throw new Error('pick two different answer sets');
      const session = newSession({
        id: crypto.randomUUID(),
        name: f.name.trim() || `${evalSet.name}: ${a.name} vs ${b.name}`,
        seed: f.seed,
        evalSet: evalSet.name,
        labels: { a: a.name, b: b.name },
        items: evalSet.items,
        answers: { a: this.evals.answersFor(evalSet.items, a.id), b: this.evals.answersFor(evalSet.items, b.id) },
      });
      await store.putSession(session);
      this.sessions = await store.sessions();
      f.seed = Math.floor(Math.random() * 2 ** 31);
      this.notice = `Created “${session.name}” with ${session.items.length} items.`;
    });
  }

  /** Opens a session for the named rater at the place they left it. */
  async open(sessionId: string): Promise<void> {
    const rater = this.rater.trim();
    if (!rater) {
      this.error = 'Type your name first: ratings are kept per rater.';
      return;
    }
    this.rater = rater;
    this.storage.setItem('hhh.rater', rater);
    await this.#task('Opening…', async (store) => {
      const session = await store.session(sessionId);
      if (!session) throw new Error('this session was deleted');
      this.ratings = await store.ratings(sessionId);
      this.session = session;
      this.index = Math.min(await store.progress(sessionId, rater), session.items.length - 1);
      this.active = this.#firstOpen();
    });
  }

  close(): void {
    this.session = null;
    this.ratings = [];
  }

  #firstOpen(): number {
    const i = CRITERIA.findIndex((c) => this.current?.[c] === undefined);
    return i < 0 ? 0 : i;
  }

  /** Shows the rating at once (the next key press sees it) and stores it. */
  async #save(rating: HhhRating): Promise<void> {
    this.ratings = [...this.ratings.filter((r) => !(r.rater === rating.rater && r.itemId === rating.itemId)), rating];
    await (await this.evals.store()).putRating(rating).catch((e: unknown) => (this.error = messageOf(e)));
  }

  #rating(): HhhRating {
    const item = this.item!;
    return this.current ? { ...this.current } : { sessionId: this.session!.id, rater: this.rater, itemId: item.id, comment: '', ratedAt: 0 };
  }

  /** Records a choice for a criterion (the active one by default) and moves to the next open question. */
  choose(shown: ShownChoice, criterion: Criterion = CRITERIA[this.active]): Promise<void> {
    if (!this.item) return Promise.resolve();
    const rating = this.#rating();
    rating[criterion] = toChoice(this.item, shown);
    rating.ratedAt = Date.now();
    const next = CRITERIA.findIndex((c, i) => i > CRITERIA.indexOf(criterion) && rating[c] === undefined);
    this.active = next < 0 ? CRITERIA.indexOf(criterion) : next;
    return this.#save(rating);
  }

  setComment(comment: string): Promise<void> {
    if (!this.item) return Promise.resolve();
    const rating = this.#rating();
    rating.comment = comment;
    rating.ratedAt = Date.now();
    return this.#save(rating);
  }

  async go(index: number): Promise<void> {
    if (!this.session) return;
    this.index = Math.max(0, Math.min(index, this.session.items.length - 1));
    this.active = this.#firstOpen();
    await (await this.evals.store()).setProgress(this.session.id, this.rater, this.index).catch((e: unknown) => (this.error = messageOf(e)));
  }

  next(): Promise<void> {
    return this.go(this.index + 1);
  }

  prev(): Promise<void> {
    return this.go(this.index - 1);
  }

  moveActive(step: number): void {
    this.active = (this.active + step + CRITERIA.length) % CRITERIA.length;
  }

  /** The session with every rater's ratings, as a JSON file's text. */
  async exportText(sessionId: string): Promise<string | undefined> {
    return this.#task('Exporting…', async (store) => {
      const session = await store.session(sessionId);
      if (!session) throw new Error('this session was deleted');
      return JSON.stringify(exportRatings(session, await store.ratings(sessionId)), null, 2);
    });
  }

  /** Merges an exported file: its session is created if new; for each rater and item the later rating wins. */
  async importText(text: string): Promise<void> {
    await this.#task('Importing ratings…', async (store) => {
      const file = parseRatingsFile(text);
      const local = await store.session(file.session.id);
      if (local) assertSameSession(local, file.session);
      const { merged, added, updated } = mergeRatings(local ? await store.ratings(local.id) : [], file.ratings);
      await store.putSessionWithRatings(local ?? file.session, merged);
      this.sessions = await store.sessions();
      if (this.session?.id === file.session.id) this.ratings = await store.ratings(file.session.id);
      const raters = new Set(file.ratings.map((r) => r.rater)).size;
      this.notice = `${local ? 'Merged into' : 'Imported'} “${file.session.name}”: ${added} new and ${updated} updated ratings from ${raters} rater${raters === 1 ? '' : 's'}.`;
    });
  }

  async remove(sessionId: string): Promise<void> {
    await this.#task('Deleting…', async (store) => {
      await store.deleteSession(sessionId);
      if (this.session?.id === sessionId) this.close();
      this.sessions = await store.sessions();
    });
  }

  /** Results of a session that is not open (Reports page). */
  async resultsFor(sessionId: string): Promise<{ session: HhhSession; results: HhhResults } | undefined> {
    const store = await this.evals.store();
    const session = await store.session(sessionId);
    return session && { session, results: hhhResults(await store.ratings(sessionId)) };
  }
}

const makeHhhState = (services: Services) => new HhhState(evalStateOf(services), localStorage);

/** The page's human-eval state: one per page load, shared by the Human eval and Reports pages. */
export function useHhhState(): HhhState {
  return sharedState(useServices(), makeHhhState);
}
