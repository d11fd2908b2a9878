import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Agent } from 'undici';
import { createNativeBackend } from '../../src/backends/native.js';
import { decideSplit, planSegments, planTail } from '../../src/backends/segmented.js';
import type { DownloadOptions, FetchContext } from '../../src/types.js';
import { acceptIntoCache } from '../../src/cache/commit.js';
import { defaultDownloadOptions } from '../../src/config/options.js';
import { createRequestPolicy } from '../../src/net/request-policy.js';
import type { DownloadTask } from '../../src/types.js';
import type { PrefetchEvent } from '../../src/types.js';
import { makeZip } from '../helpers/archives.js';
import { DistServer } from '../helpers/dist-server.js';
import { tempDir } from '../helpers/run.js';

// A 3 MiB zip of random (incompressible) bytes: above the 1 MiB split threshold used here.
const ZIP = makeZip([
  { name: 'pkg/', content: '' },
  { name: 'pkg/a.bin', content: randomBytes(2 * 1024 * 1024) },
  { name: 'pkg/b.bin', content: randomBytes(1024 * 1024 + 12345) },
]);
const ZIP_SHA1 = createHash('sha1').update(ZIP).digest('hex');
// splitProbeMs 0: split at the first response's headers (the mechanics); the probe has its own tests below.
const options: DownloadOptions = { ...defaultDownloadOptions, splitMinBytes: 1024 * 1024, splitSegments: 4, splitProbeMs: 0, retries: 3 };

describe('segmented downloads', () => {
  let server: DistServer;
  let root: { dir: string; cleanup: () => Promise<void> };
  let agent: Agent;
  let n = 0;

  before(async () => {
    server = await new DistServer().start();
    root = await tempDir('cp-seg-');
    agent = new Agent({ connections: 8 });
  });
  after(async () => {
    await agent.close();
    await server.stop();
    await root.cleanup();
  });

  /** Runs the native backend on one archive and returns what happened. */
  async function fetchOne(url: string, opts: DownloadOptions = options) {
    const cachePath = path.join(root.dir, 'files', 'vendor', `pkg${n++}`, `${ZIP_SHA1}.zip`);
    const task: DownloadTask = {
      packageName: 'vendor/pkg',
      version: '1.0.0.0',
      distType: 'zip',
      urls: [url],
      cacheKey: `vendor/pkg/${ZIP_SHA1}.zip`,
      cachePath,
      expectedSha1: ZIP_SHA1,
      dev: false,
      origins: ['composer.lock'],
    };
    const events: PrefetchEvent[] = [];
    const ctx: FetchContext = {
      signal: new AbortController().signal,
      options: opts,
      emit: (e) => events.push(e),
      accept: async (t, staged) => void (await acceptIntoCache(t, staged)),
    };
    const backend = createNativeBackend({ dispatcher: agent, random: () => 0 });
    const [result] = await backend.fetchAll([{ ...task, policy: createRequestPolicy({ secureHttp: false }) }], ctx);
    const leftovers = (await readdir(path.dirname(cachePath))).filter((f) => f.endsWith('.cp-tmp'));
    return { result: result!, cachePath, events, leftovers };
  }

  function rangeRequests(p: string) {
    return server.requests.filter((r) => r.path === p && typeof r.headers.range === 'string' && /^bytes=\d+-\d+$/.test(r.headers.range));
  }

  it('plans equal segments that cover the file exactly', () => {
    const segments = planSegments(10_000_001, 4);
    assert.equal(segments[0]!.start, 0);
    for (let i = 1; i < segments.length; i++) assert.equal(segments[i]!.start, segments[i - 1]!.end);
    assert.equal(segments.at(-1)!.end, 10_000_001);
  });

  it('only splits large, rangeable, validated, identity responses', () => {
    const ok = { 'content-length': String(8 << 20), 'accept-ranges': 'bytes', etag: '"x"' };
    assert.ok(decideSplit(200, ok, options));
    assert.equal(decideSplit(200, { ...ok, 'content-length': '1000' }, options), undefined);
    assert.equal(decideSplit(200, { ...ok, 'accept-ranges': 'none' }, options), undefined);
    assert.equal(decideSplit(200, { 'content-length': ok['content-length'], 'accept-ranges': 'bytes' }, options), undefined);
    assert.equal(decideSplit(200, { ...ok, etag: 'W/"weak"' }, options), undefined);
    assert.equal(decideSplit(200, { ...ok, 'content-encoding': 'gzip' }, options), undefined);
    assert.equal(decideSplit(206, ok, options), undefined);
    assert.equal(decideSplit(200, ok, { ...options, splitMinBytes: 0 }), undefined);
    assert.equal(decideSplit(200, ok, { ...options, splitSegments: 1 }), undefined);
  });

  it('plans a tail split only when the stream alone would still take over a second', () => {
    const MiB = 1024 * 1024;
    // 1 MiB in 250 ms of 20 MiB: 4.75 s left at that pace → split the rest into 4.
    const tail = planTail({ pos: MiB }, 20 * MiB, 4, 250);
    assert.ok(tail);
    assert.equal(tail.cut, MiB + Math.ceil((19 * MiB) / 4));
    assert.deepEqual(
      tail.segments.map((x) => x.index),
      [1, 2, 3],
    );
    assert.equal(tail.segments[0]!.start, tail.cut);
    assert.equal(tail.segments.at(-1)!.end, 20 * MiB);
    for (let i = 1; i < tail.segments.length; i++) assert.equal(tail.segments[i]!.start, tail.segments[i - 1]!.end);
    assert.equal(planTail({ pos: 18 * MiB }, 20 * MiB, 4, 250), undefined, 'nearly done: 28 ms left');
    assert.equal(planTail({ pos: 10 * MiB }, 20 * MiB, 4, 250), undefined, 'fast: 250 ms left');
    assert.ok(planTail({ pos: 0 }, 20 * MiB, 4, 250), 'nothing arrived yet: slow');
    assert.equal(planTail({ pos: 0 }, 700 * 1024, 4, 250), undefined, 'too small for two segments');
  });

  it('probing: a fast origin streams the big archive in one request', async () => {
    server.resetLog();
    const url = server.add('/probe-fast.zip', ZIP);
    const { result, cachePath } = await fetchOne(url, { ...options, splitProbeMs: 250 });
    assert.equal(result.kind, 'downloaded', JSON.stringify(result));
    assert.ok((await readFile(cachePath)).equals(ZIP));
    assert.equal(rangeRequests('/probe-fast.zip').length, 0);
  });

  it('probing: a slow stream hands its tail to segments and the file is still byte-identical', async () => {
    server.resetLog();
    // 32 KiB every 20 ms per connection (~1.6 MB/s): after 250 ms more than a second is left.
    const url = server.add('/probe-slow.zip', ZIP, { throttle: { bytes: 32 * 1024, ms: 20 } });
    const { result, cachePath, leftovers } = await fetchOne(url, { ...options, splitProbeMs: 250 });
    assert.equal(result.kind, 'downloaded', JSON.stringify(result));
    assert.ok((await readFile(cachePath)).equals(ZIP));
    assert.equal(rangeRequests('/probe-slow.zip').length, 3, 'the tail went to three more connections');
    assert.deepEqual(leftovers, []);
  });

  it('fetches the remainder in Range segments and commits a byte-identical, sha1-verified file', async () => {
    server.resetLog();
    const url = server.add('/big.zip', ZIP);
    const { result, cachePath, leftovers } = await fetchOne(url);
    assert.equal(result.kind, 'downloaded', JSON.stringify(result));
    assert.ok((await readFile(cachePath)).equals(ZIP));
    assert.equal(rangeRequests('/big.zip').length, 3, 'three extra segments');
    for (const r of rangeRequests('/big.zip')) assert.equal(r.headers['if-range'], `"${ZIP.length}-${'/big.zip'.length}"`);
    assert.deepEqual(leftovers, []);
  });

  it('many segments raise no MaxListenersExceededWarning (one abort listener per segment is by design)', async () => {
    const warnings: Error[] = [];
    const onWarning = (w: Error): void => void warnings.push(w);
    process.on('warning', onWarning);
    try {
      const url = server.add('/many.zip', ZIP);
      const { result } = await fetchOne(url, { ...options, splitSegments: 24 });
      assert.equal(result.kind, 'downloaded', JSON.stringify(result));
      await new Promise((r) => setImmediate(r));
    } finally {
      process.off('warning', onWarning);
    }
    assert.deepEqual(
      warnings.map((w) => w.name),
      [],
    );
  });

  it('retries a segment that is reset mid-way, alone, and still lands the right bytes', async () => {
    server.resetLog();
    const url = server.add('/reset.zip', ZIP);
    let ranged = 0;
    server.intercept = (req) => {
      // The second Range request (a middle segment) is cut after 100 KiB.
      if (req.url === '/reset.zip' && /^bytes=\d+-\d+$/.test(req.headers.range ?? '') && ++ranged === 2) {
        server.fault('/reset.zip', { kind: 'reset-mid-body', afterBytes: 100 * 1024 });
      }
      return false;
    };
    try {
      const { result, cachePath, events, leftovers } = await fetchOne(url);
      assert.equal(result.kind, 'downloaded', JSON.stringify(result));
      assert.ok((await readFile(cachePath)).equals(ZIP));
      // A segment retried alone is no package retry (issue 19: those were counted as failed
      // package attempts); every request it took is reported as the exchange it was.
      assert.equal(events.filter((e) => e.type === 'retried').length, 0, 'no package-level retry');
      // 1 full GET + 3 segments + 1 segment retry: nothing else was fetched again.
      assert.equal(
        server.hits((p) => p === '/reset.zip'),
        5,
      );
      assert.equal(events.filter((e) => e.type === 'exchange').length, 5, 'each request reported once');
      const retried = rangeRequests('/reset.zip').at(-1)!;
      const start = Number(/^bytes=(\d+)-/.exec(retried.headers.range as string)![1]);
      assert.ok(start % Math.floor(ZIP.length / 4) >= 100 * 1024 || start > 0, 'the retry resumes inside its segment');
      assert.deepEqual(leftovers, []);
    } finally {
      server.intercept = undefined;
    }
  });

  it('recovers when the first (un-ranged) stream is reset', async () => {
    server.resetLog();
    const url = server.add('/first-reset.zip', ZIP);
    server.fault('/first-reset.zip', { kind: 'reset-mid-body', afterBytes: 64 * 1024 });
    const { result, cachePath } = await fetchOne(url);
    assert.equal(result.kind, 'downloaded', JSON.stringify(result));
    assert.ok((await readFile(cachePath)).equals(ZIP));
  });

  it('falls back to one stream when the origin does not do Range', async () => {
    server.resetLog();
    const url = server.add('/norange.zip', ZIP, { ranges: false });
    const { result, cachePath } = await fetchOne(url);
    assert.equal(result.kind, 'downloaded', JSON.stringify(result));
    assert.ok((await readFile(cachePath)).equals(ZIP));
    assert.equal(
      server.hits((p) => p === '/norange.zip'),
      1,
    );
  });

  it('falls back to one stream for a chunked response without Content-Length', async () => {
    server.resetLog();
    server.intercept = (req, res) => {
      if (req.url !== '/chunked.zip') return false;
      res.writeHead(200, { 'content-type': 'application/zip', 'accept-ranges': 'bytes', etag: '"c"' });
      // Several writes without a length: Node sends Transfer-Encoding: chunked.
      for (let i = 0; i < ZIP.length; i += 256 * 1024) res.write(ZIP.subarray(i, i + 256 * 1024));
      res.end();
      return true;
    };
    try {
      const { result, cachePath } = await fetchOne(`${server.origin}/chunked.zip`);
      assert.equal(result.kind, 'downloaded', JSON.stringify(result));
      assert.ok((await readFile(cachePath)).equals(ZIP));
      assert.equal(server.requests.filter((r) => r.path === '/chunked.zip').length, 1);
    } finally {
      server.intercept = undefined;
    }
  });

  it('starts over when the entity changes between segments (If-Range answered with 200)', async () => {
    server.resetLog();
    const url = server.add('/changed.zip', ZIP);
    // The first Range request is answered with the full body, as a server does when If-Range no longer matches.
    let first = true;
    server.intercept = (req) => {
      if (req.url === '/changed.zip' && req.headers.range !== undefined && first) {
        first = false;
        server.fault('/changed.zip', { kind: 'ignore-range' });
      }
      return false;
    };
    try {
      const { result, cachePath, leftovers } = await fetchOne(url);
      assert.equal(result.kind, 'downloaded', JSON.stringify(result));
      assert.ok(result.attempts >= 2, 'the archive was started over');
      assert.ok((await readFile(cachePath)).equals(ZIP));
      assert.deepEqual(leftovers, []);
    } finally {
      server.intercept = undefined;
    }
  });
});
