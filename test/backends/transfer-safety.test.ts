import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { Agent } from 'undici';
import { createNativeBackend } from '../../src/backends/native.js';
import type { DownloadOptions, FetchContext, TaskResult } from '../../src/types.js';
import { acceptIntoCache } from '../../src/cache/commit.js';
import { defaultDownloadOptions } from '../../src/config/options.js';
import { RangeMismatchError, TransferLimitError } from '../../src/errors.js';
import { defaultRetryPolicy } from '../../src/net/retry-policy.js';
import { createRequestPolicy } from '../../src/net/request-policy.js';
import type { DownloadTask } from '../../src/types.js';
import type { PrefetchEvent } from '../../src/types.js';
import { HostileServer, sameSizePair, sendRange } from '../helpers/hostile-server.js';
import { tempDir } from '../helpers/run.js';

const sha1 = (b: Buffer): string => createHash('sha1').update(b).digest('hex');

describe('native backend: consistent ranges and bounded transfers', () => {
  let server: HostileServer;
  let root: string;
  let cleanup: () => Promise<void>;
  let events: PrefetchEvent[];
  let n = 0;

  before(async () => {
    server = await new HostileServer().start();
    ({ dir: root, cleanup } = await tempDir('cp-safety-'));
  });
  after(async () => {
    await server.stop();
    await cleanup();
  });
  beforeEach(() => {
    events = [];
  });

  function task(url: string, expectedSha1: string | undefined): DownloadTask {
    const name = `acme/p${n++}`;
    const cacheKey = `${name}/${sha1(Buffer.from(url))}.zip`;
    return {
      packageName: name,
      version: '1.0.0',
      distType: 'zip',
      urls: [url],
      cacheKey,
      cachePath: path.join(root, 'files', cacheKey),
      expectedSha1,
      dev: false,
      origins: ['test'],
    };
  }

  async function fetch(t: DownloadTask, overrides: Partial<DownloadOptions> = {}): Promise<TaskResult> {
    const options: DownloadOptions = {
      ...defaultDownloadOptions,
      retries: 4,
      connectTimeoutMs: 2000,
      headersTimeoutMs: 2000,
      stallTimeoutMs: 2000,
      splitMinBytes: 0,
      ...overrides,
    };
    const agent = new Agent({ connections: 8, bodyTimeout: options.stallTimeoutMs });
    const backend = createNativeBackend({ dispatcher: agent, retryPolicy: { ...defaultRetryPolicy, baseDelayMs: 10, maxDelayMs: 50 }, random: () => 0.5 });
    const ctx: FetchContext = {
      signal: new AbortController().signal,
      options,
      emit: (e) => events.push(e),
      accept: async (tk, staged) => void (await acceptIntoCache(tk, staged)),
    };
    try {
      const [result] = await backend.fetchAll([{ ...t, policy: createRequestPolicy({ secureHttp: false }) }], ctx);
      return result!;
    } finally {
      await agent.close();
    }
  }

  async function assertNoTempFile(t: DownloadTask): Promise<void> {
    const left = (await readdir(path.dirname(t.cachePath)).catch(() => [] as string[])).filter((f) => f.endsWith('.cp-tmp'));
    assert.deepEqual(left, [], 'no temp file left behind');
  }

  const retriedErrors = (): unknown[] => events.flatMap((e) => (e.type === 'retried' ? [e.error] : []));

  /**
   * The scenario: the first GET (ETag "v1") breaks halfway; the server ignores If-Range
   * and answers the Range with a 206 of another, same-size archive under `rangeHeaders`.
   */
  function resumeFromAnotherVersion(p: string, v1: Buffer, v2: Buffer, rangeHeaders: Record<string, string>): string {
    return server.route(p, (req, res, hit) => {
      if (req.headers.range !== undefined) return sendRange(req, res, v2, rangeHeaders);
      res.writeHead(200, { 'content-type': 'application/zip', 'accept-ranges': 'bytes', etag: '"v1"', 'content-length': String(v1.length) });
      if (hit.n > 1) return void res.end(v1);
      res.write(v1.subarray(0, v1.length >> 1), () => res.socket?.resetAndDestroy());
    });
  }

  for (const [label, headers] of [
    ['another ETag', { etag: '"v2"' }],
    ['no validator at all', {}],
    ['a weak form of the same ETag', { etag: 'W/"v1"' }],
  ] as const) {
    for (const locked of [true, false]) {
      it(`resume answered with a 206 carrying ${label} is never spliced (${locked ? 'lock sha1' : 'no sha1'})`, async () => {
        const [v1, v2] = sameSizePair(256);
        const p = `/resume-${n}.zip`;
        const t = task(resumeFromAnotherVersion(p, v1, v2, headers), locked ? sha1(v1) : undefined);
        const result = await fetch(t);
        assert.equal(result.kind, 'downloaded', JSON.stringify(result));
        assert.ok((await readFile(t.cachePath)).equals(v1), 'the cache holds v1, byte for byte');
        const hits = server.hitsOf(p);
        assert.equal(hits.length, 3, 'broken GET, discarded Range, whole GET');
        assert.equal(hits[1]!.ifRange, '"v1"');
        assert.equal(hits[2]!.range, undefined, 'the restart asked for the whole file');
        const mismatch = retriedErrors().find((e) => e instanceof RangeMismatchError);
        assert.ok(mismatch instanceof RangeMismatchError, 'reported as a range from another entity');
        assert.equal(mismatch.problem, headers.etag === undefined ? 'validator-missing' : 'validator-changed');
        assert.match(mismatch.message, new RegExp(`${p}.*fetched again whole`));
        await assertNoTempFile(t);
      });
    }
  }

  it('a resume keyed on Last-Modified (the ETag is weak) must get the same Last-Modified back', async () => {
    const [v1, v2] = sameSizePair(256);
    const p = '/resume-lm.zip';
    const lm1 = 'Tue, 02 Jan 2024 03:04:06 GMT';
    const url = server.route(p, (req, res, hit) => {
      if (req.headers.range !== undefined) return sendRange(req, res, v2, { etag: 'W/"v1"', 'last-modified': 'Wed, 03 Jan 2024 03:04:06 GMT' });
      res.writeHead(200, { 'accept-ranges': 'bytes', etag: 'W/"v1"', 'last-modified': lm1, 'content-length': String(v1.length) });
      if (hit.n > 1) return void res.end(v1);
      res.write(v1.subarray(0, 100_000), () => res.socket?.resetAndDestroy());
    });
    const t = task(url, undefined);
    const result = await fetch(t);
    assert.equal(result.kind, 'downloaded', JSON.stringify(result));
    assert.equal(server.hitsOf(p)[1]!.ifRange, lm1, 'If-Range carried Last-Modified, never the weak ETag');
    assert.ok((await readFile(t.cachePath)).equals(v1));
  });

  describe('split downloads', () => {
    const split: Partial<DownloadOptions> = { splitMinBytes: 1024 * 1024, splitSegments: 4, splitProbeMs: 0 };

    for (const [label, rangeHeaders, problem] of [
      ['a changed validator', { etag: '"v2"' }, 'validator-changed'],
      ['no validator', {}, 'validator-missing'],
    ] as const) {
      it(`segments answered under ${label} restart the archive whole, in one response`, async () => {
        const [v1, v2] = sameSizePair(3 * 1024);
        const p = `/split-${problem}.zip`;
        const url = server.route(p, (req, res) =>
          req.headers.range === undefined ? sendRange(req, res, v1, { etag: '"v1"' }) : sendRange(req, res, v2, rangeHeaders),
        );
        const t = task(url, undefined);
        const result = await fetch(t, split);
        assert.equal(result.kind, 'downloaded', JSON.stringify(result));
        assert.ok((await readFile(t.cachePath)).equals(v1));
        const hits = server.hitsOf(p);
        const restart = hits.findLastIndex((h) => h.range === undefined);
        assert.ok(restart > 0, 'fetched again without Range');
        assert.equal(hits.slice(restart).length, 1, 'the restart is one response: no segments after it');
        assert.ok(hits.filter((h) => h.range !== undefined).every((h) => h.ifRange === '"v1"'));
        assert.ok(retriedErrors().some((e) => e instanceof RangeMismatchError && e.problem === problem));
        await assertNoTempFile(t);
      });
    }

    // With a lock sha1 the sha1 catches the splice; without one (as in almost every real lock) the
    // deep check does: the stored entry's bytes from the other version fail their CRC-32.
    for (const locked of [true, false]) {
      const caughtBy = locked ? 'E_CHECKSUM' : 'E_CORRUPT';
      const how = locked ? 'the sha1 fails' : 'no sha1: the deep check finds a CRC mismatch';

      it(`segments spliced from another archive under the same ETag: ${how}, and the whole refetch succeeds`, async () => {
        const [v1, v2] = sameSizePair(3 * 1024);
        const p = `/split-spliced-${locked}.zip`;
        let wholeRequests = 0;
        const url = server.route(p, (req, res) => {
          if (req.headers.range === undefined) wholeRequests++;
          sendRange(req, res, req.headers.range === undefined ? v1 : v2, { etag: '"same"' });
        });
        const t = task(url, locked ? sha1(v1) : undefined);
        const result = await fetch(t, split);
        assert.equal(result.kind, 'downloaded', JSON.stringify(result));
        assert.ok((await readFile(t.cachePath)).equals(v1));
        assert.equal(wholeRequests, 2, 'the split attempt, then one whole refetch');
        const hits = server.hitsOf(p);
        assert.equal(hits.at(-1)!.range, undefined, 'the last response was the whole file');
        assert.ok(
          retriedErrors().some((e) => (e as { code?: string }).code === caughtBy),
          JSON.stringify(retriedErrors()),
        );
        await assertNoTempFile(t);
      });

      it(`a resume spliced under the same ETag: ${how}, and the retry neither resumes nor splits`, async () => {
        const [v1, v2] = sameSizePair(3 * 1024);
        const p = `/resume-spliced-${locked}.zip`;
        const url = server.route(p, (req, res, hit) => {
          if (req.headers.range !== undefined) return sendRange(req, res, v2, { etag: '"same"' });
          res.writeHead(200, { 'accept-ranges': 'bytes', etag: '"same"', 'content-length': String(v1.length) });
          if (hit.n > 1) return void res.end(v1);
          res.write(v1.subarray(0, 200_000), () => res.socket?.resetAndDestroy());
        });
        const t = task(url, locked ? sha1(v1) : undefined);
        // Split at once, the broken first segment is re-asked as a range and every byte comes from
        // v2: a whole, valid v2 that only a sha1 can tell from v1. Without one, the resume is tested
        // unsplit, where v1's head and v2's tail really are spliced.
        const result = await fetch(t, locked ? split : { splitMinBytes: 0 });
        assert.equal(result.kind, 'downloaded', JSON.stringify(result));
        assert.ok((await readFile(t.cachePath)).equals(v1));
        const hits = server.hitsOf(p);
        if (!locked)
          assert.ok(
            hits.some((h) => h.range !== undefined),
            'the broken download was resumed',
          );
        assert.equal(hits.at(-1)!.range, undefined);
        assert.equal(hits.filter((h) => h.range === undefined).length, 2, 'first GET (broken) and one whole refetch');
        assert.ok(
          retriedErrors().some((e) => (e as { code?: string }).code === caughtBy),
          JSON.stringify(retriedErrors()),
        );
        await assertNoTempFile(t);
      });
    }
  });

  describe('bounds', () => {
    /** Declares `length` and sends one byte every `ms`: never idle long enough for a read timeout. */
    const slowloris = (p: string, length: number, ms: number): string =>
      server.route(p, (_req, res) => {
        res.writeHead(200, { 'content-length': String(length), 'accept-ranges': 'bytes', etag: '"slow"' });
        let sent = 0;
        server.every(res, ms, () => {
          res.write(Buffer.from([0x50]));
          return ++sent < length;
        });
      });

    it('a trickle under --low-speed-limit over the stall window counts as stalled (retried, then failed)', async () => {
      const p = '/trickle.zip';
      const t = task(slowloris(p, 100_000, 20), undefined);
      const result = await fetch(t, { lowSpeedLimit: 1024, stallTimeoutMs: 300, retries: 1 });
      assert.equal(result.kind, 'failed');
      if (result.kind !== 'failed') return;
      assert.ok(result.error instanceof TransferLimitError, String(result.error));
      assert.equal(result.error.limit.kind, 'low-speed');
      assert.equal(result.error.code, 'E_NETWORK');
      assert.match(result.error.message, /--low-speed-limit/);
      assert.ok(result.error.message.includes(`${server.origin}${p}`), result.error.message);
      assert.equal(server.hitsOf(p).length, 2, 'cut, retried once, cut again');
      await assertNoTempFile(t);
    });

    it('a split download is judged as a whole: all segments trickling → stalled, temp file removed', async () => {
      const [v1] = sameSizePair(3 * 1024);
      const p = '/split-trickle.zip';
      const url = server.route(p, (req, res) => {
        const headers = { 'accept-ranges': 'bytes', etag: '"t"' };
        const start = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '');
        const from = start ? Number(start[1]) : 0;
        const to = start ? Number(start[2]) + 1 : v1.length;
        res.writeHead(start ? 206 : 200, {
          ...headers,
          'content-length': String(to - from),
          ...(start ? { 'content-range': `bytes ${from}-${to - 1}/${v1.length}` } : {}),
        });
        let at = from;
        server.every(res, 20, () => {
          res.write(v1.subarray(at, at + 8));
          at += 8;
          return at < to;
        });
      });
      const t = task(url, undefined);
      const result = await fetch(t, { splitMinBytes: 1024 * 1024, splitSegments: 4, splitProbeMs: 0, lowSpeedLimit: 4096, stallTimeoutMs: 300, retries: 0 });
      assert.equal(result.kind, 'failed');
      if (result.kind !== 'failed') return;
      assert.ok(result.error instanceof TransferLimitError && result.error.limit.kind === 'low-speed', String(result.error));
      assert.ok(
        server.hitsOf(p).some((h) => h.range !== undefined),
        'it was split',
      );
      await assertNoTempFile(t);
    });

    it('--retry-max-time ends the attempt in flight', async () => {
      const p = '/deadline.zip';
      const t = task(slowloris(p, 100_000, 20), undefined);
      const result = await fetch(t, { lowSpeedLimit: 0, retryMaxTimeMs: 600, stallTimeoutMs: 5000 });
      assert.equal(result.kind, 'failed');
      if (result.kind !== 'failed') return;
      assert.ok(result.error instanceof TransferLimitError, String(result.error));
      assert.equal(result.error.limit.kind, 'deadline');
      assert.equal(result.error.code, 'E_LIMIT');
      assert.match(result.error.message, /--retry-max-time/);
      assert.ok(result.error.message.includes(`${server.origin}${p}`), result.error.message);
      assert.equal(server.hitsOf(p).length, 1, 'one attempt, stopped');
      await assertNoTempFile(t);
    });

    it('an endless body without Content-Length is stopped at --max-size and its temp file removed', async () => {
      const p = '/endless.zip';
      const chunk = Buffer.alloc(64 * 1024, 0x41);
      let _served = 0;
      const url = server.route(p, (_req, res) => {
        res.writeHead(200, { 'content-type': 'application/zip' });
        server.every(res, 1, () => {
          _served += chunk.length;
          res.write(chunk);
          return true;
        });
      });
      const t = task(url, undefined);
      const result = await fetch(t, { maxSizeBytes: 1024 * 1024 });
      assert.equal(result.kind, 'failed');
      if (result.kind !== 'failed') return;
      assert.ok(result.error instanceof TransferLimitError, String(result.error));
      assert.deepEqual({ kind: result.error.limit.kind, code: result.error.code }, { kind: 'max-size', code: 'E_LIMIT' });
      assert.match(result.error.message, /--max-size/);
      assert.match(result.error.message, /1 MiB/);
      assert.equal(server.hitsOf(p).length, 1, 'not retried: the same URL would do the same');
      await assertNoTempFile(t);
    });

    it('a Content-Length above --max-size is refused before the body is read', async () => {
      const p = '/huge.zip';
      const url = server.route(p, (_req, res) => {
        res.writeHead(200, { 'content-length': String(50 * 1024 * 1024) });
        server.every(res, 50, () => {
          res.write(Buffer.alloc(1024));
          return true;
        });
      });
      const t = task(url, undefined);
      const result = await fetch(t, { maxSizeBytes: 1024 * 1024, splitMinBytes: 1024 * 1024 });
      assert.equal(result.kind, 'failed');
      if (result.kind !== 'failed') return;
      assert.ok(result.error instanceof TransferLimitError, String(result.error));
      assert.equal(result.error.limit.kind === 'max-size' && result.error.limit.declared, true);
      assert.match(result.error.message, /declares 50 MiB.*1 MiB limit \(--max-size\)/);
      assert.ok(!events.some((e) => e.type === 'progress' && e.bytes > 0), 'no byte was taken');
      await assertNoTempFile(t);
    });
  });
});
