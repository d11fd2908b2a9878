import type { PrefetchError } from '../errors.js';
import { failureReason } from './failure-cause.js';
import { failureHost } from './format.js';
import { displayText as d } from './terminal-text.js';

/** Live failure lines shown per reason and host before the rest waits for the summary. */
const LIVE_FAILURES_PER_GROUP = 3;

/** What a reporter prints for one failure as it happens. */
export type LiveFailure =
  | { readonly kind: 'line' }
  /** The first failure over the limit: print this note instead, once. */
  | { readonly kind: 'note'; readonly text: string }
  | { readonly kind: 'silent' };

/**
 * Bounds the live failure lines: a server that is down fails every package the same way within
 * seconds, and one line per package buries everything else. The first few of each reason and
 * host are shown, then one note; the summary names them, grouped (format.ts `listNames`). `verbose` shows every one.
 */
export function createFailureThrottle(verbose: boolean): (error: PrefetchError) => LiveFailure {
  const seen = new Map<string, number>();
  return (error) => {
    if (verbose) return { kind: 'line' };
    const reason = failureReason(error);
    const host = failureHost(error.url);
    const key = `${reason}\u0000${host}`;
    const n = (seen.get(key) ?? 0) + 1;
    seen.set(key, n);
    if (n <= LIVE_FAILURES_PER_GROUP) return { kind: 'line' };
    if (n === LIVE_FAILURES_PER_GROUP + 1)
      return { kind: 'note', text: `more packages failing with ${d(reason)}${host === '' ? '' : ` at ${d(host)}`}: named in the summary` };
    return { kind: 'silent' };
  };
}
