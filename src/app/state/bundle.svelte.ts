// The project bundle as the UI and the console see it: export the whole project to one file, import one from a
// file, bytes or a URL (`?bundle=URL`, the link an instructor hands out). One BundleState per page (set in
// App.svelte); `window.studio` exposes its export and import for power users.
import { getContext, setContext } from 'svelte';
import { exportBundle, importBundle, type BundleSummary } from '../../data/bundle-io';
import { messageOf } from '../lib/message';
import type { Services } from '../services';
import { runTask } from './task';

/** The query parameter that opens a bundle when the studio loads. */
export const BUNDLE_PARAM = 'bundle';

/** What an import brought, in words: "3 datasets, 2 training runs, 1 judge run". */
export function summaryText(summary: BundleSummary): string {
  const parts: [number, string][] = [
    [summary.datasets, 'dataset'],
    [summary.runs, 'training run'],
    [summary.answerSets, 'answer set'],
    [summary.evalSets, 'eval set'],
    [summary.judgeRuns, 'judge run'],
    [summary.rougeRuns, 'ROUGE run'],
    [summary.hhhSessions, 'rating session'],
  ];
  const text = parts.filter(([n]) => n > 0).map(([n, what]) => `${n} ${what}${n === 1 ? '' : 's'}`).join(', ');
  return text || 'an empty project';
}

const NOTICE_KEY = 'studio.bundle.notice';

export class BundleState {
  busy = $state<string | null>(null);
  error = $state<string | null>(null);
  notice = $state<string | null>(null);

  /**
   * Every page's state reads the stores once, so after an import from the UI the page reloads (`reload`) and the
   * notice waits in `session` for the reloaded page. The console's importBundle leaves the page as it is.
   */
  constructor(
    private readonly services: Services,
    private readonly reload: () => void = () => {},
    private readonly session: Pick<Storage, 'getItem' | 'setItem' | 'removeItem'> | null = null,
  ) {
    this.notice = session?.getItem(NOTICE_KEY) ?? null;
    session?.removeItem(NOTICE_KEY);
  }

  /** The whole project as bundle bytes (never the API key). */
  async exportBytes(): Promise<Uint8Array> {
    return exportBundle((await this.services.stores()).db);
  }

  /** Merges bundle bytes into this browser's project; a bad file throws and changes nothing. */
  async importBytes(bytes: Uint8Array | ArrayBuffer): Promise<BundleSummary> {
    return importBundle((await this.services.stores()).db, bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes));
  }

  /** Export for the UI: the bytes, or null with the error shown. */
  async exportForDownload(): Promise<Uint8Array | null> {
    return this.task('Exporting the project…', () => this.exportBytes());
  }

  async importFile(file: File): Promise<void> {
    await this.task(`Importing ${file.name}…`, async () => {
      const summary = await this.importBytes(await file.arrayBuffer());
      this.imported(`Imported ${summaryText(summary)} from ${file.name}.`);
    });
  }

  /** Downloads and imports a bundle; `beforeReload` runs once it is stored, before the page reloads. */
  async importUrl(url: string, beforeReload: () => void = () => {}): Promise<void> {
    await this.task('Downloading the bundle…', async () => {
      let response: Response;
      try {
        response = await fetch(url);
      } catch (e) {
        throw new Error(`Could not download the bundle from ${url} (${messageOf(e)}): check the link and your connection; a bundle on another site must allow this one (CORS).`);
      }
      if (!response.ok) throw new Error(`Could not download the bundle from ${url}: the server answered ${response.status} ${response.statusText}. Check the link.`);
      this.busy = 'Importing the bundle…';
      const summary = await this.importBytes(await response.arrayBuffer());
      beforeReload();
      this.imported(`Opened the workshop bundle: ${summaryText(summary)}.`);
    });
  }

  /**
   * Opens the bundle named by `?bundle=URL` once: on success the parameter leaves the address bar, so a reload does
   * not import it again over the work done since.
   */
  async openFromLocation(location: Location, history: History): Promise<void> {
    const url = new URLSearchParams(location.search).get(BUNDLE_PARAM);
    if (!url) return;
    await this.importUrl(new URL(url, location.href).href, () => {
      const params = new URLSearchParams(location.search);
      params.delete(BUNDLE_PARAM);
      const search = params.size ? `?${params}` : '';
      history.replaceState(history.state, '', `${location.pathname}${search}${location.hash}`);
    });
  }

  private imported(notice: string): void {
    this.notice = notice;
    this.session?.setItem(NOTICE_KEY, notice);
    this.reload();
  }

  private async task<T>(label: string, fn: () => Promise<T>): Promise<T | null> {
    return (await runTask(this, label, fn)) ?? null;
  }
}

declare global {
  interface Window {
    /**
     * The project bundle from the browser console:
     *   const bytes = await studio.exportBundle()      // Uint8Array, never the API key
     *   await studio.importBundle(bytes)               // merges; a bad file throws and changes nothing
     */
    studio: { exportBundle(): Promise<Uint8Array>; importBundle(bytes: Uint8Array | ArrayBuffer): Promise<BundleSummary> };
  }
}

/** `window.studio.exportBundle()` / `importBundle(bytes)` for power users, workshops and the browser tests. */
export function exposeBundleOnWindow(state: BundleState): void {
  window.studio = { exportBundle: () => state.exportBytes(), importBundle: (bytes) => state.importBytes(bytes) };
}

const key = Symbol('bundle');

export function setBundleState(state: BundleState): BundleState {
  return setContext(key, state);
}

export function useBundleState(): BundleState {
  return getContext<BundleState>(key);
}
