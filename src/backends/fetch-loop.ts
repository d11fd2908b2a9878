import { setTimeout as sleep } from 'node:timers/promises';
import { PrefetchError, toPrefetchError } from '../errors.js';
import { decideRetry, type RetryPolicy } from '../net/retry-policy.js';
import type { DownloadTask } from '../plan/types.js';
import type { FetchContext, StagedFile, TaskResult } from './types.js';

/** How a backend moves the bytes of one URL; everything around it is `fetchTask`'s. */
export interface UrlTransfer {
  /** One attempt at `url` (the run's `attempt`-th for this package); emits `started` itself. */
  attempt(url: string, attempt: number): Promise<StagedFile>;
  /** Leaving `url` (done, next URL, out of retries, interrupted): drop what attempts kept for it. */
  leave?(url: string): Promise<void>;
}

export interface RetrySettings {
  readonly policy: RetryPolicy;
  readonly random: () => number;
}

/**
 * One package through both backends' shared loop: each download URL in order (`--mirror`
 * templates, then Composer's `getDistUrls()` order) gets its retries under the shared policy;
 * every staged file goes through `ctx.accept`, so the archive always lands at `task.cachePath`,
 * the key of the lock's `urls[0]`, whichever URL served it. As Composer's
 * `FileDownloader::download`, a URL that keeps failing hands over to the next one.
 */
export async function fetchTask(task: DownloadTask, ctx: FetchContext, retry: RetrySettings, transfer: UrlTransfer): Promise<TaskResult> {
  const startedAt = Date.now();
  const urls = task.downloadUrls ?? task.urls;
  let attempts = 0;
  let lastError: PrefetchError | undefined;
  for (const [index, url] of urls.entries()) {
    let urlAttempts = 0;
    let integrityFailures = 0;
    try {
      for (;;) {
        if (ctx.signal.aborted) return { kind: 'failed', task, attempts, error: abortedError(task) };
        attempts++;
        urlAttempts++;
        const shown = ctx.policy.redact(url);
        try {
          const staged = await transfer.attempt(url, attempts);
          await ctx.accept(task, staged, url);
          ctx.emit({ type: 'done', task, result: 'downloaded', bytes: staged.bytes, url: shown });
          return { kind: 'downloaded', task, url: shown, bytes: staged.bytes, attempts };
        } catch (thrown) {
          if (ctx.signal.aborted) continue;
          const error = toPrefetchError(thrown, 'E_NETWORK', { packageName: task.packageName, url: shown });
          lastError = error;
          if (error.code === 'E_CHECKSUM' || error.code === 'E_CORRUPT') integrityFailures++;
          const verdict = decideRetry(error, { attempts: urlAttempts, integrityFailures, elapsedMs: Date.now() - startedAt }, retry.policy, retry.random);
          if (verdict.action === 'next-url') {
            // Moving on to the next URL is a retry too: reporters count this URL's failure and its cause.
            if (index < urls.length - 1) ctx.emit({ type: 'retried', task, url: shown, attempt: attempts, delayMs: 0, error });
            break;
          }
          ctx.emit({ type: 'retried', task, url: shown, attempt: attempts, delayMs: verdict.delayMs, error });
          // Sleeping holds no slot and no gate: other packages keep downloading meanwhile.
          await sleep(verdict.delayMs, undefined, { signal: ctx.signal }).catch(() => undefined);
        }
      }
    } finally {
      await transfer.leave?.(url);
    }
  }
  const error = lastError ?? new PrefetchError('E_NETWORK', `${task.packageName}: no URL to download from`, { packageName: task.packageName });
  ctx.emit({ type: 'failed', task, error });
  return { kind: 'failed', task, attempts, error };
}

export function abortedError(task: DownloadTask): PrefetchError {
  return new PrefetchError('E_ABORTED', `${task.packageName}: interrupted`, { packageName: task.packageName });
}
