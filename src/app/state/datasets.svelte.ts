// Datasets page state: the dataset list (import, with the bad rows of a refused file; rename), the open dataset's
// rows with search and filters, the row operations (edit, delete, dedupe with put back and undo, split, export),
// and the Figure 1 statistics. Everything goes through DatasetStore.
import { exportRows, type ExportFormat, type ExportResult } from '../../data/export';
import { fetchDatasetText } from '../../data/presets';
import { isChinese, outputLengths, verbNounStats, type Histogram, type VerbNounStats } from '../../data/stats';
import { BadRowsError } from '../../data/formats';
import { nameProblem } from '../../data/names';
import { stripKeys, type DatasetStore } from '../../data/store';
import type { DatasetMeta, DatasetOrigin, DatasetRecord } from '../../data/types';
import { messageOf } from '../lib/message';
import { useServices, type Services } from '../services';
import { sharedState } from './shared.svelte';
import { runTask } from './task';

export type InputFilter = 'any' | 'with' | 'without';
export type LangFilter = 'any' | 'en' | 'zh';

const CJK = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}]/u;

/** Per-row search text (lower case) and language, built once when a dataset opens. */
interface RowIndex {
  text: string[];
  zh: Uint8Array;
}

function buildIndex(rows: readonly DatasetRecord[]): RowIndex {
  const text = new Array<string>(rows.length);
  const zh = new Uint8Array(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i];
    text[i] = `${r.instruction}\n${r.input}\n${r.output}`.toLowerCase();
    zh[i] = CJK.test(r.instruction) ? 1 : 0;
  }
  return { text, zh };
}

/** An import refused for its bad rows, kept so the user may import the good rows alone. */
export interface RefusedImport {
  name: string;
  text: string;
  origin: DatasetOrigin;
  error: BadRowsError;
}

export class DatasetsState {
  datasets = $state.raw<DatasetMeta[]>([]);
  selectedId = $state<string | null>(null);
  rows = $state.raw<DatasetRecord[]>([]);
  /** What the search box shows; the filter applies it a moment later, so typing stays smooth. */
  query = $state('');
  appliedQuery = $state('');
  inputFilter = $state<InputFilter>('any');
  langFilter = $state<LangFilter>('any');
  emptyOutputOnly = $state(false);
  busy = $state<string | null>(null);
  error = $state<string | null>(null);
  notice = $state<string | null>(null);
  /** The last import, when its bad rows refused it: the page lists them. */
  refused = $state.raw<RefusedImport | null>(null);
  #queryTimer: ReturnType<typeof setTimeout> | undefined;

  selected = $derived(this.datasets.find((d) => d.id === this.selectedId) ?? null);
  #index = $derived(buildIndex(this.rows));

  /** Positions (into rows) of the rows that pass search and filters, in file order. */
  visible = $derived.by((): number[] => {
    const { text, zh } = this.#index;
    const q = this.appliedQuery.trim().toLowerCase();
    const out: number[] = [];
    for (let i = 0; i < this.rows.length; i++) {
      const r = this.rows[i];
      if (this.inputFilter === 'with' && !r.input) continue;
      if (this.inputFilter === 'without' && r.input) continue;
      if (this.langFilter === 'zh' && !zh[i]) continue;
      if (this.langFilter === 'en' && zh[i]) continue;
      if (this.emptyOutputOnly && r.output.trim()) continue;
      if (q && !text[i].includes(q)) continue;
      out.push(i);
    }
    return out;
  });

  filtered = $derived(this.appliedQuery.trim() !== '' || this.inputFilter !== 'any' || this.langFilter !== 'any' || this.emptyOutputOnly);

  constructor(private readonly services: Services) {}

  async store(): Promise<DatasetStore> {
    return (await this.services.stores()).datasets;
  }

  #task<T>(label: string, fn: (store: DatasetStore) => Promise<T>): Promise<T | undefined> {
    return runTask(this, label, async () => fn(await this.store()));
  }

  async init(): Promise<void> {
    await this.#task('Opening datasets…', async (store) => {
      this.datasets = await store.list();
      if (this.selectedId && !this.datasets.some((d) => d.id === this.selectedId)) this.selectedId = null;
    });
    if (this.selectedId) await this.select(this.selectedId);
  }

  async refresh(): Promise<void> {
    const store = await this.store();
    this.datasets = await store.list();
  }

  setQuery(query: string): void {
    this.query = query;
    clearTimeout(this.#queryTimer);
    this.#queryTimer = setTimeout(() => (this.appliedQuery = query), 120);
  }

  clearFilters(): void {
    clearTimeout(this.#queryTimer);
    this.query = this.appliedQuery = '';
    this.inputFilter = 'any';
    this.langFilter = 'any';
    this.emptyOutputOnly = false;
  }

  async select(id: string | null): Promise<void> {
    this.selectedId = id;
    this.rows = [];
    if (!id) return;
    await this.#task('Loading rows…', async (store) => {
      const rows = await store.rows(id);
      if (this.selectedId === id) this.rows = rows;
    });
  }

  async #imported(meta: DatasetMeta | undefined): Promise<void> {
    if (!meta) return;
    await this.refresh();
    this.clearFilters();
    await this.select(meta.id);
    this.notice = `Imported ${meta.rowCount.toLocaleString('en')} rows into “${meta.name}”.`;
  }

  /** Imports a file's text; one with bad rows stores nothing and is kept in `refused`, listing them. */
  async #import(label: string, name: string, origin: DatasetOrigin, text: () => Promise<string>): Promise<void> {
    this.refused = null;
    const meta = await this.#task(label, async (store) => {
      const body = await text();
      try {
        return await store.importText(name, body, origin);
      } catch (e) {
        if (e instanceof BadRowsError) this.refused = { name, text: body, origin, error: e };
        throw e;
      }
    });
    await this.#imported(meta);
  }

  async importFile(file: File): Promise<void> {
    await this.#import(`Importing ${file.name}…`, file.name.replace(/\.(jsonl?|json)$/i, ''), { kind: 'file', name: file.name }, () => file.text());
  }

  async importUrl(url: string, name?: string): Promise<void> {
    const fallback = decodeURIComponent(url.split('/').pop() || 'download').replace(/\.(jsonl?|json)$/i, '');
    await this.#import('Downloading…', name ?? fallback, { kind: 'url', url }, () => fetchDatasetText(url));
  }

  async importPaste(text: string, name: string): Promise<void> {
    await this.#import('Importing…', name.trim() || 'pasted', { kind: 'paste' }, async () => text);
  }

  /** Imports the good rows of the refused import, leaving its bad rows out. */
  async importGoodRows(): Promise<void> {
    const refused = this.refused;
    if (!refused) return;
    const result = await this.#task('Importing the good rows…', (store) => store.importGoodRows(refused.name, refused.text, refused.origin));
    if (!result) return;
    this.refused = null;
    await this.#imported(result.dataset);
    this.notice = `Imported ${result.dataset.rowCount.toLocaleString('en')} rows into “${result.dataset.name}”; left out ${result.skipped.toLocaleString('en')} bad row${result.skipped === 1 ? '' : 's'}.`;
  }

  dismissRefused(): void {
    this.refused = null;
  }

  async saveRow(record: DatasetRecord): Promise<boolean> {
    const ok = await this.#task('Saving…', async (store) => {
      await store.updateRow(record);
      this.rows = this.rows.map((r) => (r.seq === record.seq ? record : r));
      return true;
    });
    return ok === true;
  }

  async deleteRows(seqs: readonly number[]): Promise<void> {
    const id = this.selectedId;
    if (!id) return;
    await this.#task('Deleting…', async (store) => {
      const meta = await store.deleteRows(id, seqs);
      const gone = new Set(seqs);
      this.rows = this.rows.filter((r) => !gone.has(r.seq));
      this.datasets = this.datasets.map((d) => (d.id === id ? meta : d));
      this.notice = `Deleted ${seqs.length.toLocaleString('en')} row${seqs.length === 1 ? '' : 's'}.`;
    });
  }

  /** Deletes the rows the current search and filters show. */
  async deleteVisible(): Promise<void> {
    await this.deleteRows(this.visible.map((i) => this.rows[i].seq));
  }

  async dedupe(cjk: boolean): Promise<void> {
    const id = this.selectedId;
    if (!id) return;
    const label = 'Removing near-duplicates (ROUGE-L > 0.7)…';
    const result = await this.#task(label, (store) => store.dedupe(id, {
      cjk,
      onProgress: (done, total) => (this.busy = `${label} ${Math.floor((100 * done) / total)}%`),
    }));
    if (!result) return;
    await this.refresh();
    await this.select(result.dataset.id);
    this.notice = `Removed ${result.removed.toLocaleString('en')} near-duplicate instructions; kept ${result.dataset.rowCount.toLocaleString('en')} in “${result.dataset.name}”.`
      + `${result.removed ? ' The removed rows are listed below the table.' : ''}`;
  }

  /** Puts rows that dedupe left out back into the open (deduped) dataset, at their places. */
  async putBack(seqs: readonly number[]): Promise<void> {
    const id = this.selectedId;
    if (!id || !seqs.length) return;
    await this.#task('Putting rows back…', async (store) => {
      const meta = await store.putBack(id, seqs);
      this.datasets = this.datasets.map((d) => (d.id === id ? meta : d));
      const rows = await store.rows(id);
      if (this.selectedId === id) this.rows = rows;
      this.notice = `Put ${seqs.length.toLocaleString('en')} row${seqs.length === 1 ? '' : 's'} back into “${meta.name}”.`;
    });
  }

  /** The dataset a deduped one was made from, while it still exists. */
  dedupeSource(meta: DatasetMeta): DatasetMeta | null {
    const o = meta.origin;
    return o.kind === 'derived' && o.how === 'dedupe' ? this.datasets.find((d) => d.id === o.from) ?? null : null;
  }

  /** Undoes the open dataset's dedupe: deletes the deduped copy and opens its source again. */
  async undoDedupe(): Promise<void> {
    const meta = this.selected;
    if (!meta) return;
    const source = await this.#task('Undoing the dedupe…', (store) => store.undoDedupe(meta.id));
    if (!source) return;
    await this.refresh();
    await this.select(source.id);
    this.notice = `Undid the dedupe: deleted “${meta.name}”; “${source.name}” is open.`;
  }

  async split(validationFraction: number, seed: number): Promise<void> {
    const id = this.selectedId;
    if (!id) return;
    const result = await this.#task('Splitting…', (store) => store.split(id, validationFraction, seed));
    if (!result) return;
    await this.refresh();
    this.notice = `Split into “${result.train.name}” (${result.train.rowCount.toLocaleString('en')} rows) and “${result.validation.name}” (${result.validation.rowCount.toLocaleString('en')} rows).`;
  }

  exportAs(format: ExportFormat, onlyVisible: boolean): ExportResult | null {
    const meta = this.selected;
    if (!meta) return null;
    const rows = (onlyVisible ? this.visible.map((i) => this.rows[i]) : this.rows).map(stripKeys);
    return exportRows(rows, format, meta.name);
  }

  /** Renames a dataset; resolves to why the name was refused (empty, taken), or null once saved. */
  async rename(id: string, name: string): Promise<string | null> {
    const problem = nameProblem(name, this.datasets.filter((d) => d.id !== id).map((d) => d.name), 'dataset');
    if (problem) return problem;
    try {
      const meta = await (await this.store()).rename(id, name);
      this.datasets = this.datasets.map((d) => (d.id === id ? meta : d));
      return null;
    } catch (e) {
      return messageOf(e);
    }
  }

  async remove(id: string): Promise<void> {
    await this.#task('Deleting dataset…', (store) => store.remove(id));
    if (this.selectedId === id) await this.select(null);
    await this.refresh();
  }
}

export type StatsField = 'instruction' | 'output';

/** Figure 1: output lengths of two datasets side by side, and root verb / direct object pairs. */
export class FigureState {
  compareId = $state<string | null>(null);
  field = $state<StatsField>('instruction');
  /** Parse at most this many rows per dataset (evenly spaced): parsing runs about 1 ms a row. */
  sampleLimit = $state(5000);
  running = $state(false);
  progress = $state(0);
  error = $state<string | null>(null);
  histogram = $state.raw<Histogram | null>(null);
  pairs = $state.raw<{ name: string; stats: VerbNounStats }[]>([]);
  /** Datasets whose verb-object pairs are not drawn: their text is Chinese (see StatsPanel's note). */
  chinese = $state.raw<string[]>([]);
  #abort: AbortController | null = null;

  constructor(private readonly datasets: DatasetsState) {}

  cancel(): void {
    this.#abort?.abort();
  }

  async compute(): Promise<void> {
    const a = this.datasets.selected;
    if (!a) return;
    this.#abort?.abort();
    const abort = (this.#abort = new AbortController());
    this.running = true;
    this.error = null;
    this.progress = 0;
    try {
      const sets = [{ name: a.name, rows: this.datasets.rows as readonly DatasetRecord[] }];
      const b = this.compareId ? this.datasets.datasets.find((d) => d.id === this.compareId) : undefined;
      if (b && b.id !== a.id) sets.push({ name: b.name, rows: await (await this.datasets.store()).rows(b.id) });
      this.histogram = outputLengths(sets.map((s) => ({ name: s.name, outputs: s.rows.map((r) => r.output) })), 24);
      const pairs: { name: string; stats: VerbNounStats }[] = [];
      const chinese: string[] = [];
      for (const [k, s] of sets.entries()) {
        const texts = sample(s.rows, this.sampleLimit).map((r) => r[this.field]);
        if (isChinese(texts)) {
          chinese.push(s.name);
          continue;
        }
        const stats = await verbNounStats(texts, {
          signal: abort.signal,
          onProgress: (done, total) => (this.progress = (k + done / total) / sets.length),
        });
        pairs.push({ name: s.name, stats });
      }
      this.pairs = pairs;
      this.chinese = chinese;
    } catch (e) {
      if (!abort.signal.aborted) this.error = messageOf(e);
    } finally {
      if (this.#abort === abort) {
        this.running = false;
        this.#abort = null;
      }
    }
  }
}

/** At most n rows, evenly spaced, in order. */
function sample<T>(rows: readonly T[], n: number): T[] {
  if (rows.length <= n) return [...rows];
  const step = rows.length / n;
  return Array.from({ length: n }, (_, i) => rows[Math.floor(i * step)]);
}

const makeDatasetsState = (services: Services) => new DatasetsState(services);
export const datasetsStateOf = (services: Services): DatasetsState => sharedState(services, makeDatasetsState);
const makeFigureState = (services: Services) => new FigureState(datasetsStateOf(services));

/** The page's datasets state: one per page load, so it outlives navigation between pages. */
export function useDatasetsState(): DatasetsState {
  return datasetsStateOf(useServices());
}

export function useFigureState(): FigureState {
  return sharedState(useServices(), makeFigureState);
}
