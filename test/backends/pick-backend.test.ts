import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pickBackend, type BackendSetup } from '../../src/backends/pick-backend.js';
import { acceptIntoCache } from '../../src/cache/commit.js';
import { defaultDownloadOptions } from '../../src/config/options.js';
import { createDispatcher, resolveProxySettings } from '../../src/net/dispatcher.js';
import { createRequestPolicy } from '../../src/net/request-policy.js';
import type { DownloadOptions, FetchContext, PrefetchEvent, SettledTask } from '../../src/types.js';
import { composerPackageZip } from '../helpers/archives.js';
import { assertAria2cInstalled } from '../helpers/aria2.js';
import { DistServer } from '../helpers/dist-server.js';
import { ForwardProxy } from '../helpers/forward-proxy.js';
import { tempDir } from '../helpers/run.js';

const sha1 = (b: Buffer): string => createHash('sha1').update(b).digest('hex');

describe('pickBackend: one native backend, built once with the run network', () => {
  let server: DistServer;
  let proxy: ForwardProxy;
  let root: string;
  let cleanup: () => Promise<void>;

  before(async () => {
    await assertAria2cInstalled();
    server = await new DistServer().start();
    proxy = await new ForwardProxy().start();
    ({ dir: root, cleanup } = await tempDir('cp-pick-'));
  });
  after(async () => {
    await proxy.stop();
    await server.stop();
    await cleanup();
  });

  it('--backend aria2: a credentialed package whose first attempt gets a 500 goes through the proxy on both attempts', async () => {
    const zip = composerPackageZip('acme/private', '1.0.0');
    const url = server.add('/private/p.zip', zip);
    server.fault('/private/p.zip', { kind: 'status', status: 500 });
    const env = { http_proxy: proxy.url };
    const options: DownloadOptions = { ...defaultDownloadOptions, retries: 2, splitMinBytes: 0 };
    const dispatcherOptions = { ...options, perOrigin: options.perOrigin };
    const setup: BackendSetup = {
      backend: 'aria2',
      aria2c: undefined,
      dispatcher: createDispatcher(dispatcherOptions, env),
      freshDispatcher: () => createDispatcher({ ...dispatcherOptions, perOrigin: 1 }, env),
      network: { proxies: resolveProxySettings(env), ca: undefined },
    };
    const cacheKey = `acme/private/${sha1(Buffer.from(url))}.zip`;
    const task: SettledTask = {
      packageName: 'acme/private',
      version: '1.0.0',
      distType: 'zip',
      urls: [url],
      cacheKey,
      cachePath: path.join(root, 'files', cacheKey),
      expectedSha1: sha1(zip),
      dev: false,
      origins: ['test'],
      policy: createRequestPolicy({ secureHttp: false, credentialsFor: () => ({ authorization: 'Bearer s3cret' }) }),
    };
    const events: PrefetchEvent[] = [];
    const ctx: FetchContext = {
      signal: new AbortController().signal,
      options,
      emit: (e) => events.push(e),
      accept: async (t, staged) => void (await acceptIntoCache(t, staged)),
    };
    const backend = await pickBackend(setup);
    try {
      const [result] = await backend.fetchAll([task], ctx);
      assert.equal(result?.kind, 'downloaded', JSON.stringify(result));
    } finally {
      await backend.close();
      await setup.dispatcher.close();
    }
    assert.ok((await readFile(task.cachePath)).equals(zip));
    const served = server.requests.filter((r) => r.path === '/private/p.zip');
    assert.deepEqual(
      served.map((r) => r.status),
      [500, 200],
    );
    assert.ok(
      served.every((r) => r.headers.authorization === 'Bearer s3cret'),
      'credentials on every attempt',
    );
    const viaProxy = proxy.log.filter((e) => e.target === url);
    assert.deepEqual(
      viaProxy.map((e) => e.status),
      [500, 200],
      `both attempts through the proxy: ${JSON.stringify(proxy.log)}`,
    );
  });
});
