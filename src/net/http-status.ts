import { HttpStatusError } from '../errors.js';
import { PROXY_AUTH_HINT } from './network-error.js';
import { isRetryableStatus, parseRetryAfter } from './retry-policy.js';

/** One HTTP answer that ended an attempt, as any transport saw it. */
export interface HttpAnswer {
  readonly status: number;
  /** The URL that answered (after redirects): the status rules depend on its host. */
  readonly url: URL;
  /** The raw `Retry-After` header, when there was one. */
  readonly retryAfter?: string | undefined;
  /** The raw `X-RateLimit-Remaining` / `X-RateLimit-Reset` headers (GitHub's API sends them). */
  readonly rateLimitRemaining?: string | undefined;
  readonly rateLimitReset?: string | undefined;
}

/**
 * The one place an HTTP status becomes an error, for every transport and for segments alike:
 * whether it is worth asking again depends on the host that answered (`isRetryableStatus`), a
 * 429/503 carries its Retry-After, and a 416 means our offset is stale (the next attempt starts
 * over, so it is retried). Pure; `nowMs` dates an HTTP-date Retry-After.
 */
export function statusFailure(answer: HttpAnswer, context: { readonly packageName: string; readonly shown: string; readonly nowMs: number }): HttpStatusError {
  const { status, url } = answer;
  const rateLimit = rateLimitOf(answer, context.nowMs);
  return new HttpStatusError({
    status,
    url: context.shown,
    packageName: context.packageName,
    // A used-up quota resets in up to an hour: asking again at once only spends more of it.
    retryable: rateLimit === undefined && (isRetryableStatus(status, url.hostname) || status === 416),
    rateLimit,
    retryAfterMs: status === 429 || status === 503 ? parseRetryAfter(answer.retryAfter, context.nowMs) : undefined,
    hint: statusHint(status, url),
  });
}

/**
 * GitHub's answer when an API quota is used up: 403 (or 429) with `X-RateLimit-Remaining: 0`, and
 * `X-RateLimit-Reset` in epoch seconds (what Composer's `GitHub::getRateLimit` reads).
 */
function rateLimitOf(answer: HttpAnswer, nowMs: number): HttpStatusError['rateLimit'] {
  if ((answer.status !== 403 && answer.status !== 429) || answer.rateLimitRemaining?.trim() !== '0') return undefined;
  const seconds = Number(answer.rateLimitReset);
  if (answer.rateLimitReset === undefined || !Number.isFinite(seconds) || seconds <= 0) return { resetAt: undefined, resetInMs: undefined };
  return { resetAt: new Date(seconds * 1000).toISOString(), resetInMs: Math.max(0, seconds * 1000 - nowMs) };
}

/** Whether a server pushed back (throttling, overload): the origin's gate should ease off. */
export function isPushback(status: number): boolean {
  return status === 429 || status === 503;
}

function statusHint(status: number, url: URL): string | undefined {
  if (status === 401 || status === 403) {
    return `${url.host} refused the request: add credentials for it to auth.json (e.g. "http-basic", "bearer" or "github-oauth" under "${url.host}") or COMPOSER_AUTH, and check that the token has not expired.`;
  }
  if (status === 407) return PROXY_AUTH_HINT;
  if (status === 404 || status === 410)
    return 'The archive is not at this URL: check the URL in the lock (`composer update <package>` refreshes it), the mirror, or whether a private repository needs credentials (some hosts answer 404 instead of 403).';
  return undefined;
}
