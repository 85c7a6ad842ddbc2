// The studio offline, as the page sees it: registers the service worker (src/offline/sw.js), says when the app is
// kept for offline use, and applies a new build on the next load with a notice. A new build downloads in the
// background and waits; the next load hands over to it and reloads once (or the browser does, once no tab has the
// old build open), so one page never mixes two builds. Each page knows its build (index.html's studio-build meta)
// and says so when it differs from the one this browser ran before.
import { getContext, setContext } from 'svelte';
import { messageOf } from '../lib/message';

export type OfflineStatus = 'unsupported' | 'preparing' | 'ready' | 'failed';

const BUILD_KEY = 'studio.offline.build';
export const UPDATED_NOTICE = 'The studio was updated to its newest version.';
export const UPDATE_WAITING_NOTICE = 'A new version of the studio is downloaded: it applies the next time you open or reload the studio.';

export class OfflineState {
  status = $state<OfflineStatus>('unsupported');
  /** The network as the browser reports it. */
  online = $state(true);
  notice = $state<string | null>(null);
  error = $state<string | null>(null);

  /** `build`: this page's build version (null in development); `storage` remembers the last one seen. */
  constructor(build: string | null, storage: Pick<Storage, 'getItem' | 'setItem'> | null = null) {
    if (!build || !storage) return;
    const last = storage.getItem(BUILD_KEY);
    if (last && last !== build) this.notice = UPDATED_NOTICE;
    storage.setItem(BUILD_KEY, build);
  }

  /** Registers `scriptUrl`; a build waiting from an earlier load is activated and the page reloads into it. */
  async start(container: ServiceWorkerContainer | undefined, scriptUrl: string, reload: () => void): Promise<void> {
    if (!container) return;
    this.status = 'preparing';
    try {
      const registration = await container.register(scriptUrl);
      if (registration.waiting && container.controller) {
        this.activate(registration.waiting, container, reload);
        return;
      }
      const watch = (worker: ServiceWorker | null) => {
        if (!worker) return;
        const update = !!container.controller;
        const onState = () => {
          if (update && worker.state === 'installed') this.notice = UPDATE_WAITING_NOTICE;
          if (!update && worker.state === 'activated') this.status = 'ready';
          if (worker.state === 'redundant' && !update) this.status = 'failed';
        };
        worker.addEventListener('statechange', onState);
        onState();
      };
      registration.addEventListener('updatefound', () => watch(registration.installing));
      if (registration.installing) watch(registration.installing);
      else if (registration.active) this.status = 'ready';
    } catch (e) {
      this.status = 'failed';
      this.error = `The studio cannot be kept for offline use (${messageOf(e)}); it still works while online.`;
    }
  }

  private activate(waiting: ServiceWorker, container: ServiceWorkerContainer, reload: () => void): void {
    container.addEventListener('controllerchange', () => reload(), { once: true });
    waiting.postMessage('activate-update');
  }

  /** Follows the browser's online/offline events. */
  watchNetwork(target: Pick<Window, 'addEventListener'>, navigatorOnline: () => boolean): void {
    const sync = () => (this.online = navigatorOnline());
    target.addEventListener('online', sync);
    target.addEventListener('offline', sync);
    sync();
  }
}

const key = Symbol('offline');

export function setOfflineState(state: OfflineState): OfflineState {
  return setContext(key, state);
}

export function useOfflineState(): OfflineState {
  return getContext<OfflineState>(key);
}
