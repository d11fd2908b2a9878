import { toPrefetchError } from '../errors.js';
import { FAILURE_CAUSES, failureCause } from './failure-cause.js';
import type { FailureCause } from '../types.js';
import type { PrefetchEvent } from '../types.js';

/**
 * What the network did, per origin (scheme://host:port of the URL that answered: after a
 * redirect, the bytes and failures are the redirect target's).
 */
export interface OriginStats {
  readonly origin: string;
  /**
   * HTTP exchanges, as the servers saw them: every redirect hop and range request is one. An
   * attempt whose backend reported no exchange counts as one request to the URL it started at.
   */
  readonly requests: number;
  /** Archives that came from this origin. */
  readonly downloaded: number;
  readonly bytes: number;
  /** Wall time with at least one request to this origin in flight. */
  readonly activeMs: number;
  /** bytes / activeMs: what this origin delivered while we were using it. */
  readonly bytesPerSecond: number;
  /** Failed requests followed by another attempt (same URL or the next mirror). */
  readonly retries: number;
  /** Every failed request, the last one of a failed package included. */
  readonly failures: number;
  readonly failuresByCause: Readonly<Record<FailureCause, number>>;
}

export interface OriginStatsCollector {
  handle(event: PrefetchEvent): void;
  snapshot(): readonly OriginStats[];
}

interface Mutable {
  requests: number;
  downloaded: number;
  bytes: number;
  activeMs: number;
  retries: number;
  failures: number;
  failuresByCause: Record<FailureCause, number>;
  inFlight: number;
  busySince: number;
}

/**
 * The origin part of a (redacted) URL: `scheme://host[:port]`, for git's `ssh://` URLs too (whose
 * WHATWG origin is the string "null"), and `ssh://host` for scp-like `user@host:path`; the text
 * itself when it is none of these.
 */
export function originOf(url: string): string {
  if (URL.canParse(url)) {
    const parsed = new URL(url);
    if (parsed.origin !== 'null') return parsed.origin;
    if (parsed.host !== '') return `${parsed.protocol}//${parsed.host}`;
  }
  // `github.com:acme/x.git` parses as a URL of scheme `github.com:`; git reads it scp-like.
  const host = scpHost(url);
  return host === undefined ? url : `ssh://${host}`;
}

/** The host of git's scp-like syntax (`git@host:path`, `host:path`), as git reads it: no `/` before the first `:`. */
export function scpHost(url: string): string | undefined {
  return /^(?:[^@/:]*@)?(\[[^\]/]+\]|[^:/[\]]+):(?!\/\/)/.exec(url)?.[1];
}

/** Folds events into per-origin counters; `now` is injected so tests control the clock. */
export function createOriginStats(now: () => number = Date.now): OriginStatsCollector {
  const origins = new Map<string, Mutable>();
  /** The attempt each task has in flight: the origin now serving it, and how many exchanges it reported. */
  const open = new Map<string, { origin: string; exchanges: number }>();

  const entry = (origin: string): Mutable => {
    let e = origins.get(origin);
    if (!e) {
      const byCause = Object.fromEntries(FAILURE_CAUSES.map((c) => [c, 0])) as Record<FailureCause, number>;
      e = { requests: 0, downloaded: 0, bytes: 0, activeMs: 0, retries: 0, failures: 0, failuresByCause: byCause, inFlight: 0, busySince: 0 };
      origins.set(origin, e);
    }
    return e;
  };
  const busy = (origin: string): void => {
    const e = entry(origin);
    if (e.inFlight++ === 0) e.busySince = now();
  };
  const idle = (origin: string): Mutable => {
    const e = entry(origin);
    if (--e.inFlight === 0) e.activeMs += now() - e.busySince;
    return e;
  };
  const begin = (key: string, origin: string): void => {
    busy(origin);
    open.set(key, { origin, exchanges: 0 });
  };
  /** One exchange of the task's attempt; the attempt moves to the origin that answered it. */
  const exchanged = (key: string, origin: string): void => {
    const attempt = open.get(key);
    if (attempt === undefined) {
      entry(origin).requests++;
      return;
    }
    if (attempt.origin !== origin) {
      idle(attempt.origin);
      busy(origin);
      attempt.origin = origin;
    }
    attempt.exchanges++;
    entry(origin).requests++;
  };
  /** Ends the task's open attempt; returns the counters of the origin serving it last. */
  const end = (key: string): Mutable | undefined => {
    const attempt = open.get(key);
    if (attempt === undefined) return undefined;
    open.delete(key);
    const e = idle(attempt.origin);
    // A backend that reports no exchanges: the attempt was one request.
    if (attempt.exchanges === 0) e.requests++;
    return e;
  };

  return {
    handle(event) {
      switch (event.type) {
        case 'started': {
          // A request still open here ended without an event (a backend moving on silently): a failure of unknown cause.
          const silent = end(event.task.cacheKey);
          if (silent) {
            silent.failures++;
            silent.retries++;
            silent.failuresByCause.other++;
          }
          begin(event.task.cacheKey, originOf(event.url));
          break;
        }
        case 'exchange':
          exchanged(event.task.cacheKey, originOf(event.url));
          break;
        case 'retried': {
          const e = end(event.task.cacheKey) ?? entry(originOf(event.url));
          e.retries++;
          e.failures++;
          e.failuresByCause[failureCause(toPrefetchError(event.error))]++;
          break;
        }
        case 'done': {
          if (event.result !== 'downloaded') break;
          const e = end(event.task.cacheKey) ?? (event.url === undefined ? undefined : entry(originOf(event.url)));
          if (e) {
            e.downloaded++;
            e.bytes += event.bytes;
          }
          break;
        }
        case 'failed': {
          // No open request: nothing went over the network (verify, or a package never started).
          // An interrupt or a cache that refused the file is not the origin's failure either.
          const e = end(event.task.cacheKey);
          if (e && event.error.code !== 'E_ABORTED' && event.error.code !== 'E_CACHE') {
            e.failures++;
            e.failuresByCause[failureCause(event.error)]++;
          }
          break;
        }
        default:
          break;
      }
    },
    snapshot() {
      const t = now();
      return [...origins.entries()]
        .map(([origin, e]): OriginStats => {
          const activeMs = e.activeMs + (e.inFlight > 0 ? t - e.busySince : 0);
          return {
            origin,
            requests: e.requests,
            downloaded: e.downloaded,
            bytes: e.bytes,
            activeMs,
            bytesPerSecond: activeMs > 0 ? Math.round((e.bytes * 1000) / activeMs) : 0,
            retries: e.retries,
            failures: e.failures,
            failuresByCause: { ...e.failuresByCause },
          };
        })
        .sort((a, b) => b.bytes - a.bytes || b.requests - a.requests || a.origin.localeCompare(b.origin));
    },
  };
}
