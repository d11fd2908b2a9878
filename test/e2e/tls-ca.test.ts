import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { composerPackageZip } from '../helpers/archives.js';
import { isolatedEnv, runCli, tempDir } from '../helpers/run.js';
import { makeTestPki } from '../helpers/test-pki.js';

describe("Composer's cafile over real TLS (native and aria2)", () => {
  let root: string;
  let cleanup: () => Promise<void>;
  let server: Server;
  let origin: string;
  const zip = composerPackageZip('acme/tls', '1.0.0');
  let hits = 0;

  before(async () => {
    ({ dir: root, cleanup } = await tempDir('cp-tls-'));
    const pki = path.join(root, 'pki');
    await mkdir(pki);
    const { key, cert } = await makeTestPki(pki);
    server = createServer({ key, cert }, (req, res) => {
      hits++;
      if (req.url !== '/dists/acme-tls.zip') return void res.writeHead(404).end();
      res.writeHead(200, { 'content-type': 'application/zip', 'content-length': String(zip.length) }).end(zip);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    origin = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    await cleanup();
  });

  async function project(name: string, config: Record<string, unknown>): Promise<string> {
    const dir = path.join(root, name);
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, 'composer.json'), JSON.stringify({ name: 'test/tls', config }));
    const lock = {
      'content-hash': 'x',
      packages: [
        {
          name: 'acme/tls',
          version: '1.0.0',
          dist: { type: 'zip', url: `${origin}/dists/acme-tls.zip`, reference: 'a'.repeat(40), shasum: createHash('sha1').update(zip).digest('hex') },
        },
      ],
      'packages-dev': [],
    };
    await writeFile(path.join(dir, 'composer.lock'), JSON.stringify(lock));
    return dir;
  }

  for (const backend of ['native', 'aria2']) {
    it(`trusts the project's cafile, and only it (--backend ${backend})`, async () => {
      // Relative, as Composer resolves it: against the project directory.
      const trusted = await project(`trusted-${backend}`, { cafile: '../pki/ca.pem' });
      const ok = await runCli(['--backend', backend], { cwd: trusted, env: isolatedEnv(root, { COMPOSER_CACHE_DIR: path.join(root, `cache-${backend}`) }) });
      assert.equal(ok.exitCode, 0, ok.stderr);
      assert.match(ok.stderr, /1 downloaded/);

      // Without it the certificate is unknown: the download fails and nothing is cached.
      const before = hits;
      const plain = await project(`untrusted-${backend}`, {});
      const refused = await runCli(['--backend', backend, '--retries', '0'], {
        cwd: plain,
        env: isolatedEnv(root, { COMPOSER_CACHE_DIR: path.join(root, `cache2-${backend}`) }),
      });
      assert.equal(refused.exitCode, 1, refused.stderr);
      assert.match(refused.stderr, /certificate|SSL|TLS/i);
      assert.equal(hits, before, 'no request got past the TLS handshake');
    });
  }
});
