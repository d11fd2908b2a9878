/**
 * Issue 28 (items 6 and 9): the packages installed from git are reported like archives, in every
 * output: on the bar and in plain progress lines, in the summary's counts, in `--json` and ndjson,
 * and under their host in the per-origin statistics (ssh:// and scp-like URLs included).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PrefetchError } from '../../src/errors.js';
import { formatOverall, formatTransfer } from '../../src/report/bar-reporter.js';
import { failureHost, formatSummary } from '../../src/report/format.js';
import { buildJsonReport } from '../../src/report/json-report.js';
import { createNdjsonReporter } from '../../src/report/ndjson-reporter.js';
import { createOriginStats, originOf } from '../../src/report/origin-stats.js';
import { createPlainReporter } from '../../src/report/plain-reporter.js';
import { createProgressState } from '../../src/report/progress-state.js';
import type { DownloadTask, Plan, PrefetchEvent, Summary } from '../../src/types.js';
import { gitMirrorEntries, mirrorDownloadTask, withSources, type SourceOutcome } from '../../src/vcs/mirror-report.js';
import type { MirrorTask } from '../../src/vcs/plan-mirrors.js';
import { check, checkEvent, gitEntryShape, reportShape } from './report-schema.js';

const archive: DownloadTask = {
  packageName: 'acme/zip',
  version: '1.0.0',
  distType: 'zip',
  urls: ['https://example.org/zip.zip'],
  cacheKey: 'acme/zip/abc.zip',
  cachePath: '/cache/files/acme/zip/abc.zip',
  expectedSha1: undefined,
  dev: false,
  origins: ['composer.lock'],
};
const mirror = (name: string, url: string, refs = [name]): MirrorTask => ({
  url,
  dir: `/cache/vcs/${url.replace(/[^a-z0-9.]/gi, '-')}`,
  refs: refs.map((packageName) => ({ packageName, version: 'dev-main', reference: 'a'.repeat(40), dev: false, origin: 'composer.lock' })),
});
const plan = (tasks: DownloadTask[], skipped: Plan['skipped'] = []): Plan => ({ cacheFilesDir: '/cache/files', tasks, skipped, invalid: [], warnings: [] });
const summary = (over: Partial<Summary> = {}): Summary => ({
  backend: 'native',
  cacheFilesDir: '/cache/files',
  planned: 1,
  downloaded: 1,
  cached: 0,
  skipped: 2,
  invalid: 0,
  failed: 0,
  unfinished: 0,
  bytes: 1000,
  durationMs: 1000,
  failures: [],
  interrupted: false,
  ...over,
});

describe('git mirrors in the progress reporters', () => {
  const one = mirror('acme/one', 'https://git.example/one.git');
  const two = mirror('acme/two', 'ssh://git@git.example:2222/two.git');
  const tasks = [one, two].map((t) => mirrorDownloadTask(t, t.refs[0]!));

  it('counts them apart from the archives, shows them in flight, and keeps the ETA to the archives', () => {
    const state = createProgressState(() => 0);
    state.handle({ type: 'planned', plan: plan([archive]) });
    state.handle({ type: 'done', task: archive, result: 'downloaded', bytes: 1000, url: archive.urls[0] });
    state.handle({ type: 'mirrors', tasks });
    state.handle({ type: 'started', task: tasks[0]!, url: tasks[0]!.urls[0], attempt: 1 });
    let s = state.snapshot();
    assert.deepEqual([s.total, s.finished, s.git], [1, 1, { total: 2, finished: 0, failed: 0 }]);
    assert.equal(s.etaMs, undefined, 'git tells no size: no ETA while mirrors remain');
    assert.equal(s.inFlight[0]?.vcs, 'git');
    assert.match(formatTransfer(s.inFlight[0]), /acme\/one dev-main {2}git$/);
    assert.match(formatOverall(s), / 1\/1 archives, 0\/2 from git \|/);
    state.handle({ type: 'done', task: tasks[0]!, result: 'downloaded', bytes: 4096, url: tasks[0]!.urls[0] });
    state.handle({ type: 'failed', task: tasks[1]!, error: new PrefetchError('E_AUTH', 'denied') });
    s = state.snapshot();
    assert.deepEqual(s.git, { total: 2, finished: 2, failed: 1 });
    assert.equal(s.downloaded, 1, 'archives only');
    assert.equal(s.failed, 1, 'a failed mirror is a failed package');
    assert.equal(s.bytes, 5096);
    assert.equal(s.etaMs, 0);
  });

  it('plain mode: announces the git stage and keeps printing progress lines until the last mirror is done', () => {
    const lines: string[] = [];
    let tick: () => void = () => assert.fail('no timer');
    const reporter = createPlainReporter({
      write: (l) => lines.push(l),
      quiet: false,
      now: () => 0,
      every: (_ms, fn) => {
        tick = fn;
        return () => undefined;
      },
    });
    reporter.handle({ type: 'planned', plan: plan([archive]) });
    reporter.handle({ type: 'checked', cacheFilesDir: '/cache/files', cached: 1, pending: 0 });
    reporter.handle({ type: 'done', task: archive, result: 'cached', bytes: 0, url: undefined });
    tick();
    assert.equal(lines.filter((l) => l.startsWith('progress:')).length, 0, 'nothing to report between archives and mirrors');
    reporter.handle({ type: 'mirrors', tasks });
    assert.equal(lines.at(-1), 'Checking 2 git mirrors for packages installed from source; each one lacking a locked commit is cloned or updated');
    reporter.handle({ type: 'started', task: tasks[0]!, url: tasks[0]!.urls[0], attempt: 1 });
    tick();
    assert.match(lines.at(-1)!, /^progress: 1\/1 archives, 0\/2 from git \(1 cached\), 0 B at 0 B\/s, 1 in flight$/);
    tick();
    assert.match(lines.at(-1)!, /1 in flight \(waiting\)$/, 'a stall still prints, marked as waiting');
    reporter.handle({ type: 'done', task: tasks[0]!, result: 'downloaded', bytes: 10, url: tasks[0]!.urls[0] });
    reporter.handle({ type: 'done', task: tasks[1]!, result: 'cached', bytes: 0, url: undefined });
    const before = lines.length;
    tick();
    assert.equal(lines.length, before, 'silent once everything is done');
    reporter.close();
  });

  it('counts packages sharing one repository once each, and says so', () => {
    const shared = mirror('acme/a', 'https://git.example/mono.git', ['acme/a', 'acme/b']);
    const lines: string[] = [];
    const reporter = createPlainReporter({ write: (l) => lines.push(l), quiet: false, every: () => () => undefined });
    reporter.handle({ type: 'mirrors', tasks: shared.refs.map((r) => mirrorDownloadTask(shared, r)) });
    assert.equal(lines[0], 'Checking 1 git mirror (2 packages) for packages installed from source; each one lacking a locked commit is cloned or updated');
  });

  it('ndjson streams the mirror plan in its schema', () => {
    const lines: string[] = [];
    const ndjson = createNdjsonReporter({ write: (l) => lines.push(l), now: () => 0 });
    ndjson.handle({ type: 'mirrors', tasks });
    const event = JSON.parse(lines[0]!) as { packages: { url: string; cacheKey: string }[] };
    assert.deepEqual(checkEvent(event), []);
    assert.deepEqual(
      event.packages.map((p) => p.url),
      ['https://git.example/one.git', 'ssh://***@git.example:2222/two.git'],
    );
  });
});

describe('git hosts in the per-origin statistics', () => {
  it('ssh:// and scp-like URLs have a host, not "null"', () => {
    assert.equal(originOf('ssh://git@git.example:2222/x.git'), 'ssh://git.example:2222');
    assert.equal(originOf('git@github.com:acme/x.git'), 'ssh://github.com');
    assert.equal(originOf('github.com:acme/x.git'), 'ssh://github.com');
    assert.equal(originOf('https://u@git.example/x.git'), 'https://git.example');
    assert.equal(originOf('not a url'), 'not a url');
    assert.equal(failureHost('git@github.com:acme/x.git'), 'github.com');
    assert.equal(failureHost('github.com:acme/x.git'), 'github.com');
    assert.equal(failureHost('https://example.org/a.zip'), 'example.org');
    assert.equal(failureHost('ssh://git@git.example:2222/x.git'), 'git.example:2222');
  });

  it('a clone over ssh is counted under its host', () => {
    const t = mirror('acme/s', 'ssh://git@git.example:2222/s.git');
    const task = mirrorDownloadTask(t, t.refs[0]!);
    const stats = createOriginStats(() => 0);
    const events: PrefetchEvent[] = [
      { type: 'started', task, url: task.urls[0], attempt: 1 },
      { type: 'done', task, result: 'downloaded', bytes: 2048, url: task.urls[0] },
    ];
    for (const e of events) stats.handle(e);
    assert.deepEqual(
      stats.snapshot().map((o) => [o.origin, o.requests, o.downloaded, o.bytes]),
      [['ssh://git.example:2222', 1, 1, 2048]],
    );
  });
});

describe('git mirrors in the summary and --json', () => {
  const cloned = mirror('acme/cloned', 'https://git.example/cloned.git', ['acme/cloned', 'acme/cloned-too']);
  const updated = mirror('acme/updated', 'https://git.example/updated.git');
  const cached = mirror('acme/cached', 'https://git.example/cached.git');
  const failed = mirror('acme/failed', 'https://ci:secret@git.example/failed.git');
  const error = new PrefetchError('E_NETWORK', 'git clone --mirror of https://git.example/failed.git failed: boom', { packageName: 'acme/failed' });
  const outcome: SourceOutcome = {
    plans: [{ cacheVcsDir: '/cache/vcs', tasks: [cloned, updated, cached, failed], skipped: [] }],
    results: [
      { kind: 'cloned', task: cloned, bytes: 5000, attempts: 1, durationMs: 10, missing: [] },
      { kind: 'updated', task: updated, bytes: undefined, attempts: 1, durationMs: 10, missing: [] },
      { kind: 'cached', task: cached },
      { kind: 'failed', task: failed, error, attempts: 2 },
    ],
    gitMissing: false,
    failures: [
      {
        vcs: 'git',
        packageName: 'acme/failed',
        version: 'dev-main',
        url: 'https://git.example/failed.git',
        code: error.code,
        message: error.message,
        hint: undefined,
      },
    ],
  };
  const skipped: Plan['skipped'] = [
    { packageName: 'acme/cloned', version: 'dev-main', reason: 'no-dist', origin: 'composer.lock' },
    { packageName: 'acme/meta', version: '1.0.0', reason: 'metapackage', origin: 'composer.lock' },
  ];

  it('a cloned or updated mirror counts as downloaded, never as skipped; unknown sizes are said', () => {
    const counted = withSources(plan([archive], skipped), summary(), outcome);
    assert.deepEqual(
      counted.plan.skipped.map((s) => s.packageName),
      ['acme/meta'],
    );
    const s = counted.summary;
    assert.deepEqual([s.planned, s.downloaded, s.cached, s.skipped, s.failed, s.bytes], [1 + 5, 1 + 3, 1, 1, 1, 1000 + 5000]);
    assert.deepEqual(s.git, { planned: 5, downloaded: 3, cached: 1, failed: 1, bytes: 5000, bytesUnknown: 1 });
    const text = formatSummary(s);
    assert.match(text, /^Done: 4 downloaded \(5\.9 KiB \+ 1 git mirror of unknown size, [^)]+\), 1 already cached, 1 skipped, 1 failed in /m);
    assert.match(text, /acme\/failed dev-main: git clone --mirror/);
  });

  it('--json has one entry per mirror package, with its folder, result, error and no credential', () => {
    const counted = withSources(plan([archive], skipped), summary(), outcome);
    const report = buildJsonReport({
      command: 'prefetch',
      version: '0.0.0',
      plan: counted.plan,
      summary: counted.summary,
      outcomeOf: () => undefined,
      gitMirrors: gitMirrorEntries(outcome, 'fetch'),
      origins: [],
      cacheSize: undefined,
      warnings: [],
    });
    assert.deepEqual(check(report, reportShape), []);
    const packages = report['packages'] as Record<string, unknown>[];
    assert.equal(packages[0]!['kind'], 'dist');
    const git = packages.filter((p) => p['kind'] === 'git');
    for (const entry of git) assert.deepEqual(check(entry, gitEntryShape), []);
    const byName = new Map(git.map((p) => [p['name'], p]));
    assert.deepEqual([...byName.keys()], ['acme/cloned', 'acme/cloned-too', 'acme/updated', 'acme/cached', 'acme/failed']);
    assert.deepEqual(
      git.map((p) => [p['status'], p['result'], p['bytes'], p['bytesKnown']]),
      [
        ['downloaded', 'cloned', 5000, true],
        ['downloaded', 'cloned', 0, true],
        ['downloaded', 'updated', 0, false],
        ['cached', 'cached', 0, true],
        ['failed', 'failed', 0, true],
      ],
    );
    assert.equal(byName.get('acme/cloned')!['cachePath'], cloned.dir);
    assert.equal(byName.get('acme/cloned')!['source'], 'https://git.example/cloned.git');
    assert.deepEqual(byName.get('acme/failed')!['error'], { code: 'E_NETWORK', message: error.message, hint: null });
    assert.equal(byName.get('acme/failed')!['url'], 'https://git.example/failed.git');
    // The folder is Composer's (`GitDownloader`: the URL as locked, credentials included); the URL is sanitized.
    assert.doesNotMatch(JSON.stringify(git.map((p) => [p['url'], p['source'], p['error']])), /secret/);
  });

  it('--dry-run --json lists the mirror plan; verify says which mirror misses its commit', () => {
    const dry = gitMirrorEntries({ ...outcome, results: [], failures: [] }, 'plan');
    assert.deepEqual(
      dry.map((e) => [e.task.packageName, e.status, e.result]),
      [
        ['acme/cloned', 'planned', undefined],
        ['acme/cloned-too', 'planned', undefined],
        ['acme/updated', 'planned', undefined],
        ['acme/cached', 'planned', undefined],
        ['acme/failed', 'planned', undefined],
      ],
    );
    const missing = new PrefetchError('E_CACHE', `no mirror at ${updated.dir}`, { packageName: 'acme/updated' });
    const verify = gitMirrorEntries({ ...outcome, results: [{ kind: 'failed', task: updated, error: missing, attempts: 0 }] }, 'check');
    assert.deepEqual(verify.find((e) => e.task.packageName === 'acme/updated')?.status, 'missing');
  });
});
