// Names of datasets and answer sets: what a rename accepts, and the names of datasets derived from others
// (dedupe, split), which say what was done once each instead of piling suffixes up.

export class NameError extends Error {
  override name = 'NameError';
}

const same = (a: string, b: string) => a.trim().toLocaleLowerCase('en') === b.trim().toLocaleLowerCase('en');

/**
 * Why `name` cannot name a `what` ("dataset", "answer set"), or null when it can. `others` are the names of the
 * other items of that kind: two that differ only in case or spaces would look the same in every picker.
 */
export function nameProblem(name: string, others: Iterable<string>, what: string): string | null {
  const trimmed = name.trim();
  if (!trimmed) return `The name is empty: type a name for the ${what}.`;
  for (const other of others) if (same(other, trimmed)) return `Another ${what} is already called “${other.trim()}”: pick another name.`;
  return null;
}

export type DerivedTag = 'deduped' | 'train' | 'validation';

const TAG = '(?:deduped|dedupe|train|validation)';
/** A trailing "(tag, tag)" group, with the number a clash adds; older names carried one group per step. */
const SUFFIX = new RegExp(`\\s*\\((${TAG}(?:, ${TAG})*)\\)(?: \\d+)?$`);

/** "x (dedupe) (train) (dedupe)" or "x (deduped, train) 2" → root "x", tags [deduped, train]. */
export function parseDerivedName(name: string): { root: string; tags: DerivedTag[] } {
  let root = name.trim();
  const tags: string[] = [];
  for (let m = SUFFIX.exec(root); m && m.index > 0; m = SUFFIX.exec(root)) {
    tags.unshift(...m[1].split(', '));
    root = root.slice(0, m.index);
  }
  const unique = [...new Set(tags.map((t) => (t === 'dedupe' ? 'deduped' : t) as DerivedTag))];
  return { root, tags: unique };
}

/** The name of a dataset made from `source` by `tag`: each step named once, a number added on a clash. */
export function derivedName(source: string, tag: DerivedTag, taken: Iterable<string>): string {
  const { root, tags } = parseDerivedName(source);
  if (!tags.includes(tag)) tags.push(tag);
  return uniqueName(`${root} (${tags.join(', ')})`, taken);
}

/** `base`, or `base 2`, `base 3`… whichever no name in `taken` already is. */
export function uniqueName(base: string, taken: Iterable<string>): string {
  const names = [...taken];
  if (!names.some((n) => same(n, base))) return base;
  for (let k = 2; ; k++) {
    const candidate = `${base} ${k}`;
    if (!names.some((n) => same(n, candidate))) return candidate;
  }
}
