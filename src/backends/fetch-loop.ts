import { setMaxListeners } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { PrefetchError, TransferLimitError, toPrefetchError } from '../errors.js';
import { cacheRootOf, removeEmptyDirs } from '../cache/contained-dir.js';
import { decideRetry, type RetryPolicy } from '../net/retry-policy.js';
import type { DownloadTask, FetchContext, SettledTask, StagedFile, TaskResult } from '../types.js';

/** The longest delay setTimeout takes (2^31 - 1 ms). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** What `fetchTask` gives each attempt. */
export interface AttemptScope {
  /**
   * The package's signal: Ctrl-C or its `--retry-max-time` deadline. The attempt must end when
   * it fires; its reason (a PrefetchError for the deadline) says why.
   */
  readonly signal: AbortSignal;
  /**
   * Called by the backend when the attempt really starts (it holds its slot, with `started`):
   * the deadline runs from the package's first start, so time spent queued behind other
   * packages in a big lock never counts against it.
   */
  readonly started: () => void;
}

/** How a backend moves the bytes of one URL; everything around it is `fetchTask`'s. */
export interface UrlTransfer {
  /** One attempt at `url` (the run's `attempt`-th for this package); emits `started` and calls `scope.started` itself. */
  attempt(url: string, attempt: number, scope: AttemptScope): Promise<StagedFile>;
  /** Leaving `url` (done, next URL, out of retries, interrupted): drop what attempts kept for it. */
  leave?(url: string): Promise<void>;
  /**
   * `ctx.accept` refused the file the last attempt staged (sha1, archive checks, whichever).
   * A backend that assembled it from several responses fetches it whole next time.
   */
  rejected?(url: string, error: PrefetchError): void;
}

/** Time as the loop sees it; tests inject a fake one. */
export interface Clock {
  now(): number;
  /** Calls `fn` after `ms`; returns what cancels it. */
  after(ms: number, fn: () => void): () => void;
  /** Resolves after `ms`, or at once when `signal` aborts; never rejects. */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  after(ms, fn) {
    const timer = setTimeout(fn, ms);
    return () => clearTimeout(timer);
  },
  sleep: (ms, signal) => sleep(ms, undefined, { signal }).catch(() => undefined),
};

export interface RetrySettings {
  readonly policy: RetryPolicy;
  readonly random: () => number;
  /** Default: the system clock. */
  readonly clock?: Clock;
}

/**
 * One package through both backends' shared loop: each download URL in order (`--mirror`
 * templates, then Composer's `getDistUrls()` order) gets its retries under the shared policy;
 * every staged file goes through `ctx.accept`, so the archive always lands at `task.cachePath`,
 * the key of the lock's `urls[0]`, whichever URL served it. As Composer's
 * `FileDownloader::download`, a URL that keeps failing hands over to the next one.
 */
export async function fetchTask(task: SettledTask, ctx: FetchContext, retry: RetrySettings, transfer: UrlTransfer): Promise<TaskResult> {
  const urls = urlsToTry(task);
  let attempts = 0;
  let lastError: PrefetchError | undefined;
  let shownNow: string | undefined;
  // `--retry-max-time` as a deadline for the whole package, attempt in flight included: a server
  // that keeps a transfer alive (a byte now and then) must not hold the run for as long as it likes.
  // It runs from the first attempt's real start (curl's --retry-max-time also counts from the first request).
  const deadline = new AbortController();
  const budgetMs = retry.policy.maxTimeMs;
  const clock = retry.clock ?? systemClock;
  let startedAt: number | undefined;
  let cancelDeadline: (() => void) | undefined;
  const signal = AbortSignal.any([ctx.signal, deadline.signal]);
  setMaxListeners(0, signal);
  const scope: AttemptScope = {
    signal,
    started: () => {
      if (startedAt !== undefined) return;
      startedAt = clock.now();
      // Past setTimeout's ceiling (~24.8 days) Node would fire at once: such a budget means "none".
      if (budgetMs > 0 && budgetMs <= MAX_TIMER_MS)
        cancelDeadline = clock.after(budgetMs, () => deadline.abort(deadlineError(task, budgetMs, shownNow, lastError)));
    },
  };
  // The one place a package fails: the event and the result carry the same, explained error.
  const fail = (raw: PrefetchError): TaskResult => {
    const error = task.policy.explainFailure(raw);
    ctx.emit({ type: 'failed', task, error });
    return { kind: 'failed', task, attempts, error };
  };
  try {
    for (const [index, url] of urls.entries()) {
      let urlAttempts = 0;
      let integrityFailures = 0;
      try {
        for (;;) {
          if (ctx.signal.aborted) return { kind: 'failed', task, attempts, error: abortedError(task) };
          if (deadline.signal.aborted) return fail(deadline.signal.reason as PrefetchError);
          attempts++;
          urlAttempts++;
          const shown = task.policy.redact(url);
          shownNow = shown;
          let staged: StagedFile | undefined;
          try {
            staged = await transfer.attempt(url, attempts, scope);
            await ctx.accept(task, staged, url);
            ctx.emit({ type: 'done', task, result: 'downloaded', bytes: staged.bytes, url: shown });
            return { kind: 'downloaded', task, url: shown, bytes: staged.bytes, attempts };
          } catch (thrown) {
            if (ctx.signal.aborted) continue;
            if (deadline.signal.aborted) return fail(deadline.signal.reason as PrefetchError);
            const error = toPrefetchError(thrown, 'E_NETWORK', { packageName: task.packageName, url: shown });
            lastError = error;
            if (staged !== undefined) transfer.rejected?.(url, error);
            if (error.code === 'E_CHECKSUM' || error.code === 'E_CORRUPT') integrityFailures++;
            const verdict = decideRetry(
              error,
              { attempts: urlAttempts, integrityFailures, elapsedMs: startedAt === undefined ? 0 : clock.now() - startedAt },
              retry.policy,
              retry.random,
            );
            if (verdict.action === 'next-url') {
              // Moving on to the next URL is a retry too: reporters count this URL's failure and its cause.
              if (index < urls.length - 1) ctx.emit({ type: 'retried', task, url: shown, attempt: attempts, delayMs: 0, error });
              break;
            }
            ctx.emit({ type: 'retried', task, url: shown, attempt: attempts, delayMs: verdict.delayMs, error });
            // Sleeping holds no slot and no gate: other packages keep downloading meanwhile.
            await clock.sleep(verdict.delayMs, signal);
          }
        }
      } finally {
        await transfer.leave?.(url);
      }
    }
    return fail(lastError ?? new PrefetchError('E_NETWORK', `${task.packageName}: no URL to download from`, { packageName: task.packageName }));
  } finally {
    cancelDeadline?.();
    // Interrupted: `leave` has removed the temp file, and the package's folders, made for it,
    // would stay behind empty. Only then: in a running run another version of the same package
    // may be about to write into that folder. A folder holding an archive is never removed.
    if (ctx.signal.aborted) await removeEmptyDirs(task.cachePath, cacheRootOf(task));
  }
}

/**
 * The URLs to try, in order: planning's download order (`--mirror` URLs first) when it set one,
 * else the lock's URLs (`Package::getDistUrls()` order). Read here, not asked of plan/: a
 * backend knows tasks only as data.
 */
export function urlsToTry(task: DownloadTask): readonly string[] {
  return task.downloadUrls ?? task.urls;
}

/** The package's `--retry-max-time` ran out; says where it was and what went wrong before. */
function deadlineError(task: DownloadTask, budgetMs: number, shown: string | undefined, last: PrefetchError | undefined): TransferLimitError {
  const where = shown === undefined ? '' : `; the transfer from ${shown} was stopped`;
  const lastProblem =
    last === undefined ? undefined : last.message.startsWith(`${task.packageName}: `) ? last.message.slice(task.packageName.length + 2) : last.message;
  const before = lastProblem === undefined ? '' : ` (before that: ${lastProblem})`;
  return new TransferLimitError({
    packageName: task.packageName,
    url: shown,
    limit: { kind: 'deadline', option: '--retry-max-time', limitMs: budgetMs },
    message: `${task.packageName}: not downloaded within ${budgetMs / 1000} s, the per-package limit (--retry-max-time)${where}${before}`,
    hint: 'The server is too slow or keeps failing. Raise --retry-max-time if the archive is large and the link slow.',
  });
}

export function abortedError(task: DownloadTask): PrefetchError {
  return new PrefetchError('E_ABORTED', `${task.packageName}: interrupted`, { packageName: task.packageName });
}
