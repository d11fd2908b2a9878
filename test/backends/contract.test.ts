import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pickBackend, type BackendSetup } from '../../src/backends/pick-backend.js';
import { acceptIntoCache } from '../../src/cache/commit.js';
import { defaultDownloadOptions } from '../../src/config/options.js';
import { HttpStatusError } from '../../src/errors.js';
import { createDispatcher, resolveProxySettings } from '../../src/net/dispatcher.js';
import { createRequestPolicy } from '../../src/net/request-policy.js';
import { createOriginStats, type OriginStats } from '../../src/report/origin-stats.js';
import type { BackendName, DownloadOptions, FetchContext, PrefetchEvent, SettledTask, TaskResult } from '../../src/types.js';
import { composerPackageZip, makeZip } from '../helpers/archives.js';
import { assertAria2cInstalled } from '../helpers/aria2.js';
import { FakeInternet, type FakeRequest } from '../helpers/fake-internet.js';
import type { ServerResponse } from 'node:http';
import { tempDir } from '../helpers/run.js';
import { makeTestPki } from '../helpers/test-pki.js';

/**
 * One table of cases, run against every backend `pickBackend` can build. The servers are hosts of
 * a fake internet behind `http_proxy` (test/helpers/fake-internet.ts): every request that reaches
 * one went through the proxy, and its log is what the servers saw.
 */

const sha1 = (b: Buffer): string => createHash('sha1').update(b).digest('hex');

interface Harness {
  readonly backend: BackendName;
  readonly net: FakeInternet;
  /** A fresh name for this case on this backend (hosts and paths never collide across cases). */
  readonly unique: (base: string) => string;
  readonly task: (urls: readonly [string, ...string[]], body: Buffer, policy?: SettledTask['policy']) => SettledTask;
  /**
   * Runs the tasks through the backend. Every run checks the contract that needs no case of its
   * own: the per-origin statistics count exactly the requests each server saw.
   */
  readonly fetch: (
    tasks: readonly SettledTask[],
    options?: Partial<DownloadOptions>,
  ) => Promise<{ results: TaskResult[]; events: PrefetchEvent[]; stats: readonly OriginStats[] }>;
}

interface Case {
  readonly name: string;
  readonly run: (h: Harness) => Promise<void>;
}

function zipFor(name: string): Buffer {
  return composerPackageZip(name, '1.0.0');
}

/** A package zip of at least `bytes`: a stored entry of random filler (incompressible, as real archives are). */
function bigZipFor(name: string, bytes: number): Buffer {
  const top = `${name.replace('/', '-')}-1.0.0/`;
  return makeZip([{ name: top }, { name: `${top}composer.json`, content: JSON.stringify({ name }) }, { name: `${top}data.bin`, content: randomBytes(bytes) }]);
}

/** A static file with ranges, ETag and Content-Length, as a CDN serves it. */
function serveFile(body: Buffer, req: FakeRequest, res: ServerResponse): void {
  const range = /^bytes=(\d+)-(\d*)$/.exec(String(req.headers.range ?? ''));
  const base = { 'accept-ranges': 'bytes', etag: '"v1"', 'content-type': 'application/zip' };
  if (range === null || (req.headers['if-range'] !== undefined && req.headers['if-range'] !== '"v1"')) {
    res.writeHead(200, { ...base, 'content-length': String(body.length) }).end(body);
    return;
  }
  const start = Number(range[1]);
  const end = range[2] === '' ? body.length - 1 : Math.min(Number(range[2]), body.length - 1);
  res
    .writeHead(206, { ...base, 'content-range': `bytes ${start}-${end}/${body.length}`, 'content-length': String(end - start + 1) })
    .end(body.subarray(start, end + 1));
}

const statsOf = (stats: readonly OriginStats[], host: string): OriginStats | undefined => stats.find((s) => s.origin === `http://${host}`);

const CASES: readonly Case[] = [
  {
    name: 'https through the proxy with the configured CA on every attempt, credentialed retries included',
    async run(h) {
      const serve = (body: Buffer) => (_req: FakeRequest, res: ServerResponse, hit: number) =>
        hit === 1 ? res.writeHead(500, { 'content-length': '0' }).end() : res.writeHead(200, { 'content-length': String(body.length) }).end(body);
      const [privateBody, publicBody] = [zipFor('acme/tls-private'), zipFor('acme/tls-public')];
      const privateUrl = h.net.route(h.unique('secure.example'), '/p.zip', serve(privateBody), 'https');
      const publicUrl = h.net.route(h.unique('secure.example'), '/q.zip', serve(publicBody), 'https');
      const policy = createRequestPolicy({ secureHttp: true, credentialsFor: (u) => (u.href === privateUrl ? { authorization: 'Bearer s3cret' } : {}) });
      const tunnelsBefore = h.net.tunnels.length;
      const { results } = await h.fetch([h.task([privateUrl], privateBody, policy), h.task([publicUrl], publicBody, policy)]);
      assert.deepEqual(
        results.map((r) => r.kind),
        ['downloaded', 'downloaded'],
        JSON.stringify(results),
      );
      assert.deepEqual(
        h.net.seen(privateUrl).map((r) => [r.status, r.headers.authorization]),
        [
          [500, 'Bearer s3cret'],
          [200, 'Bearer s3cret'],
        ],
      );
      assert.deepEqual(
        h.net.seen(publicUrl).map((r) => [r.status, r.headers.authorization]),
        [
          [500, undefined],
          [200, undefined],
        ],
      );
      // Every request came through a tunnel of the proxy (the hosts exist nowhere else), and TLS
      // inside it was verified with the configured CA (the only one that signed the certificate).
      const tunnels = h.net.tunnels.slice(tunnelsBefore);
      for (const url of [privateUrl, publicUrl]) assert.ok(tunnels.includes(`${new URL(url).hostname}:443`), `${url}: ${tunnels.join(', ')}`);
    },
  },
  {
    name: 'a credentialed package whose first attempt gets a 500 goes through the proxy on both attempts, with its credentials',
    async run(h) {
      const body = zipFor('acme/private');
      const url = h.net.route(h.unique('private.example'), '/p.zip', (_req, res, hit) =>
        hit === 1 ? res.writeHead(500).end() : res.writeHead(200, { 'content-length': String(body.length) }).end(body),
      );
      const policy = createRequestPolicy({
        secureHttp: false,
        credentialsFor: (u) => (u.hostname.endsWith('private.example') ? { authorization: 'Bearer s3cret' } : {}),
      });
      const { results } = await h.fetch([h.task([url], body, policy)]);
      assert.equal(results[0]!.kind, 'downloaded', JSON.stringify(results[0]));
      const seen = h.net.seen(url);
      assert.deepEqual(
        seen.map((r) => r.status),
        [500, 200],
      );
      assert.ok(seen.every((r) => r.headers.authorization === 'Bearer s3cret'));
    },
  },
  {
    name: "a 429's Retry-After is waited out",
    async run(h) {
      const body = zipFor('acme/throttled');
      const url = h.net.route(h.unique('throttle.example'), '/t.zip', (_req, res, hit) =>
        hit === 1
          ? res.writeHead(429, { 'retry-after': '1', 'content-length': '0' }).end()
          : res.writeHead(200, { 'content-length': String(body.length) }).end(body),
      );
      const { results, events } = await h.fetch([h.task([url], body)]);
      assert.equal(results[0]!.kind, 'downloaded', JSON.stringify(results[0]));
      const retried = events.find((e) => e.type === 'retried');
      assert.ok(retried?.type === 'retried' && retried.error instanceof HttpStatusError);
      assert.equal(retried.error.retryAfterMs, 1000);
      assert.equal(retried.delayMs, 1000);
      const [first, second] = h.net.seen(url);
      assert.ok(second!.at - first!.at >= 950, `waited ${second!.at - first!.at} ms`);
    },
  },
  {
    name: "codeload's transient 400 (reached through api.github.com's redirect) is retried",
    async run(h) {
      const body = zipFor('acme/zipball');
      const ref = h.unique('r');
      const codeload = h.net.route('codeload.github.com', `/acme/zipball/legacy.zip/${ref}`, (_req, res, hit) =>
        hit === 1 ? res.writeHead(400, { 'content-length': '0' }).end() : res.writeHead(200, { 'content-length': String(body.length) }).end(body),
      );
      const api = h.net.route('api.github.com', `/repos/acme/zipball/zipball/${ref}`, (_req, res) =>
        res.writeHead(302, { location: codeload, 'content-length': '0' }).end(),
      );
      const { results } = await h.fetch([h.task([api], body)]);
      assert.equal(results[0]!.kind, 'downloaded', JSON.stringify(results[0]));
      assert.deepEqual(
        h.net.seen(codeload).map((r) => r.status),
        [400, 200],
      );
    },
  },
  {
    name: "GitHub's API rate limit (403, X-RateLimit-Remaining: 0) is reported as such, with its reset, and not retried",
    async run(h) {
      const body = zipFor('acme/limited');
      const ref = h.unique('r');
      const reset = 4_102_444_800; // 2100-01-01T00:00:00Z
      const api = h.net.route('api.github.com', `/repos/acme/limited/zipball/${ref}`, (_req, res) =>
        res.writeHead(403, { 'x-ratelimit-limit': '60', 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(reset), 'content-length': '0' }).end(),
      );
      const { results } = await h.fetch([h.task([api], body)]);
      const result = results[0]!;
      assert.equal(result.kind, 'failed', JSON.stringify(result));
      const error = (result as { error: unknown }).error;
      assert.ok(error instanceof HttpStatusError, String(error));
      assert.equal(error.status, 403);
      assert.equal(error.rateLimit?.resetAt, '2100-01-01T00:00:00.000Z');
      assert.equal(error.retryable, false);
      assert.equal(h.net.seen(api).length, 1, 'a used-up quota is not asked again');
    },
  },
  {
    name: 'redirects across hosts: requests, bytes and failures are credited to the host that answered each',
    async run(h) {
      const body = zipFor('acme/redirected');
      const ref = h.unique('r');
      const codeload = h.net.route('codeload.github.com', `/acme/redirected/legacy.zip/${ref}`, (_req, res, hit) =>
        hit === 1 ? res.writeHead(503, { 'content-length': '0' }).end() : res.writeHead(200, { 'content-length': String(body.length) }).end(body),
      );
      const api = h.net.route('api.github.com', `/repos/acme/redirected/zipball/${ref}`, (_req, res) =>
        res.writeHead(302, { location: codeload, 'content-length': '0' }).end(),
      );
      const { results, stats } = await h.fetch([h.task([api], body)]);
      assert.equal(results[0]!.kind, 'downloaded', JSON.stringify(results[0]));
      const [github, code] = [statsOf(stats, 'api.github.com'), statsOf(stats, 'codeload.github.com')];
      assert.deepEqual([github?.requests, github?.bytes, github?.failures], [2, 0, 0]);
      assert.deepEqual([code?.requests, code?.bytes, code?.downloaded, code?.failures, code?.failuresByCause.http5xx], [2, body.length, 1, 1, 1]);
    },
  },
  {
    name: '503s are backed off and retried until the archive comes',
    async run(h) {
      const body = zipFor('acme/overloaded');
      const url = h.net.route(h.unique('busy.example'), '/b.zip', (_req, res, hit) =>
        hit <= 2 ? res.writeHead(503, { 'content-length': '0' }).end() : res.writeHead(200, { 'content-length': String(body.length) }).end(body),
      );
      const { results, events } = await h.fetch([h.task([url], body)]);
      assert.equal(results[0]!.kind, 'downloaded', JSON.stringify(results[0]));
      const causes = events.flatMap((e) => (e.type === 'retried' && e.error instanceof HttpStatusError ? [e.error.status] : []));
      assert.deepEqual(causes, [503, 503]);
    },
  },
  {
    name: 'a connection cut mid-body is retried, and the archive is whole',
    async run(h) {
      const body = bigZipFor('acme/cut', 200_000);
      const url = h.net.route(h.unique('cut.example'), '/c.zip', (req, res, hit) => {
        if (hit > 1) return serveFile(body, req, res);
        res.writeHead(200, { 'content-length': String(body.length), 'accept-ranges': 'bytes', etag: '"v1"' });
        res.write(body.subarray(0, 50_000), () => res.socket?.resetAndDestroy());
      });
      const { results } = await h.fetch([h.task([url], body)]);
      assert.equal(results[0]!.kind, 'downloaded', JSON.stringify(results[0]));
    },
  },
  {
    name: 'a chunked, Range-ignoring origin that cuts its first responses (codeload-like) still delivers',
    async run(h) {
      const host = h.unique('codeload-like.example');
      const tasks = [0, 1, 2].map((i) => {
        const body = bigZipFor(`acme/chunked${i}`, 300_000);
        const url = h.net.route(host, `/z${i}.zip`, (_req, res, hit) => {
          // No Content-Length, no Accept-Ranges, no validator: an archive made on the fly.
          res.writeHead(200, { 'content-type': 'application/zip' });
          if (hit > 1) return void res.end(body);
          res.write(body.subarray(0, 100_000), () => res.socket?.resetAndDestroy());
        });
        return h.task([url], body);
      });
      const { results } = await h.fetch(tasks, { splitMinBytes: 64 * 1024, splitProbeMs: 0 });
      assert.deepEqual(
        results.map((r) => r.kind),
        ['downloaded', 'downloaded', 'downloaded'],
      );
      assert.ok(
        h.net.log.filter((r) => r.host === host).every((r) => r.headers.range === undefined),
        'never asked a Range-ignoring origin for ranges',
      );
    },
  },
  {
    name: 'a failed range request of a split archive is an HTTP failure, retried, and the archive is whole',
    async run(h) {
      const body = bigZipFor('acme/split', 3 * 1024 * 1024);
      let ranges = 0;
      const url = h.net.route(h.unique('cdn.example'), '/s.zip', (req, res) => {
        if (req.headers.range !== undefined && ++ranges === 1) return void res.writeHead(503, { 'content-length': '0' }).end();
        serveFile(body, req, res);
      });
      const { results, events } = await h.fetch([h.task([url], body)], { splitMinBytes: 1024 * 1024, splitSegments: 4, splitProbeMs: 0 });
      assert.equal(results[0]!.kind, 'downloaded', JSON.stringify(results[0]));
      assert.ok(ranges > 1, 'the archive was fetched in ranges');
      // Reported, if at all, as what it was: an HTTP 503.
      for (const e of events) if (e.type === 'retried') assert.ok(e.error instanceof HttpStatusError && e.error.status === 503, String(e.error));
    },
  },
  {
    name: '--concurrency is one budget for the run, whichever transport carries each task',
    async run(h) {
      let inFlight = 0;
      let most = 0;
      const host = h.unique('slots.example');
      const tasks = [0, 1, 2, 3, 4, 5].map((i) => {
        const body = zipFor(`acme/slot${i}`);
        const url = h.net.route(host, `/s${i}.zip`, (_req, res) => {
          most = Math.max(most, ++inFlight);
          res.on('close', () => void inFlight--);
          setTimeout(() => res.writeHead(200, { 'content-length': String(body.length) }).end(body), 600);
        });
        // Half with credentials: on aria2 those take the native transport.
        const policy = createRequestPolicy({ secureHttp: false, credentialsFor: () => (i % 2 === 0 ? { authorization: 'Bearer t' } : {}) });
        return h.task([url], body, policy);
      });
      const { results } = await h.fetch(tasks, { concurrency: 2 });
      assert.deepEqual(
        results.map((r) => r.kind),
        Array(6).fill('downloaded'),
      );
      assert.ok(most <= 2, `${most} requests at once`);
    },
  },
  {
    name: 'secure-http: a redirect to plain http fails the package with E_INSECURE, and nothing it served is kept',
    async run(h) {
      const body = zipFor('acme/downgraded');
      const plain = h.net.route(h.unique('plain.example'), '/d.zip', (_req, res) => res.writeHead(200, { 'content-length': String(body.length) }).end(body));
      const secure = h.net.route(
        h.unique('secure.example'),
        '/d.zip',
        (_req, res) => res.writeHead(302, { location: plain, 'content-length': '0' }).end(),
        'https',
      );
      const task = h.task([secure], body, createRequestPolicy({ secureHttp: true }));
      const { results } = await h.fetch([task]);
      const [result] = results;
      assert.equal(result!.kind, 'failed', JSON.stringify(result));
      if (result!.kind === 'failed') assert.equal(result!.error.code, 'E_INSECURE');
      await assert.rejects(readFile(task.cachePath), { code: 'ENOENT' });
    },
  },
  {
    name: "an origin's 503s halve its parallel requests (one gate per origin for every transport)",
    async run(h) {
      const host = h.unique('overloaded.example');
      let served = 0;
      let inFlight = 0;
      let mostAfterPushback = 0;
      let recovered = false;
      const tasks = Array.from({ length: 10 }, (_, i) => {
        const body = zipFor(`acme/gate${i}`);
        const url = h.net.route(host, `/g${i}.zip`, (_req, res) => {
          // The first wave (the gate's 4) is told the server is overloaded.
          if (++served <= 4) return void res.writeHead(503, { 'content-length': '0' }).end();
          inFlight++;
          if (!recovered) mostAfterPushback = Math.max(mostAfterPushback, inFlight);
          setTimeout(() => {
            recovered = true;
            inFlight--;
            res.writeHead(200, { 'content-length': String(body.length) }).end(body);
          }, 400);
        });
        return h.task([url], body);
      });
      const { results } = await h.fetch(tasks, { perOrigin: 4 });
      assert.deepEqual(
        results.map((r) => r.kind),
        Array(10).fill('downloaded'),
      );
      assert.ok(mostAfterPushback <= 2, `${mostAfterPushback} requests at once after a wave of 503s with a cap of 4`);
    },
  },
];

for (const backend of ['native', 'aria2'] as const) {
  describe(`backend contract: ${backend}`, () => {
    let net: FakeInternet;
    let ca: string;
    let root: string;
    let cleanup: () => Promise<void>;
    let n = 0;

    before(async () => {
      if (backend === 'aria2') await assertAria2cInstalled();
      ({ dir: root, cleanup } = await tempDir(`cp-contract-${backend}-`));
      await mkdir(path.join(root, 'pki'));
      const pki = await makeTestPki(path.join(root, 'pki'), { server: { cn: 'secure.example', altName: 'DNS:*.secure.example' } });
      ca = pki.ca;
      net = await new FakeInternet({ key: pki.key, cert: pki.cert }).start();
    });
    after(async () => {
      await net.stop();
      await cleanup();
    });

    const harness: Harness = {
      backend,
      get net() {
        return net;
      },
      unique: (base) => `${backend}-${n++}.${base}`,
      task(urls, body, policy = createRequestPolicy({ secureHttp: false })) {
        const name = `acme/c${n++}`;
        const cacheKey = `${name}/${sha1(Buffer.from(urls[0]))}.zip`;
        return {
          packageName: name,
          version: '1.0.0',
          distType: 'zip',
          urls,
          cacheKey,
          cachePath: path.join(root, 'files', cacheKey),
          expectedSha1: sha1(body),
          dev: false,
          origins: ['test'],
          policy,
        };
      },
      async fetch(tasks, overrides = {}) {
        const env = { http_proxy: net.url, https_proxy: net.url };
        const options: DownloadOptions = { ...defaultDownloadOptions, retries: 3, splitMinBytes: 0, ...overrides };
        const setup: BackendSetup = {
          backend,
          aria2c: undefined,
          dispatcher: createDispatcher({ ...options, ca: [ca] }, env),
          freshDispatcher: () => createDispatcher({ ...options, perOrigin: 1, ca: [ca] }, env),
          network: { proxies: resolveProxySettings(env), ca: [ca] },
        };
        const events: PrefetchEvent[] = [];
        const origins = createOriginStats();
        const emit = (e: PrefetchEvent): void => {
          events.push(e);
          origins.handle(e);
        };
        const ctx: FetchContext = { signal: new AbortController().signal, options, emit, accept: async (t, staged) => void (await acceptIntoCache(t, staged)) };
        const picked = await pickBackend(setup);
        const logFrom = net.log.length;
        try {
          const results = await picked.fetchAll(tasks, ctx);
          for (const r of results) if (r.kind === 'downloaded') assert.ok((await readFile(r.task.cachePath)).length > 0);
          const stats = origins.snapshot();
          const seen = new Map<string, number>();
          for (const r of net.log.slice(logFrom)) seen.set(`${r.scheme}://${r.host}`, (seen.get(`${r.scheme}://${r.host}`) ?? 0) + 1);
          assert.deepEqual(
            Object.fromEntries(stats.map((s) => [s.origin, s.requests])),
            Object.fromEntries(seen),
            'requests per origin = what each server saw',
          );
          return { results, events, stats };
        } finally {
          await picked.close();
          await setup.dispatcher.close();
        }
      },
    };

    for (const c of CASES) it(c.name, () => c.run(harness));
  });
}
