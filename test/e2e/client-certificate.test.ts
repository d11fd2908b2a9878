import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { composerPackageZip } from '../helpers/archives.js';
import { isolatedEnv, runCli, tempDir } from '../helpers/run.js';
import { makeTestPki } from '../helpers/test-pki.js';

describe('auth.json client-certificate (Composer 2.10): a TLS client certificate for one origin, both backends', () => {
  let root: string;
  let cleanup: () => Promise<void>;
  let server: Server;
  let origin: string;
  const zip = composerPackageZip('acme/mtls', '1.0.0');
  const peers: (string | undefined)[] = [];

  before(async () => {
    ({ dir: root, cleanup } = await tempDir('cp-mtls-'));
    const pki = path.join(root, 'pki');
    await mkdir(pki);
    const { ca, key, cert } = await makeTestPki(pki, { client: { cn: 'ci-runner', passphrase: 's3cret-pass' } });
    // The server refuses any connection without a client certificate signed by the CA.
    server = createServer({ key, cert, ca, requestCert: true, rejectUnauthorized: true }, (req, res) => {
      const cn = (req.socket as TLSSocket).getPeerCertificate().subject?.CN;
      peers.push(Array.isArray(cn) ? cn[0] : cn);
      res.writeHead(200, { 'content-type': 'application/zip', 'content-length': String(zip.length) }).end(zip);
    });
    server.on('tlsClientError', () => peers.push(undefined));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    origin = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    await cleanup();
  });

  async function project(name: string, auth: Record<string, unknown> | undefined): Promise<string> {
    const dir = path.join(root, name);
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, 'composer.json'), JSON.stringify({ name: 'test/mtls', config: { cafile: '../pki/ca.pem' } }));
    if (auth !== undefined) await writeFile(path.join(dir, 'auth.json'), JSON.stringify(auth));
    const lock = {
      'content-hash': 'x',
      packages: [
        {
          name: 'acme/mtls',
          version: '1.0.0',
          dist: { type: 'zip', url: `${origin}/dists/acme-mtls.zip`, reference: 'a'.repeat(40), shasum: createHash('sha1').update(zip).digest('hex') },
        },
      ],
      'packages-dev': [],
    };
    await writeFile(path.join(dir, 'composer.lock'), JSON.stringify(lock));
    return dir;
  }

  for (const backend of ['native', 'aria2']) {
    it(`presents the configured certificate to its origin, and the download lands (--backend ${backend})`, async () => {
      const host = new URL(origin).host;
      // Relative paths, resolved against the project as Composer resolves them from its working directory.
      const dir = await project(`with-${backend}`, {
        'client-certificate': { [host]: { local_cert: '../pki/client.pem', local_pk: '../pki/client.key', passphrase: 's3cret-pass' } },
      });
      const ok = await runCli(['--backend', backend], { cwd: dir, env: isolatedEnv(root, { COMPOSER_CACHE_DIR: path.join(root, `cache-${backend}`) }) });
      assert.equal(ok.exitCode, 0, ok.stderr);
      assert.match(ok.stderr, /1 downloaded/);
      assert.equal(peers.at(-1), 'ci-runner');
      assert.doesNotMatch(ok.stderr, /s3cret-pass/);
    });
  }

  it('without it, or filed under another port, the server refuses the handshake and nothing is cached', async () => {
    for (const [name, auth] of [
      ['none', undefined],
      [
        'other-port',
        { 'client-certificate': { '127.0.0.1:1': { local_cert: '../pki/client.pem', local_pk: '../pki/client.key', passphrase: 's3cret-pass' } } },
      ],
    ] as const) {
      const dir = await project(`without-${name}`, auth);
      const refused = await runCli(['--retries', '0'], { cwd: dir, env: isolatedEnv(root, { COMPOSER_CACHE_DIR: path.join(root, `cache-${name}`) }) });
      assert.equal(refused.exitCode, 1, refused.stderr);
    }
  });

  it('an unreadable local_cert stops the run with exit 2 naming the entry', async () => {
    const host = new URL(origin).host;
    const dir = await project('missing-cert', { 'client-certificate': { [host]: { local_cert: '../pki/nope.pem' } } });
    const run = await runCli([], { cwd: dir, env: isolatedEnv(root, { COMPOSER_CACHE_DIR: path.join(root, 'cache-missing') }) });
    assert.equal(run.exitCode, 2, run.stderr);
    assert.match(run.stderr, new RegExp(`Cannot read client-certificate\\.${host.replace(/\./g, '\\.')}\\.local_cert \\.\\./pki/nope\\.pem`));
  });
});
