// How a state class runs work the page waits on: `busy` names it while it runs, the last error (and notice) is
// cleared first, and a failure becomes the page's `error`, whose message says what to do, instead of an exception
// every caller would have to catch.
import { messageOf } from '../lib/message';

export interface TaskHost {
  busy: string | null;
  error: string | null;
  notice?: string | null;
}

/** `fn`'s result, or undefined when it failed (its message is then in `host.error`). */
export async function runTask<T>(host: TaskHost, label: string, fn: () => Promise<T>): Promise<T | undefined> {
  host.busy = label;
  host.error = null;
  if ('notice' in host) host.notice = null;
  try {
    return await fn();
  } catch (e) {
    host.error = messageOf(e);
    return undefined;
  } finally {
    host.busy = null;
  }
}
