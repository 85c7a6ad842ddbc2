import { describe, expect, test } from 'vitest';
import { PRESENTER_CLASS, PresenterState } from '../../src/app/state/presenter.svelte';

function page(storage = new Map<string, string>()) {
  const classes = new Set<string>();
  const root = { classList: { toggle: (c: string, on?: boolean) => (on ? classes.add(c) : classes.delete(c), !!on) } as unknown as DOMTokenList };
  const local = { getItem: (k: string) => storage.get(k) ?? null, setItem: (k: string, v: string) => void storage.set(k, v) };
  return { state: new PresenterState(root, local), classes, storage };
}

const key = (code: string, mods: Partial<KeyboardEvent> = {}) => {
  let prevented = false;
  return { event: { altKey: false, ctrlKey: false, metaKey: false, code, preventDefault: () => (prevented = true), ...mods }, prevented: () => prevented };
};

describe('presenter mode', () => {
  test('toggles large type on the root and keeps the choice across a reload', () => {
    const first = page();
    expect(first.classes.has(PRESENTER_CLASS)).toBe(false);
    first.state.toggle();
    expect(first.state.on).toBe(true);
    expect(first.classes.has(PRESENTER_CLASS)).toBe(true);
    const reloaded = page(first.storage);
    expect(reloaded.state.on).toBe(true);
    expect(reloaded.classes.has(PRESENTER_CLASS)).toBe(true);
    reloaded.state.toggle();
    expect(page(first.storage).state.on).toBe(false);
  });

  test('Alt+P toggles it; plain P is left to the Rerank page', () => {
    const { state } = page();
    const plain = key('KeyP');
    state.keydown(plain.event);
    expect(state.on).toBe(false);
    expect(plain.prevented()).toBe(false);
    const alt = key('KeyP', { altKey: true });
    state.keydown(alt.event);
    expect(state.on).toBe(true);
    expect(alt.prevented()).toBe(true);
    state.keydown(key('KeyP', { altKey: true, ctrlKey: true }).event);
    expect(state.on).toBe(true);
  });
});
