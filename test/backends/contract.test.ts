import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pickBackend, type BackendSetup } from '../../src/backends/pick-backend.js';
import { acceptIntoCache } from '../../src/cache/commit.js';
import { defaultDownloadOptions } from '../../src/config/options.js';
import { HttpStatusError } from '../../src/errors.js';
import { createDispatcher, resolveProxySettings } from '../../src/net/dispatcher.js';
import { createRequestPolicy } from '../../src/net/request-policy.js';
import type { BackendName, DownloadOptions, FetchContext, PrefetchEvent, SettledTask, TaskResult } from '../../src/types.js';
import { composerPackageZip } from '../helpers/archives.js';
import { assertAria2cInstalled } from '../helpers/aria2.js';
import { FakeInternet } from '../helpers/fake-internet.js';
import { tempDir } from '../helpers/run.js';

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
  readonly fetch: (tasks: readonly SettledTask[], options?: Partial<DownloadOptions>) => Promise<{ results: TaskResult[]; events: PrefetchEvent[] }>;
}

interface Case {
  readonly name: string;
  readonly run: (h: Harness) => Promise<void>;
}

function zipFor(name: string): Buffer {
  return composerPackageZip(name, '1.0.0');
}

const CASES: readonly Case[] = [
  {
    name: 'a credentialed package whose first attempt gets a 500 goes through the proxy on both attempts, with its credentials',
    async run(h) {
      const body = zipFor('acme/private');
      const url = h.net.route(h.unique('private.example'), '/p.zip', (_req, res, hit) => (hit === 1 ? res.writeHead(500).end() : res.writeHead(200, { 'content-length': String(body.length) }).end(body)));
      const policy = createRequestPolicy({ secureHttp: false, credentialsFor: (u) => (u.hostname.endsWith('private.example') ? { authorization: 'Bearer s3cret' } : {}) });
      const { results } = await h.fetch([h.task([url], body, policy)]);
      assert.equal(results[0]!.kind, 'downloaded', JSON.stringify(results[0]));
      const seen = h.net.seen(url);
      assert.deepEqual(seen.map((r) => r.status), [500, 200]);
      assert.ok(seen.every((r) => r.headers.authorization === 'Bearer s3cret'));
    },
  },
  {
    name: "a 429's Retry-After is waited out",
    async run(h) {
      const body = zipFor('acme/throttled');
      const url = h.net.route(h.unique('throttle.example'), '/t.zip', (_req, res, hit) =>
        hit === 1 ? res.writeHead(429, { 'retry-after': '1', 'content-length': '0' }).end() : res.writeHead(200, { 'content-length': String(body.length) }).end(body),
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
      const api = h.net.route('api.github.com', `/repos/acme/zipball/zipball/${ref}`, (_req, res) => res.writeHead(302, { location: codeload, 'content-length': '0' }).end());
      const { results } = await h.fetch([h.task([api], body)]);
      assert.equal(results[0]!.kind, 'downloaded', JSON.stringify(results[0]));
      assert.deepEqual(h.net.seen(codeload).map((r) => r.status), [400, 200]);
    },
  },
];

for (const backend of ['native', 'aria2'] as const) {
  describe(`backend contract: ${backend}`, () => {
    const net = new FakeInternet();
    let root: string;
    let cleanup: () => Promise<void>;
    let n = 0;

    before(async () => {
      if (backend === 'aria2') await assertAria2cInstalled();
      await net.start();
      ({ dir: root, cleanup } = await tempDir(`cp-contract-${backend}-`));
    });
    after(async () => {
      await net.stop();
      await cleanup();
    });

    const harness: Harness = {
      backend,
      net,
      unique: (base) => `${backend}-${n++}.${base}`,
      task(urls, body, policy = createRequestPolicy({ secureHttp: false })) {
        const name = `acme/c${n++}`;
        const cacheKey = `${name}/${sha1(Buffer.from(urls[0]))}.zip`;
        return { packageName: name, version: '1.0.0', distType: 'zip', urls, cacheKey, cachePath: path.join(root, 'files', cacheKey), expectedSha1: sha1(body), dev: false, origins: ['test'], policy };
      },
      async fetch(tasks, overrides = {}) {
        const env = { http_proxy: net.url };
        const options: DownloadOptions = { ...defaultDownloadOptions, retries: 3, splitMinBytes: 0, ...overrides };
        const setup: BackendSetup = {
          backend,
          aria2c: undefined,
          dispatcher: createDispatcher(options, env),
          freshDispatcher: () => createDispatcher({ ...options, perOrigin: 1 }, env),
          network: { proxies: resolveProxySettings(env), ca: undefined },
        };
        const events: PrefetchEvent[] = [];
        const ctx: FetchContext = { signal: new AbortController().signal, options, emit: (e) => events.push(e), accept: async (t, staged) => void (await acceptIntoCache(t, staged)) };
        const picked = await pickBackend(setup);
        try {
          const results = await picked.fetchAll(tasks, ctx);
          for (const r of results) if (r.kind === 'downloaded') assert.ok((await readFile(r.task.cachePath)).length > 0);
          return { results, events };
        } finally {
          await picked.close();
          await setup.dispatcher.close();
        }
      },
    };

    for (const c of CASES) it(c.name, () => c.run(harness));
  });
}
