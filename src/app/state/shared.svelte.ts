// State shared by every page of one page load (a judge run or a dataset import keeps going while the user visits
// other pages): one object per services and maker, made on first use.
import type { Services } from '../services';

const made = new WeakMap<Services, Map<(services: Services) => unknown, unknown>>();

/** The state `make` builds from `services`, made once. */
export function sharedState<T>(services: Services, make: (services: Services) => T): T {
  let states = made.get(services);
  if (!states) made.set(services, (states = new Map()));
  if (!states.has(make)) {
    // In a root of its own, not in the component that first asks: $derived values made while a component
    // initializes belong to it and go stale once that page is left.
    $effect.root(() => {
      states.set(make, make(services));
    });
    // Svelte's server build (Node: unit tests, the CLI) runs no effect roots; there nothing can go stale.
    if (!states.has(make)) states.set(make, make(services));
  }
  return states.get(make) as T;
}
