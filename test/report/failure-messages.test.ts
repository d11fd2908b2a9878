import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HttpStatusError, PrefetchError, toPrefetchError } from '../../src/errors.js';
import { parseInput } from '../../src/lockfile/parse-input.js';
import { planDownloads } from '../../src/plan/plan-downloads.js';
import type { DownloadTask, Plan } from '../../src/types.js';
import { createBarReporter } from '../../src/report/bar-reporter.js';
import { failureReason } from '../../src/report/failure-cause.js';
import { formatEta, formatSummary, groupFailures, listNames } from '../../src/report/format.js';
import { createPlainReporter } from '../../src/report/plain-reporter.js';
import { createProgressState } from '../../src/report/progress-state.js';
import type { FailedPackage, Summary } from '../../src/types.js';

function task(name: string, url = `http://127.0.0.1:19099/${name}.zip`): DownloadTask {
  return {
    packageName: name,
    version: '1.0.0',
    distType: 'zip',
    urls: [url],
    cacheKey: `${name}/k.zip`,
    cachePath: `/c/files/${name}/k.zip`,
    expectedSha1: undefined,
    dev: false,
    origins: ['composer.lock'],
  };
}
const plan = (tasks: DownloadTask[]): Plan => ({ cacheFilesDir: '/c/files', tasks, skipped: [], invalid: [], warnings: [] });
const refused = (t: DownloadTask): PrefetchError =>
  new PrefetchError('E_NETWORK', `${t.packageName}: connection refused while downloading ${t.urls[0]}`, {
    url: t.urls[0],
    cause: Object.assign(new Error('connect'), { code: 'ECONNREFUSED' }),
  });

function summary(failures: FailedPackage[], extra: Partial<Summary> = {}): Summary {
  return {
    backend: 'native',
    cacheFilesDir: '/c/files',
    planned: failures.length,
    downloaded: 0,
    cached: 0,
    skipped: 0,
    invalid: 0,
    failed: failures.length,
    unfinished: 0,
    bytes: 0,
    durationMs: 3500,
    failures,
    interrupted: false,
    ...extra,
  };
}
const failed = (t: DownloadTask, error: PrefetchError): FailedPackage => ({
  packageName: t.packageName,
  version: t.version,
  url: error.url,
  code: error.code,
  message: error.message,
  hint: error.hint,
  cause: 'connect',
  reason: failureReason(error),
});

describe('a server that is down: few lines, one grouped failure', () => {
  const tasks = Array.from({ length: 153 }, (_, i) => task(`acme/p${i}`));

  it('the plain reporter prints no retry lines and at most a few failures per reason and host', () => {
    const lines: string[] = [];
    const reporter = createPlainReporter({ write: (l) => lines.push(l), quiet: false, every: () => () => undefined });
    reporter.handle({ type: 'planned', plan: plan(tasks) });
    reporter.handle({ type: 'checked', cacheFilesDir: '/c/files', cached: 0, pending: tasks.length });
    for (const t of tasks) {
      for (let attempt = 1; attempt <= 4; attempt++) reporter.handle({ type: 'retried', task: t, url: t.urls[0], attempt, delayMs: 10, error: refused(t) });
      reporter.handle({ type: 'failed', task: t, error: refused(t) });
    }
    reporter.close();
    assert.equal(lines.length, 1 + 3 + 1, lines.join('\n'));
    assert.match(lines[4]!, /^\(more packages failing with connection refused at 127\.0\.0\.1:19099: named in the summary\)$/);
  });

  it('verbose shows every retry and failure', () => {
    const lines: string[] = [];
    const reporter = createPlainReporter({ write: (l) => lines.push(l), quiet: false, verbose: true, every: () => () => undefined });
    reporter.handle({ type: 'planned', plan: plan(tasks.slice(0, 5)) });
    for (const t of tasks.slice(0, 5)) {
      reporter.handle({ type: 'retried', task: t, url: t.urls[0], attempt: 1, delayMs: 10, error: refused(t) });
      reporter.handle({ type: 'failed', task: t, error: refused(t) });
    }
    assert.equal(lines.filter((l) => l.startsWith('retry 1: ')).length, 5);
    assert.equal(lines.filter((l) => l.startsWith('failed: ')).length, 5);
  });

  it('the summary groups them into one entry with guidance; past 50 names it says how many are not named and where to see them', () => {
    const text = formatSummary(summary(tasks.map((t) => failed(t, refused(t)))));
    const lines = text.split('\n');
    assert.equal(lines.length, 4, text);
    assert.equal(lines[2], '  ✗ 153 packages failed: connection refused at 127.0.0.1:19099 — is the host reachable? a proxy needed (HTTP_PROXY)?');
    const names = tasks
      .slice(0, 50)
      .map((t) => t.packageName)
      .join(', ');
    assert.equal(lines[3], `    ${names} and 103 more (-v prints each failure as it happens, --json lists every one)`);
  });

  it('a group of 8 names all 8: the live note promised the summary would', () => {
    const eight = tasks.slice(0, 8);
    const text = formatSummary(summary(eight.map((t) => failed(t, refused(t)))));
    for (const t of eight) assert.match(text, new RegExp(`\\b${t.packageName}\\b`), text);
    assert.doesNotMatch(text, /more/);
  });

  it('keeps different reasons or hosts apart, and a lone failure as it was', () => {
    const a = task('acme/a');
    const b = task('acme/b', 'http://other.test/b.zip');
    const entries = groupFailures([failed(a, refused(a)), failed(b, refused(b)), failed(tasks[0]!, refused(tasks[0]!))]);
    assert.equal(entries.length, 2);
    assert.ok('failures' in entries[0]! && entries[0].failures.length === 2);
    assert.equal(listNames(['x', 'y']), 'x, y');
  });

  it('a group in generic words shows its first failure in full, and the advice', () => {
    const cacheFailure = (t: DownloadTask): FailedPackage => {
      const error = new PrefetchError('E_CACHE', `refusing to write through /c/files/${t.packageName}: it leads to /elsewhere`, { hint: 'remove the link' });
      return {
        packageName: t.packageName,
        version: t.version,
        url: undefined,
        code: error.code,
        message: error.message,
        hint: error.hint,
        cause: 'other',
        reason: failureReason(error),
      };
    };
    const lines = formatSummary(summary(tasks.slice(0, 3).map(cacheFailure))).split('\n');
    assert.deepEqual(lines.slice(2), [
      '  ✗ 3 packages failed: cannot write to the cache',
      '    acme/p0, acme/p1, acme/p2',
      '    e.g. acme/p0 1.0.0: refusing to write through /c/files/acme/p0: it leads to /elsewhere',
      '    remove the link',
    ]);
  });

  it('the bar reporter logs a few, then one note', () => {
    const chunks: string[] = [];
    const stream = { write: (c: string) => chunks.push(c), isTTY: false } as unknown as NodeJS.WriteStream;
    const reporter = createBarReporter({ stream, quiet: true });
    reporter.handle({ type: 'planned', plan: plan(tasks) });
    for (const t of tasks) reporter.handle({ type: 'failed', task: t, error: refused(t) });
    reporter.close();
    assert.equal(chunks.length, 4, chunks.join(''));
  });
});

describe('an interrupt is not a failure', () => {
  it('progress counts unfinished packages apart, reporters print no line per package', () => {
    const [a, b, c] = [task('acme/a'), task('acme/b'), task('acme/c')];
    const state = createProgressState(() => 0);
    const lines: string[] = [];
    const reporter = createPlainReporter({ write: (l) => lines.push(l), quiet: false, every: () => () => undefined });
    for (const r of [state, reporter]) {
      r.handle({ type: 'planned', plan: plan([a, b, c]) });
      r.handle({ type: 'checked', cacheFilesDir: '/c/files', cached: 0, pending: 3 });
      r.handle({ type: 'done', task: a, result: 'downloaded', bytes: 10, url: a.urls[0] });
      for (const t of [b, c]) r.handle({ type: 'failed', task: t, error: new PrefetchError('E_ABORTED', `${t.packageName}: interrupted`) });
    }
    const snap = state.snapshot();
    assert.equal(snap.failed, 0);
    assert.equal(snap.unfinished, 2);
    assert.equal(snap.etaMs, 0);
    assert.deepEqual(lines, ['Prefetching 3 archives into /c/files']);
  });

  it('the summary says once how many were left and that a rerun fetches them', () => {
    const text = formatSummary(summary([], { interrupted: true, downloaded: 1, unfinished: 150, planned: 151 }));
    assert.match(text, /^Interrupted: 1 downloaded .*, 0 failed, 150 not fetched in /);
    assert.match(text, /150 packages were not fetched because the run was interrupted: run again to fetch them/);
    assert.doesNotMatch(text, /✗/);
  });
});

describe('messages that say what is wrong', () => {
  it('a Retry-After too long to wait is named, in hours', () => {
    const error = new HttpStatusError({ status: 429, url: 'https://repo.test/x.zip', retryable: true, retryAfterMs: 100_000_000 });
    assert.equal(error.message, 'HTTP 429 from https://repo.test/x.zip (Retry-After: ~28 h)');
    assert.match(error.hint ?? '', /asked to wait ~28 h/);
    assert.equal(failureReason(error), 'HTTP 429 (Retry-After: ~28 h)');
    assert.match(new HttpStatusError({ status: 503, url: 'u', retryable: true, retryAfterMs: 5000 }).message, /\(Retry-After: 5 s\)$/);
    assert.equal(new HttpStatusError({ status: 404, url: 'u', retryable: false }).message, 'HTTP 404 from u');
  });

  it('Node\'s bare "Invalid URL" names the (redacted) URL', () => {
    let thrown: unknown;
    try {
      new URL('http://u:abc/SECRET@host/x.zip');
    } catch (error) {
      thrown = error;
    }
    const error = toPrefetchError(thrown, 'E_NETWORK', { url: 'http://***@host/x.zip' });
    assert.equal(error.message, 'invalid URL (downloading http://***@host/x.zip)');
    assert.equal(error.retryable, false);
  });

  it('an unparsable dist.url is an invalid entry that names it, redacted', () => {
    const parsed = parseInput(
      { packages: [{ name: 'acme/a', version: '1.0.0', dist: { type: 'zip', url: 'http://u:abc/SECRET@host/x.zip', reference: 'r' } }] },
      'composer.lock',
    );
    const result = planDownloads([parsed], { cacheFilesDir: '/c/files', noDev: false, githubDomains: [], gitlabDomains: [] });
    assert.equal(result.tasks.length, 0);
    assert.equal(result.invalid[0]?.message, 'dist.url http://***@host/x.zip is not a valid URL');
  });

  it('a numeric version is read as Composer casts it; a missing or structured one says so', () => {
    const entry = (version: unknown): Record<string, unknown> => ({
      name: 'acme/a',
      ...(version === undefined ? {} : { version }),
      dist: { type: 'zip', url: 'https://h/a.zip', reference: 'r' },
    });
    const numeric = parseInput({ packages: [entry(1.5)] }, 'composer.lock');
    assert.equal(numeric.packages[0]?.version, '1.5');
    const structured = parseInput({ packages: [entry(['1.5'])] }, 'composer.lock');
    assert.equal(structured.problems[0]?.message, '"version" is an array where a string such as "1.5.0" belongs');
    const missing = planDownloads([parseInput({ packages: [entry(undefined)] }, 'composer.lock')], {
      cacheFilesDir: '/c/files',
      noDev: false,
      githubDomains: [],
      gitlabDomains: [],
    });
    assert.match(missing.invalid[0]?.message ?? '', /has no "version"/);
  });

  it('the ETA is shown in seconds', () => {
    assert.equal(formatEta(400), '1 s');
    assert.equal(formatEta(8_200), '9 s');
    assert.equal(formatEta(125_000), '2 min 5 s');
    assert.equal(formatEta(4_800_000), '1 h 20 min');
  });
});
