import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fetchTask, type AttemptScope, type Clock } from '../../src/backends/fetch-loop.js';
import type { FetchContext, PrefetchEvent, StagedFile } from '../../src/types.js';
import { defaultDownloadOptions } from '../../src/config/options.js';
import { ChecksumMismatchError, PrefetchError, TransferLimitError } from '../../src/errors.js';
import { defaultRetryPolicy } from '../../src/net/retry-policy.js';
import { createRequestPolicy } from '../../src/net/request-policy.js';
import type { SettledTask } from '../../src/types.js';

const task: SettledTask = {
  packageName: 'acme/pkg',
  version: '1.0.0',
  distType: 'zip',
  urls: ['http://127.0.0.1:9/a.zip'],
  cacheKey: 'acme/pkg/x.zip',
  cachePath: '/nonexistent/acme/pkg/x.zip',
  expectedSha1: undefined,
  dev: false,
  origins: [],
  policy: createRequestPolicy({ secureHttp: false }),
};
const staged: StagedFile = { path: '/nonexistent/x', bytes: 1, sha1: undefined, url: 'http://127.0.0.1:9/a.zip' };

function context(accept: FetchContext['accept'] = async () => undefined): FetchContext {
  return { signal: new AbortController().signal, options: defaultDownloadOptions, emit: () => undefined, accept };
}

const retry = (maxTimeMs: number, clock?: Clock) => ({
  policy: { ...defaultRetryPolicy, baseDelayMs: 1, maxDelayMs: 1, maxTimeMs },
  random: () => 0,
  ...(clock ? { clock } : {}),
});

/** A clock that moves only when told to: `advance` fires the timers that fall due, in order. */
class FakeClock implements Clock {
  t = 0;
  readonly timers = new Set<{ at: number; fn: () => void }>();
  now(): number {
    return this.t;
  }
  after(ms: number, fn: () => void): () => void {
    const timer = { at: this.t + ms, fn };
    this.timers.add(timer);
    return () => void this.timers.delete(timer);
  }
  sleep(ms: number, signal: AbortSignal): Promise<void> {
    if (ms <= 0 || signal.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const cancel = this.after(ms, resolve);
      signal.addEventListener(
        'abort',
        () => {
          cancel();
          resolve();
        },
        { once: true },
      );
    });
  }
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    for (;;) {
      const due = [...this.timers].filter((x) => x.at <= end).sort((a, b) => a.at - b.at)[0];
      if (due === undefined) break;
      this.timers.delete(due);
      this.t = due.at;
      due.fn();
      await new Promise((r) => setImmediate(r));
    }
    this.t = end;
  }
}

/** Resolves when `scope.signal` aborts, rejecting with its reason (what a real transfer does). */
const untilAborted = (scope: AttemptScope): Promise<never> =>
  new Promise((_, reject) => scope.signal.addEventListener('abort', () => reject(scope.signal.reason as Error), { once: true }));

describe('fetchTask: the per-package deadline', () => {
  it('ends the attempt in flight with a TransferLimitError naming --retry-max-time and the URL', async () => {
    const clock = new FakeClock();
    const result = await fetchTask(task, context(), retry(100, clock), {
      attempt: async (_url, _n, scope) => {
        scope.started();
        const ended = untilAborted(scope);
        ended.catch(() => undefined); // rejects while the clock advances; returned below
        await clock.advance(100);
        return ended;
      },
    });
    assert.equal(result.kind, 'failed');
    if (result.kind !== 'failed') return;
    assert.ok(result.error instanceof TransferLimitError);
    assert.equal(result.error.code, 'E_LIMIT');
    assert.match(result.error.message, /--retry-max-time/);
    assert.ok(result.error.message.includes('http://127.0.0.1:9/a.zip'));
  });

  it('runs from the first real start: time queued before it does not count', async () => {
    const clock = new FakeClock();
    const result = await fetchTask(task, context(), retry(150, clock), {
      attempt: async (_url, _n, scope) => {
        await clock.advance(250); // waiting for a slot behind other packages
        scope.started();
        await clock.advance(50);
        return staged;
      },
    });
    assert.equal(result.kind, 'downloaded');
  });

  it('a budget beyond what a timer can hold means no deadline (not an instant one)', async () => {
    const clock = new FakeClock();
    const result = await fetchTask(task, context(), retry(40 * 24 * 3600 * 1000, clock), {
      attempt: async (_url, _n, scope) => {
        scope.started();
        assert.equal(clock.timers.size, 0, 'no deadline timer: setTimeout would fire such a delay at once');
        await Promise.race([clock.advance(50), untilAborted(scope)]);
        return staged;
      },
    });
    assert.equal(result.kind, 'downloaded');
  });

  it('tells the transfer when accept rejected what it staged, and only then', async () => {
    const rejected: string[] = [];
    let calls = 0;
    const result = await fetchTask(
      task,
      context(async () => {
        if (calls === 2) throw new ChecksumMismatchError({ packageName: 'acme/pkg', expected: 'a', actual: 'b' });
      }),
      retry(10_000),
      {
        attempt: async (_url, _n, scope) => {
          scope.started();
          calls++;
          if (calls === 1) throw new PrefetchError('E_NETWORK', 'reset', { retryable: true });
          return staged;
        },
        rejected: (_url, error) => void rejected.push(error.code),
      },
    );
    assert.equal(result.kind, 'downloaded');
    assert.deepEqual(rejected, ['E_CHECKSUM'], 'a transfer failure is not a rejection');
  });
});

describe('fetchTask: URLs, events and the final failure', () => {
  const mirrored: SettledTask = {
    ...task,
    urls: ['http://127.0.0.1:9/lock.zip', 'http://127.0.0.1:9/lock-mirror.zip'],
    downloadUrls: ['http://127.0.0.1:9/mirror.zip', 'http://127.0.0.1:9/lock.zip', 'http://127.0.0.1:9/lock-mirror.zip'],
  };
  const notFound = (url: string): PrefetchError => new PrefetchError('E_HTTP', `HTTP 404 from ${url}`, { url, retryable: false });

  it('tries each download URL in order, moving on when one cannot serve', async () => {
    const tried: string[] = [];
    const events: string[] = [];
    const ctx = { ...context(), emit: (e: PrefetchEvent) => void events.push(e.type) };
    const result = await fetchTask(mirrored, ctx, retry(10_000), {
      attempt: async (url, _n, scope) => {
        scope.started();
        tried.push(url.replace('http://127.0.0.1:9/', ''));
        if (url.endsWith('/mirror.zip')) throw notFound(url);
        return staged;
      },
    });
    assert.deepEqual(tried, ['mirror.zip', 'lock.zip']);
    assert.equal(result.kind, 'downloaded');
    assert.equal(result.attempts, 2);
    assert.deepEqual(events, ['retried', 'done']);
  });

  it("explains the final failure once, with the task's own policy, for the event and the result alike", async () => {
    let explained = 0;
    const policy = createRequestPolicy({
      secureHttp: false,
      explainFailure: (error) => {
        explained++;
        return new PrefetchError(error.code, `explained: ${error.message}`, { url: error.url });
      },
    });
    const failed: PrefetchError[] = [];
    const ctx = { ...context(), emit: (e: PrefetchEvent) => void (e.type === 'failed' && failed.push(e.error)) };
    const result = await fetchTask({ ...mirrored, policy }, ctx, retry(10_000), {
      attempt: async (url, _n, scope) => {
        scope.started();
        throw notFound(url);
      },
    });
    assert.equal(result.kind, 'failed');
    if (result.kind !== 'failed') return;
    assert.equal(explained, 1);
    assert.equal(failed.length, 1);
    assert.equal(failed[0], result.error);
    assert.equal(result.error.message, 'explained: HTTP 404 from http://127.0.0.1:9/lock-mirror.zip');
    assert.equal(result.attempts, 3);
  });

  it('an interrupt ends the package as aborted, without a failed event', async () => {
    const controller = new AbortController();
    const events: string[] = [];
    const ctx = { ...context(), signal: controller.signal, emit: (e: PrefetchEvent) => void events.push(e.type) };
    const result = await fetchTask(task, ctx, retry(10_000), {
      attempt: async (_url, _n, scope) => {
        scope.started();
        controller.abort();
        throw new PrefetchError('E_NETWORK', 'aborted', { retryable: true });
      },
    });
    assert.equal(result.kind, 'failed');
    if (result.kind === 'failed') assert.equal(result.error.code, 'E_ABORTED');
    assert.deepEqual(events, []);
  });
});
