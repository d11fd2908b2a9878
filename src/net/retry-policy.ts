import type { PrefetchError } from '../errors.js';
import type { DownloadOptions } from '../types.js';
import { HttpStatusError } from '../errors.js';

/**
 * What to do after a failed attempt. Composer retries a handful of curl errors and 5xx three
 * times with 0/100/500 ms blocking sleeps and ignores Retry-After (`CurlDownloader::tick`); we
 * back off exponentially with full jitter, honour Retry-After, and never block other downloads.
 */
export type RetryVerdict =
  /** Try the same URL again after `delayMs`. */
  | { readonly action: 'retry'; readonly delayMs: number }
  /** This URL will not work (404, 401, retries used up): go on to the package's next URL. */
  | { readonly action: 'next-url' };

export interface RetryPolicy {
  /** Retries per URL after the first attempt. */
  readonly retries: number;
  /** Integrity failures (sha1, archive structure) retried at most this often per URL. */
  readonly integrityRetries: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  /** Longest Retry-After we are willing to wait; longer ones move on to the next URL. */
  readonly maxRetryAfterMs: number;
  /**
   * Time budget per package, from its first attempt (curl's `--retry-max-time`): no retry
   * starts after it. `fetchTask` also enforces it as a deadline that ends the attempt in flight.
   */
  readonly maxTimeMs: number;
}

export const defaultRetryPolicy: RetryPolicy = {
  retries: 4,
  integrityRetries: 2,
  baseDelayMs: 250,
  maxDelayMs: 8_000,
  maxRetryAfterMs: 60_000,
  maxTimeMs: 10 * 60_000,
};

/**
 * The run's retry policy, the same for every transport and for git mirrors: `--retries` bounds
 * every kind of retry (integrity ones included) and `--retry-max-time` the whole package.
 */
export function retryPolicyFor(options: Pick<DownloadOptions, 'retries' | 'retryMaxTimeMs'>, base: RetryPolicy = defaultRetryPolicy): RetryPolicy {
  return { ...base, retries: options.retries, integrityRetries: Math.min(base.integrityRetries, options.retries), maxTimeMs: options.retryMaxTimeMs };
}

/**
 * HTTP statuses worth asking again: timeouts, throttling, too-early and server errors. GitHub's
 * codeload also answers a sticky 400 under load that clears on a fresh connection; Composer
 * retries it too (`CurlDownloader`, composer/composer#12962), so the host is part of the question.
 */
export function isRetryableStatus(status: number, host?: string): boolean {
  if (status === 400 && host === 'codeload.github.com') return true;
  return status === 408 || status === 425 || status === 429 || (status >= 500 && status <= 599);
}

export interface AttemptHistory {
  /** Attempts already made on this URL, including the one that just failed. */
  readonly attempts: number;
  /** Of those, how many failed verification (sha1 / archive structure). */
  readonly integrityFailures: number;
  /** Time since the package's first attempt started (for `maxTimeMs`); 0 when unknown. */
  readonly elapsedMs?: number;
}

/** Pure: the verdict for one failure. `random` is injected so tests are deterministic. */
export function decideRetry(error: PrefetchError, history: AttemptHistory, policy: RetryPolicy, random: () => number): RetryVerdict {
  if (!error.retryable) return { action: 'next-url' };
  if (history.attempts > policy.retries) return { action: 'next-url' };
  if ((error.code === 'E_CHECKSUM' || error.code === 'E_CORRUPT') && history.integrityFailures > policy.integrityRetries) {
    return { action: 'next-url' };
  }
  let delayMs: number;
  if (error instanceof HttpStatusError && error.retryAfterMs !== undefined) {
    if (error.retryAfterMs > policy.maxRetryAfterMs) return { action: 'next-url' };
    delayMs = Math.max(error.retryAfterMs, 0);
  } else {
    delayMs = backoffDelay(history.attempts, policy, random);
  }
  // A retry that would start after the package's time budget is not worth waiting for.
  if ((history.elapsedMs ?? 0) + delayMs > policy.maxTimeMs) return { action: 'next-url' };
  return { action: 'retry', delayMs };
}

/** Exponential backoff with full jitter: uniform in [0, min(max, base·2^(n-1))]. */
export function backoffDelay(attempt: number, policy: Pick<RetryPolicy, 'baseDelayMs' | 'maxDelayMs'>, random: () => number): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(random() * ceiling);
}

/** `Retry-After` as delta-seconds or an HTTP-date (RFC 9110 §10.2.3); undefined when absent or unparsable. */
export function parseRetryAfter(value: string | undefined, nowMs: number): number | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - nowMs);
}
