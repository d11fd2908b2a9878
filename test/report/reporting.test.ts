import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CacheStateError, ChecksumMismatchError, CorruptArchiveError, HttpStatusError, PrefetchError, TransferLimitError } from '../../src/errors.js';
import type { DownloadTask, Plan } from '../../src/types.js';
import { suggestMaxsize } from '../../src/report/cache-size.js';
import { failureCause, failureReason } from '../../src/report/failure-cause.js';
import { socketCause } from '../../src/net/network-error.js';
import { formatVerifySummary } from '../../src/report/format.js';
import { createNdjsonReporter } from '../../src/report/ndjson-reporter.js';
import { createOriginStats } from '../../src/report/origin-stats.js';
import { createPlainReporter } from '../../src/report/plain-reporter.js';
import { formatOverall, formatTransfer } from '../../src/report/bar-reporter.js';
import { createProgressState } from '../../src/report/progress-state.js';
import { checkEvent } from './report-schema.js';

function task(name: string, urls: [string, ...string[]] = [`https://example.org/${name}.zip`]): DownloadTask {
  return {
    packageName: name,
    version: '1.0.0',
    distType: 'zip',
    urls,
    cacheKey: `${name}/abc.zip`,
    cachePath: `/cache/files/${name}/abc.zip`,
    expectedSha1: undefined,
    dev: false,
    origins: ['composer.lock'],
  };
}

function plan(tasks: DownloadTask[]): Plan {
  return { cacheFilesDir: '/cache/files', tasks, skipped: [], invalid: [], warnings: [] };
}

const socketError = (code: string): PrefetchError => new PrefetchError('E_NETWORK', 'x: network error', { cause: Object.assign(new Error('boom'), { code }) });

describe('failureCause', () => {
  it('classifies by code, status and socket error', () => {
    assert.equal(failureCause(socketError('UND_ERR_CONNECT_TIMEOUT')), 'timeout');
    assert.equal(failureCause(socketError('UND_ERR_BODY_TIMEOUT')), 'timeout');
    assert.equal(failureCause(socketError('ECONNRESET')), 'reset');
    assert.equal(failureCause(socketError('ECONNREFUSED')), 'connect');
    assert.equal(failureCause(new HttpStatusError({ status: 404, url: 'https://x/', retryable: false })), 'http4xx');
    assert.equal(failureCause(new HttpStatusError({ status: 403, url: 'https://x/', retryable: false })), 'http4xx');
    assert.equal(failureCause(new HttpStatusError({ status: 502, url: 'https://x/', retryable: true })), 'http5xx');
    assert.equal(failureCause(new ChecksumMismatchError({ packageName: 'a/b', expected: '1', actual: '2' })), 'checksum');
    assert.equal(failureCause(new CorruptArchiveError({ packageName: 'a/b', archiveType: 'zip', reason: 'no EOCD' })), 'corrupt');
    // By what happened (the cause's code), never by the words of the message.
    assert.equal(
      failureCause(
        new PrefetchError('E_NETWORK', 'a/b: body ended after 3 of 9 bytes', { cause: socketCause('UND_ERR_RES_CONTENT_LENGTH_MISMATCH', 'short') }),
      ),
      'reset',
    );
    assert.equal(failureCause(new PrefetchError('E_NETWORK', 'a/b: connection reset, timed out, refused')), 'other');
    assert.equal(failureCause(new PrefetchError('E_CACHE', 'disk full')), 'other');
  });

  it('an ended bound is its own cause, named after its flag', () => {
    const maxSize = new TransferLimitError({
      packageName: 'a/b',
      url: 'https://x/',
      limit: { kind: 'max-size', option: '--max-size', limitBytes: 10, bytes: 11, declared: true },
      message: 'a/b: too big',
    });
    const deadline = new TransferLimitError({
      packageName: 'a/b',
      url: 'https://x/',
      limit: { kind: 'deadline', option: '--retry-max-time', limitMs: 1000 },
      message: 'a/b: too slow',
    });
    assert.deepEqual([failureCause(maxSize), failureReason(maxSize)], ['limit', 'larger than --max-size']);
    assert.deepEqual([failureCause(deadline), failureReason(deadline)], ['limit', 'not done within --retry-max-time']);
  });

  it('reads an HTTP status from the error, never from its words', () => {
    assert.equal(failureCause(new PrefetchError('E_NETWORK', 'a/b: proxy said HTTP 503 from somewhere')), 'other');
    const explained = new HttpStatusError({ status: 401, url: 'https://x/', retryable: false, message: 'x refused the configured credential' });
    assert.deepEqual([explained.message, failureCause(explained), failureReason(explained)], ['x refused the configured credential', 'http4xx', 'HTTP 401']);
  });
});

describe('verify summary', () => {
  it("tells missing from invalid archives by the error's state, not its words", () => {
    const failure = (error: CacheStateError) => ({
      packageName: error.packageName!,
      version: '1.0.0',
      url: undefined,
      code: error.code,
      message: error.message,
      hint: undefined,
      cacheState: error.state,
    });
    const missing = new CacheStateError({ packageName: 'a/gone', version: '1.0.0', state: 'missing', path: '/c/a/gone/x.zip' });
    // A reason that happens to contain the other state's words changes nothing.
    const invalid = new CacheStateError({ packageName: 'a/bad', version: '1.0.0', state: 'invalid', path: '/c/a/bad/x.zip', reason: 'entry missing' });
    const text = formatVerifySummary({
      backend: 'native',
      cacheFilesDir: '/c',
      planned: 3,
      downloaded: 0,
      cached: 1,
      skipped: 0,
      invalid: 0,
      failed: 2,
      unfinished: 0,
      bytes: 0,
      durationMs: 1,
      interrupted: false,
      failures: [failure(missing), failure(invalid)],
    });
    assert.match(text, /1 missing, 1 invalid/);
    assert.match(text, /missing {2}a\/gone 1\.0\.0/);
    assert.equal(invalid.message, 'a/bad 1.0.0: invalid archive at /c/a/bad/x.zip (entry missing)');
  });
});

describe('origin statistics', () => {
  it('counts requests, bytes, retries and failures by cause per origin', () => {
    let t = 0;
    const stats = createOriginStats(() => t);
    const a = task('acme/a', ['https://mirror.test/a.zip', 'https://github.test/a.zip']);
    const b = task('acme/b', ['https://github.test/b.zip']);
    stats.handle({ type: 'started', task: a, url: 'https://mirror.test/a.zip', attempt: 1 });
    stats.handle({ type: 'started', task: b, url: 'https://github.test/b.zip', attempt: 1 });
    t = 100;
    stats.handle({
      type: 'retried',
      task: a,
      url: 'https://mirror.test/a.zip',
      attempt: 1,
      delayMs: 0,
      error: new HttpStatusError({ status: 404, url: 'https://mirror.test/a.zip', retryable: false }),
    });
    stats.handle({ type: 'started', task: a, url: 'https://github.test/a.zip', attempt: 2 });
    t = 1100;
    stats.handle({ type: 'done', task: a, result: 'downloaded', bytes: 1000, url: 'https://github.test/a.zip' });
    stats.handle({ type: 'retried', task: b, url: 'https://github.test/b.zip', attempt: 1, delayMs: 10, error: socketError('ECONNRESET') });
    stats.handle({ type: 'started', task: b, url: 'https://github.test/b.zip', attempt: 2 });
    t = 2000;
    stats.handle({ type: 'failed', task: b, error: new HttpStatusError({ status: 503, url: 'https://github.test/b.zip', retryable: true }) });
    const [github, mirror] = stats.snapshot();
    assert.equal(github?.origin, 'https://github.test');
    assert.equal(github?.requests, 3);
    assert.equal(github?.bytes, 1000);
    assert.equal(github?.downloaded, 1);
    assert.equal(github?.retries, 1);
    assert.equal(github?.failures, 2);
    assert.equal(github?.failuresByCause.reset, 1);
    assert.equal(github?.failuresByCause.http5xx, 1);
    assert.equal(github?.activeMs, 2000);
    assert.equal(github?.bytesPerSecond, 500);
    assert.equal(mirror?.origin, 'https://mirror.test');
    assert.equal(mirror?.failuresByCause.http4xx, 1);
    assert.equal(mirror?.requests, 1);
  });

  it('counts nothing for verify failures, interruptions and cache refusals', () => {
    const stats = createOriginStats(() => 0);
    const a = task('acme/a');
    stats.handle({ type: 'failed', task: a, error: new PrefetchError('E_CACHE', 'missing') });
    stats.handle({ type: 'started', task: a, url: a.urls[0], attempt: 1 });
    stats.handle({ type: 'failed', task: a, error: new PrefetchError('E_ABORTED', 'interrupted') });
    stats.handle({ type: 'started', task: a, url: a.urls[0], attempt: 2 });
    stats.handle({ type: 'failed', task: a, error: new PrefetchError('E_CACHE', 'refusing to write through a link') });
    const [only] = stats.snapshot();
    assert.equal(only?.requests, 2);
    assert.equal(only?.failures, 0);
  });
});

describe('plain reporter', () => {
  const tasks = Array.from({ length: 500 }, (_, i) => task(`acme/p${i}`));

  it('prints a bounded number of lines for a big lock, none with control characters', () => {
    const lines: string[] = [];
    let tick: () => void = () => undefined;
    let t = 0;
    const reporter = createPlainReporter({
      write: (l) => lines.push(l),
      quiet: false,
      now: () => t,
      every: (_ms, fn) => {
        tick = fn;
        return () => undefined;
      },
    });
    reporter.handle({ type: 'planned', plan: plan(tasks) });
    reporter.handle({ type: 'checked', cacheFilesDir: '/cache/files', cached: 0, pending: tasks.length });
    for (const [i, x] of tasks.entries()) {
      t += 10;
      reporter.handle({ type: 'started', task: x, url: x.urls[0], attempt: 1 });
      reporter.handle({ type: 'progress', task: x, bytes: 500, total: 1000 });
      reporter.handle({ type: 'done', task: x, result: 'downloaded', bytes: 1000, url: x.urls[0] });
      if (i % 100 === 50) tick();
    }
    reporter.handle({ type: 'failed', task: tasks[0]!, error: new PrefetchError('E_HTTP', 'HTTP 404 from https://example.org/x') });
    reporter.close();
    assert.ok(lines.length <= 10, `${lines.length} lines`);
    assert.match(lines[0]!, /^Prefetching 500 archives into \/cache\/files$/);
    assert.ok(
      lines.some((l) => /^progress: \d+\/500 archives, .* at .*\/s/.test(l)),
      lines.join('\n'),
    );
    assert.ok(lines.some((l) => l.startsWith('failed: acme/p0 1.0.0: HTTP 404')));
    for (const l of lines) assert.doesNotMatch(l, /[\u0000-\u0009\u000b-\u001f\u007f]/);
  });

  it('prints only failures and warnings when quiet', () => {
    const lines: string[] = [];
    const reporter = createPlainReporter({ write: (l) => lines.push(l), quiet: true, every: () => assert.fail('no timer when quiet') });
    reporter.handle({ type: 'planned', plan: plan(tasks.slice(0, 2)) });
    reporter.handle({ type: 'retried', task: tasks[0]!, url: 'https://example.org/x', attempt: 1, delayMs: 5, error: socketError('ECONNRESET') });
    reporter.handle({ type: 'warning', message: 'plugin rewrites URLs' });
    reporter.close();
    assert.deepEqual(lines, ['warning: plugin rewrites URLs']);
  });
});

describe('GitHub Actions annotations', () => {
  it('turns failures and warnings into workflow commands, escaped to one line', () => {
    const lines: string[] = [];
    const reporter = createPlainReporter({ write: (l) => lines.push(l), quiet: true, annotations: 'github', every: () => () => undefined });
    const t = task('acme/a');
    reporter.handle({ type: 'planned', plan: plan([t]) });
    reporter.handle({ type: 'failed', task: t, error: new PrefetchError('E_HTTP', 'HTTP 404 from https://e.org/a.zip\n100% gone') });
    reporter.handle({ type: 'warning', message: 'cache over 300MiB' });
    reporter.close();
    assert.equal(lines.length, 2);
    assert.match(lines[0]!, /^::error title=composer-prefetch::acme\/a 1\.0\.0: .*HTTP 404 from https:\/\/e\.org\/a\.zip%0A100%25 gone$/);
    assert.equal(lines[1], '::warning title=composer-prefetch::cache over 300MiB');
  });
});

describe('progress state and bar lines', () => {
  it('tracks bytes in flight, largest transfers first, and an ETA from the bytes still to come', () => {
    let t = 0;
    const s = createProgressState(() => t);
    const [a, b, c] = [task('acme/a'), task('acme/b'), task('acme/c')];
    s.handle({ type: 'planned', plan: plan([a, b, c]) });
    s.handle({ type: 'started', task: a, url: a.urls[0], attempt: 1 });
    s.handle({ type: 'started', task: b, url: b.urls[0], attempt: 1 });
    t = 1000;
    s.handle({ type: 'progress', task: a, bytes: 100, total: 400 });
    s.handle({ type: 'progress', task: b, bytes: 300, total: 9000 });
    t = 2000;
    s.handle({ type: 'done', task: a, result: 'downloaded', bytes: 400, url: a.urls[0] });
    s.handle({ type: 'done', task: c, result: 'cached', bytes: 0, url: undefined });
    const snap = s.snapshot();
    assert.equal(snap.finished, 2);
    assert.equal(snap.bytes, 700);
    assert.equal(snap.inFlight[0]?.packageName, 'acme/b');
    // By bytes, not archives: 8700 B of acme/b still to come at 700 B in 2 s.
    assert.equal(Math.round(snap.etaMs ?? 0), 24857);
    assert.ok(snap.bytesPerSecond > 0);
    assert.match(formatOverall(snap), /2\/3 archives \| 700 B \| .*\/s \| ETA 25 s/);
    assert.match(formatTransfer(snap.inFlight[0]), /acme\/b 1\.0\.0 {2}300 B \/ 8\.8 KiB 3%/);
    assert.equal(formatTransfer(undefined), '');
  });
});

describe('ndjson events', () => {
  it('writes one parseable, schema-valid line per event, without credentials', () => {
    const out: string[] = [];
    const reporter = createNdjsonReporter({ write: (l) => out.push(l), now: () => 0 });
    const secret = 'https://user:hunter2@private.test/a.zip?access_token=hunter2';
    const a = task('acme/a', [secret]);
    reporter.handle({ type: 'planned', plan: plan([a]) });
    reporter.handle({ type: 'started', task: a, url: secret, attempt: 1 });
    reporter.handle({ type: 'progress', task: a, bytes: 1, total: undefined });
    reporter.handle({
      type: 'retried',
      task: a,
      url: secret,
      attempt: 1,
      delayMs: 3,
      error: new PrefetchError('E_NETWORK', `reset while downloading ${secret}`),
    });
    reporter.handle({ type: 'done', task: a, result: 'downloaded', bytes: 5, url: secret });
    reporter.handle({ type: 'failed', task: a, error: new HttpStatusError({ status: 500, url: secret, retryable: true }) });
    reporter.handle({ type: 'warning', message: `careful with ${secret}` });
    assert.equal(out.length, 7);
    for (const line of out) {
      assert.ok(line.endsWith('\n') && !line.slice(0, -1).includes('\n'));
      const event: unknown = JSON.parse(line);
      assert.deepEqual(checkEvent(event), []);
      assert.doesNotMatch(line, /hunter2/);
    }
  });
});

describe('cache size suggestion', () => {
  it('suggests a power of two in GiB with room to grow', () => {
    assert.equal(suggestMaxsize(100 * 1024 ** 2), '1GiB');
    assert.equal(suggestMaxsize(1.5 * 1024 ** 3), '4GiB');
  });

  it('the bar counts bytes once every size is known: 150 of 153 archives with most of the bytes to come is not a full bar', () => {
    let t = 0;
    const s = createProgressState(() => t);
    const tasks = Array.from({ length: 153 }, (_, i) => task(`acme/p${i}`));
    s.handle({ type: 'planned', plan: plan(tasks) });
    // Sizes unknown: the archive count it is.
    assert.equal(s.snapshot().byteFraction, undefined);
    for (const x of tasks.slice(0, 150)) {
      s.handle({ type: 'started', task: x, url: x.urls[0], attempt: 1 });
      t += 10;
      s.handle({ type: 'done', task: x, result: 'downloaded', bytes: 1000, url: x.urls[0] });
    }
    for (const x of tasks.slice(150)) {
      s.handle({ type: 'started', task: x, url: x.urls[0], attempt: 1 });
      s.handle({ type: 'progress', task: x, bytes: 0, total: 100_000 });
    }
    const snap = s.snapshot();
    assert.equal(snap.finished, 150);
    assert.equal(snap.byteFraction, 150_000 / 450_000);
    const bar = /^[█░]+/.exec(formatOverall(snap))![0];
    assert.equal([...bar].filter((c) => c === '█').length, 8, bar); // a third of 24, not 98 %
    // A transfer cut off (retry, interrupt) still counts in what was received.
    const last = tasks[152]!;
    s.handle({ type: 'progress', task: last, bytes: 40_000, total: 100_000 });
    t += 1000;
    s.handle({ type: 'failed', task: last, error: new PrefetchError('E_ABORTED', 'interrupted') });
    assert.equal(s.snapshot().received, 190_000);
    assert.equal(s.snapshot().bytes, 150_000);
    assert.equal(s.snapshot().transferMs, 1500);
  });
});
