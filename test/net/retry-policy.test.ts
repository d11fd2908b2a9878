import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ChecksumMismatchError, HttpStatusError, PrefetchError } from '../../src/errors.js';
import { backoffDelay, decideRetry, defaultRetryPolicy, isRetryableStatus, parseRetryAfter } from '../../src/net/retry-policy.js';

const policy = { ...defaultRetryPolicy, retries: 3, integrityRetries: 1, baseDelayMs: 100, maxDelayMs: 1000, maxRetryAfterMs: 5000 };
const http = (status: number, retryAfterMs?: number) => new HttpStatusError({ status, url: 'https://x/y', retryable: isRetryableStatus(status), retryAfterMs });

describe('retry policy', () => {
  it('retries throttling, timeouts and server errors, never 401/403/404/410', () => {
    for (const s of [408, 425, 429, 500, 502, 503, 504]) assert.equal(isRetryableStatus(s), true, String(s));
    for (const s of [400, 401, 403, 404, 410]) assert.equal(isRetryableStatus(s), false, String(s));
    assert.equal(isRetryableStatus(400, 'codeload.github.com'), true, "codeload's sticky 400");
    assert.equal(isRetryableStatus(400, 'api.github.com'), false);
    for (const s of [401, 403, 404, 410])
      assert.deepEqual(
        decideRetry(http(s), { attempts: 1, integrityFailures: 0 }, policy, () => 0.5),
        { action: 'next-url' },
      );
  });

  it('backs off exponentially with full jitter, capped', () => {
    assert.equal(
      backoffDelay(1, policy, () => 1),
      100,
    );
    assert.equal(
      backoffDelay(2, policy, () => 1),
      200,
    );
    assert.equal(
      backoffDelay(3, policy, () => 1),
      400,
    );
    assert.equal(
      backoffDelay(10, policy, () => 1),
      1000,
    );
    assert.equal(
      backoffDelay(3, policy, () => 0),
      0,
    );
    assert.equal(
      backoffDelay(3, policy, () => 0.5),
      200,
    );
  });

  it('stops after the retry budget and moves on to the next URL', () => {
    const network = new PrefetchError('E_NETWORK', 'reset', { retryable: true });
    assert.equal(decideRetry(network, { attempts: 3, integrityFailures: 0 }, policy, () => 0).action, 'retry');
    assert.equal(decideRetry(network, { attempts: 4, integrityFailures: 0 }, policy, () => 0).action, 'next-url');
  });

  it('retries a bad sha1 only integrityRetries times', () => {
    const bad = new ChecksumMismatchError({ packageName: 'a/b', expected: 'x', actual: 'y' });
    assert.equal(decideRetry(bad, { attempts: 1, integrityFailures: 1 }, policy, () => 0).action, 'retry');
    assert.equal(decideRetry(bad, { attempts: 2, integrityFailures: 2 }, policy, () => 0).action, 'next-url');
  });

  it('honours Retry-After, but not beyond the cap', () => {
    assert.deepEqual(
      decideRetry(http(429, 2000), { attempts: 1, integrityFailures: 0 }, policy, () => 0),
      { action: 'retry', delayMs: 2000 },
    );
    assert.deepEqual(
      decideRetry(http(503, 60_000), { attempts: 1, integrityFailures: 0 }, policy, () => 0),
      { action: 'next-url' },
    );
  });

  it('parses Retry-After as seconds or an HTTP date', () => {
    const now = Date.parse('2026-11-22T00:00:00Z');
    assert.equal(parseRetryAfter('3', now), 3000);
    assert.equal(parseRetryAfter('Sun, 22 Nov 2026 00:00:05 GMT', now), 5000);
    assert.equal(parseRetryAfter('Sat, 21 Nov 2026 00:00:05 GMT', now), 0);
    assert.equal(parseRetryAfter('soon', now), undefined);
    assert.equal(parseRetryAfter(undefined, now), undefined);
  });
});
