import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { Agent } from 'undici';
import { createNativeBackend } from '../../src/backends/native.js';
import type { FetchContext, TaskResult } from '../../src/types.js';
import { acceptIntoCache } from '../../src/cache/commit.js';
import { defaultDownloadOptions } from '../../src/config/options.js';
import { defaultRetryPolicy } from '../../src/net/retry-policy.js';
import { createRequestPolicy } from '../../src/net/request-policy.js';
import type { DownloadTask } from '../../src/types.js';
import type { PrefetchEvent } from '../../src/types.js';
import { composerPackageZip, makeZip } from '../helpers/archives.js';
import { DistServer } from '../helpers/dist-server.js';
import { tempDir } from '../helpers/run.js';

const sha1 = (b: Buffer): string => createHash('sha1').update(b).digest('hex');

/** A zip big enough that a mid-body reset leaves a real partial file (stored entries: no compression). */
function bigZip(name: string, kib = 256): Buffer {
  const filler = Buffer.alloc(kib * 1024);
  for (let i = 0; i < filler.length; i++) filler[i] = (i * 31 + name.length) & 0xff;
  return makeZip([
    { name: 'composer.json', content: JSON.stringify({ name }) },
    { name: 'data.bin', content: filler },
  ]);
}

describe('native backend: resume, restart, fresh connections, fail-fast, mirrors', () => {
  let server: DistServer;
  let root: string;
  let cleanup: () => Promise<void>;
  let agent: Agent;
  let events: PrefetchEvent[];
  /** Called with each event as the backend emits it (a test acts on what happened, not after a delay). */
  let onEvent: ((event: PrefetchEvent) => void) | undefined;

  before(async () => {
    server = await new DistServer().start();
    ({ dir: root, cleanup } = await tempDir('cp-resume-'));
  });
  after(async () => {
    await server.stop();
    await cleanup();
  });
  beforeEach(() => {
    server.resetLog();
    events = [];
    onEvent = undefined;
  });

  function task(name: string, urls: [string, ...string[]], expectedSha1: string | undefined): DownloadTask {
    const cacheKey = `${name}/${sha1(Buffer.from(urls[0]))}.zip`;
    return {
      packageName: name,
      version: '1.0.0',
      distType: 'zip',
      urls,
      cacheKey,
      cachePath: path.join(root, 'files', cacheKey),
      expectedSha1,
      dev: false,
      origins: ['test'],
    };
  }

  async function fetch(
    tasks: DownloadTask[],
    overrides: Partial<typeof defaultDownloadOptions> = {},
    signal = new AbortController().signal,
  ): Promise<TaskResult[]> {
    const options = { ...defaultDownloadOptions, retries: 4, connectTimeoutMs: 2000, headersTimeoutMs: 1000, stallTimeoutMs: 1000, ...overrides };
    agent = new Agent({
      connections: options.perOrigin,
      connect: { timeout: options.connectTimeoutMs },
      headersTimeout: options.headersTimeoutMs,
      bodyTimeout: options.stallTimeoutMs,
    });
    const backend = createNativeBackend({ dispatcher: agent, retryPolicy: { ...defaultRetryPolicy, baseDelayMs: 10, maxDelayMs: 50 } });
    const ctx: FetchContext = {
      signal,
      options,
      emit: (e) => {
        events.push(e);
        onEvent?.(e);
      },
      accept: async (t, staged) => void (await acceptIntoCache(t, staged)),
    };
    try {
      return await backend.fetchAll(
        tasks.map((t) => ({ ...t, policy: createRequestPolicy({ secureHttp: false }) })),
        ctx,
      );
    } finally {
      await agent.close();
    }
  }

  async function noTempFiles(t: DownloadTask): Promise<void> {
    const left = (await readdir(path.dirname(t.cachePath)).catch(() => [] as string[])).filter((n) => n.endsWith('.cp-tmp'));
    assert.deepEqual(left, [], 'no temp file left behind');
  }

  it('resumes after a mid-body reset with Range + If-Range: bytes and sha1 correct', async () => {
    const body = bigZip('acme/resume');
    const url = server.add('/resume.zip', body);
    server.fault('/resume.zip', { kind: 'reset-mid-body', afterBytes: 100_000 });
    const t = task('acme/resume', [url], sha1(body));
    const [result] = await fetch([t]);
    assert.equal(result?.kind, 'downloaded', JSON.stringify(result));
    const requests = server.requests.filter((r) => r.path === '/resume.zip');
    assert.equal(requests.length, 2);
    assert.equal(requests[1]?.status, 206, 'the retry asked only for the rest');
    assert.match(String(requests[1]?.headers.range), /^bytes=\d+-$/);
    assert.equal(requests[1]?.headers['if-range'], requests.length && `"${body.length}-${'/resume.zip'.length}"`);
    const start = Number(/^bytes=(\d+)-$/.exec(String(requests[1]?.headers.range))?.[1]);
    assert.ok(start > 0 && start <= 100_000, `resumed at ${start}`);
    const onDisk = await readFile(t.cachePath);
    assert.equal(onDisk.length, body.length);
    assert.equal(sha1(onDisk), sha1(body));
    await noTempFiles(t);
  });

  it('resumes after a truncated body with a full Content-Length', async () => {
    const body = bigZip('acme/trunc');
    const url = server.add('/trunc.zip', body);
    server.fault('/trunc.zip', { kind: 'truncate', afterBytes: 50_000 });
    const t = task('acme/trunc', [url], undefined); // no sha1 in the lock: the archive check must hold
    const [result] = await fetch([t]);
    assert.equal(result?.kind, 'downloaded', JSON.stringify(result));
    assert.equal(server.requests.filter((r) => r.path === '/trunc.zip')[1]?.status, 206);
    assert.equal(sha1(await readFile(t.cachePath)), sha1(body));
  });

  it('restarts cleanly when the server answers the Range request with 200', async () => {
    const body = bigZip('acme/norange');
    const url = server.add('/norange.zip', body);
    server.fault('/norange.zip', { kind: 'reset-mid-body', afterBytes: 120_000 });
    server.fault('/norange.zip', { kind: 'ignore-range' });
    const t = task('acme/norange', [url], sha1(body));
    const [result] = await fetch([t]);
    assert.equal(result?.kind, 'downloaded', JSON.stringify(result));
    const requests = server.requests.filter((r) => r.path === '/norange.zip');
    assert.equal(requests.length, 2);
    assert.ok(requests[1]?.headers.range, 'asked for a range');
    assert.equal(requests[1]?.status, 200, 'got the whole file');
    const onDisk = await readFile(t.cachePath);
    assert.equal(onDisk.length, body.length, 'not the old partial + a whole file');
    assert.equal(sha1(onDisk), sha1(body));
    await noTempFiles(t);
  });

  it('restarts when If-Range no longer matches (the file changed between attempts)', async () => {
    const body = bigZip('acme/changed');
    const url = server.add('/changed.zip', body, { headers: { etag: '"v1"' } });
    server.fault('/changed.zip', { kind: 'reset-mid-body', afterBytes: 80_000 });
    const t = task('acme/changed', [url], sha1(body));
    // The server's entity tag changes after the first response: If-Range "v1" must not match.
    const original = server.routes.get('/changed.zip')!;
    server.intercept = (req) => {
      if (req.url === '/changed.zip' && req.headers['if-range']) server.routes.set('/changed.zip', { ...original, headers: { etag: '"v2"' } });
      return false;
    };
    try {
      const [result] = await fetch([t]);
      assert.equal(result?.kind, 'downloaded', JSON.stringify(result));
    } finally {
      server.intercept = undefined;
    }
    const requests = server.requests.filter((r) => r.path === '/changed.zip');
    assert.equal(requests[1]?.status, 200);
    assert.equal(sha1(await readFile(t.cachePath)), sha1(body));
  });

  it('retries a corrupt 200 body and never lets it into the cache', async () => {
    const body = bigZip('acme/corrupt', 64);
    const url = server.add('/corrupt.zip', body);
    server.fault('/corrupt.zip', { kind: 'corrupt' }, 2);
    const t = task('acme/corrupt', [url], sha1(body));
    const [result] = await fetch([t]);
    assert.equal(result?.kind, 'downloaded');
    assert.equal(
      server.hits((p) => p === '/corrupt.zip'),
      3,
    );
    assert.equal(sha1(await readFile(t.cachePath)), sha1(body));
  });

  it('a retry goes out on a fresh connection', async () => {
    const body = composerPackageZip('acme/fresh', '1.0.0');
    const url = server.add('/fresh.zip', body);
    const warm = server.add('/warm.zip', composerPackageZip('acme/warm', '1.0.0'));
    server.fault('/fresh.zip', { kind: 'status', status: 502 }, 2);
    // One connection per origin, so without a fresh connection the retry would reuse the 502's socket.
    const results = await fetch([task('acme/warm', [warm], undefined), task('acme/fresh', [url], sha1(body))], { perOrigin: 1, concurrency: 1 });
    assert.deepEqual(
      results.map((r) => r.kind),
      ['downloaded', 'downloaded'],
    );
    const fresh = server.requests.filter((r) => r.path === '/fresh.zip');
    assert.equal(fresh.length, 3);
    const ports = fresh.map((r) => r.remotePort);
    assert.equal(new Set(ports).size, 3, `each attempt on its own connection: ${ports.join(',')}`);
  });

  it('honours Retry-After (seconds and HTTP-date) on 429/503 without holding the only slot', async () => {
    const slow = composerPackageZip('acme/throttled', '1.0.0');
    const other = composerPackageZip('acme/other', '1.0.0');
    const url = server.add('/throttled.zip', slow);
    const otherUrl = server.add('/other.zip', other);
    server.fault('/throttled.zip', { kind: 'status', status: 429, headers: { 'retry-after': '1' } });
    // The date is taken when the 503 is served (the first retry has slept ~1 s by then), so it is 1-2 s ahead however slow the machine.
    server.fault('/throttled.zip', { kind: 'status', status: 503, headers: () => ({ 'retry-after': new Date(Date.now() + 2000).toUTCString() }) });
    const t0 = Date.now();
    const results = await fetch([task('acme/throttled', [url], sha1(slow)), task('acme/other', [otherUrl], sha1(other))], { concurrency: 1, perOrigin: 1 });
    const elapsed = Date.now() - t0;
    assert.deepEqual(
      results.map((r) => r.kind),
      ['downloaded', 'downloaded'],
    );
    const retried = events.filter((e) => e.type === 'retried');
    assert.equal(retried.length, 2);
    assert.equal(retried[0]?.type === 'retried' && retried[0].delayMs, 1000);
    assert.ok(retried[1]?.type === 'retried' && retried[1].delayMs > 0 && retried[1].delayMs <= 2000);
    assert.ok(elapsed >= 1000, `waited ${elapsed} ms`);
    // The other package finished while the throttled one was sleeping (one global slot, one per origin).
    const order = server.requests.filter((r) => r.status === 200).map((r) => r.path);
    assert.deepEqual(order, ['/other.zip', '/throttled.zip']);
  });

  it('fails fast on 401/403/404/410 with a helpful hint, then tries the mirror', async () => {
    for (const status of [401, 403, 404, 410]) {
      server.resetLog();
      const p = `/gone-${status}.zip`;
      const url = server.add(p, composerPackageZip('acme/gone', '1.0.0'));
      server.fault(p, { kind: 'status', status }, 100);
      const t = task(`acme/gone${status}`, [url], undefined);
      const [result] = await fetch([t]);
      assert.equal(result?.kind, 'failed');
      assert.equal(
        server.hits((x) => x === p),
        1,
        `${status}: no retry`,
      );
      if (result?.kind === 'failed') {
        assert.match(result.error.hint ?? '', status < 404 ? /auth\.json/ : /URL/);
        assert.match(result.error.message, new RegExp(`HTTP ${status}`));
      }
    }
    const body = composerPackageZip('acme/mirrored', '1.0.0');
    const primary = server.add('/primary.zip', body);
    const mirror = server.add('/mirror.zip', body);
    server.fault('/primary.zip', { kind: 'status', status: 404 }, 100);
    const t = task('acme/mirrored', [primary, mirror], sha1(body));
    const [result] = await fetch([t]);
    assert.equal(result?.kind, 'downloaded');
    assert.equal(t.cacheKey.endsWith(`${sha1(Buffer.from(primary))}.zip`), true);
    assert.equal(sha1(await readFile(t.cachePath)), sha1(body), "lands under urls[0]'s cache key");
  });

  it('falls back to the mirror when the first URL keeps failing with 5xx', async () => {
    const body = composerPackageZip('acme/flaky', '1.0.0');
    const primary = server.add('/flaky.zip', body);
    const mirror = server.add('/flaky-mirror.zip', body);
    server.fault('/flaky.zip', { kind: 'status', status: 500 }, 100);
    const t = task('acme/flaky', [primary, mirror], sha1(body));
    const [result] = await fetch([t], { retries: 2 });
    assert.equal(result?.kind, 'downloaded');
    assert.equal(
      server.hits((p) => p === '/flaky.zip'),
      3,
      '1 + 2 retries',
    );
    assert.equal(
      server.hits((p) => p === '/flaky-mirror.zip'),
      1,
    );
  });

  it('cuts stalled headers and a stalled body by the stall timeouts, then succeeds', async () => {
    const body = bigZip('acme/stall', 64);
    const url = server.add('/stall.zip', body);
    server.fault('/stall.zip', { kind: 'stall-headers', ms: 3000 });
    server.fault('/stall.zip', { kind: 'stall-body', afterBytes: 10_000, ms: 3000 });
    const t0 = Date.now();
    const [result] = await fetch([task('acme/stall', [url], sha1(body))], { headersTimeoutMs: 300, stallTimeoutMs: 300 });
    assert.equal(result?.kind, 'downloaded', JSON.stringify(result));
    assert.ok(Date.now() - t0 < 2500, `took ${Date.now() - t0} ms`);
    // (The server logs a stalled request only when it answers, after the test: count our retries.)
    const causes = events.flatMap((e) => (e.type === 'retried' ? [e.error.message] : []));
    assert.equal(causes.length, 2, causes.join('\n'));
    assert.match(causes[0] ?? '', /no response headers in time/);
    assert.match(causes[1] ?? '', /transfer stalled/);
  });

  it('stops retrying when the per-package time budget is spent', async () => {
    const url = server.add('/budget.zip', composerPackageZip('acme/budget', '1.0.0'));
    server.fault('/budget.zip', { kind: 'status', status: 503, headers: { 'retry-after': '1' } }, 100);
    const t0 = Date.now();
    const [result] = await fetch([task('acme/budget', [url], undefined)], { retries: 10, retryMaxTimeMs: 1500 });
    assert.equal(result?.kind, 'failed');
    assert.equal(
      server.hits((p) => p === '/budget.zip'),
      2,
      'no retry started past the budget',
    );
    // The second Retry-After (1 s more, past the 1.5 s budget) is not waited for: one retry was
    // scheduled, and the run ended well before a second 1 s wait could have (however loaded the machine).
    assert.equal(events.filter((e) => e.type === 'retried').length, 1);
    assert.ok(Date.now() - t0 < 2000, `no second wait (${Date.now() - t0} ms)`);
  });

  it('an abort mid-transfer removes the partial file, and the package folder made for it', async () => {
    const body = bigZip('acme/abort', 256);
    const url = server.add('/abort.zip', body, { throttle: { bytes: 16 * 1024, ms: 50 } });
    const t = task('acme/abort', [url], sha1(body));
    const controller = new AbortController();
    onEvent = (e) => void (e.type === 'progress' && e.bytes > 0 && controller.abort());
    const [result] = await fetch([t], {}, controller.signal);
    assert.equal(result?.kind, 'failed');
    if (result?.kind === 'failed') assert.equal(result.error.code, 'E_ABORTED');
    await noTempFiles(t);
    // Nothing at all is left there: not a file, not the empty folder made for the temp file.
    await assert.rejects(readdir(path.dirname(t.cachePath)), { code: 'ENOENT' });
  });
});

describe('dead temp files', () => {
  it('a temp file of a dead pid in this pid namespace is removed at once; a live or foreign one is kept', async (t) => {
    const { cleanStaleTempFiles, isOwnerGone, ownerTag, tempPathFor } = await import('../../src/cache/temp-files.js');
    const { writeFile: write, readdir: list, readFile: read } = await import('node:fs/promises');
    const tag = ownerTag();
    if (tag === null) return t.skip('not Linux: only the age rule applies');
    const { dir, cleanup } = await tempDir('cp-dead-');
    try {
      // A pid no process can have, not the pid of a child that has exited: that pid is free once
      // the child is reaped, and the kernel may give it to any new process or thread before
      // cleanStaleTempFiles asks, which made the test depend on what else the machine was doing.
      // The kernel hands out pids below pid_max only, so pid_max itself is never one.
      const dead = (await read('/proc/sys/kernel/pid_max', 'utf8')).trim();
      assert.equal(isOwnerGone(Number(dead), tag), true, `pid ${dead} (pid_max) is not in use`);
      const target = path.join(dir, `${'ab'.repeat(20)}.zip`);
      const live = tempPathFor(target); // ours: alive
      const deadName = path.basename(live).replace(`.${process.pid}-`, `.${dead}-`);
      const foreign = deadName.replace(`.${tag}.`, '.00000000.');
      for (const name of [path.basename(live), deadName, foreign]) await write(path.join(dir, name), 'x');
      assert.equal(await cleanStaleTempFiles(dir, { olderThanMs: 60_000, removeDead: true }), 1);
      assert.deepEqual((await list(dir)).sort(), [path.basename(live), foreign].sort());
    } finally {
      await cleanup();
    }
  });
});
