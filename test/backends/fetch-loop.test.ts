import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { fetchTask, type AttemptScope } from '../../src/backends/fetch-loop.js';
import type { FetchContext, StagedFile } from '../../src/types.js';
import { defaultDownloadOptions } from '../../src/config/options.js';
import { ChecksumMismatchError, PrefetchError, TransferLimitError } from '../../src/errors.js';
import { defaultRetryPolicy } from '../../src/net/retry-policy.js';
import { createRequestPolicy } from '../../src/net/request-policy.js';
import type { SettledTask } from '../../src/types.js';

const task: SettledTask = { packageName: 'acme/pkg', version: '1.0.0', distType: 'zip', urls: ['http://127.0.0.1:9/a.zip'], cacheKey: 'acme/pkg/x.zip', cachePath: '/nonexistent/acme/pkg/x.zip', expectedSha1: undefined, dev: false, origins: [], policy: createRequestPolicy({ secureHttp: false }) };
const staged: StagedFile = { path: '/nonexistent/x', bytes: 1, sha1: undefined, url: 'http://127.0.0.1:9/a.zip' };

function context(accept: FetchContext['accept'] = async () => undefined): FetchContext {
  return { signal: new AbortController().signal, options: defaultDownloadOptions, emit: () => undefined, accept };
}

const retry = (maxTimeMs: number) => ({ policy: { ...defaultRetryPolicy, baseDelayMs: 1, maxDelayMs: 1, maxTimeMs }, random: () => 0 });

/** Resolves when `scope.signal` aborts, rejecting with its reason (what a real transfer does). */
const untilAborted = (scope: AttemptScope): Promise<never> =>
  new Promise((_, reject) => scope.signal.addEventListener('abort', () => reject(scope.signal.reason as Error), { once: true }));

describe('fetchTask: the per-package deadline', () => {
  it('ends the attempt in flight with a TransferLimitError naming --retry-max-time and the URL', async () => {
    const result = await fetchTask(task, context(), retry(100), {
      attempt: (_url, _n, scope) => {
        scope.started();
        return untilAborted(scope);
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
    const result = await fetchTask(task, context(), retry(150), {
      attempt: async (_url, _n, scope) => {
        await sleep(250); // waiting for a slot behind other packages
        scope.started();
        await sleep(50);
        return staged;
      },
    });
    assert.equal(result.kind, 'downloaded');
  });

  it('a budget beyond what a timer can hold means no deadline (not an instant one)', async () => {
    const result = await fetchTask(task, context(), retry(40 * 24 * 3600 * 1000), {
      attempt: async (_url, _n, scope) => {
        scope.started();
        await Promise.race([sleep(50), untilAborted(scope)]);
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
