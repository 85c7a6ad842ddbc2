// Presenter mode: large type on every page for a projector (the Playground's side-by-side samples, Reports' charts
// and tables; Rerank has its own full-screen view on P). It scales the root font size, so everything sized in rem
// grows; the choice is kept in localStorage.
import { getContext, setContext } from 'svelte';

const STORAGE_KEY = 'studio.presenter';
export const PRESENTER_CLASS = 'presenter';

export class PresenterState {
  on = $state(false);

  constructor(
    private readonly root: Pick<HTMLElement, 'classList'>,
    private readonly storage: Pick<Storage, 'getItem' | 'setItem'>,
  ) {
    this.apply(storage.getItem(STORAGE_KEY) === 'on');
  }

  toggle(): void {
    this.apply(!this.on);
    this.storage.setItem(STORAGE_KEY, this.on ? 'on' : 'off');
  }

  /** Alt+P anywhere (plain P belongs to the Rerank page's presenter view). */
  keydown(event: Pick<KeyboardEvent, 'altKey' | 'ctrlKey' | 'metaKey' | 'code' | 'preventDefault'>): void {
    if (!event.altKey || event.ctrlKey || event.metaKey || event.code !== 'KeyP') return;
    event.preventDefault();
    this.toggle();
  }

  private apply(on: boolean): void {
    this.on = on;
    this.root.classList.toggle(PRESENTER_CLASS, on);
  }
}

const key = Symbol('presenter');

export function setPresenterState(state: PresenterState): PresenterState {
  return setContext(key, state);
}

export function usePresenterState(): PresenterState {
  return getContext<PresenterState>(key);
}
