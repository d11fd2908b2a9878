import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { execa } from 'execa';
import { composerPackageZip } from '../helpers/archives.js';
import { isolatedEnv, runCli, tempDir } from '../helpers/run.js';

/** A private CA, a server certificate for 127.0.0.1 and a client certificate (key under a passphrase), made with openssl. */
async function makePki(dir: string): Promise<void> {
  const run = (args: string[]) => execa('openssl', args, { cwd: dir });
  await run(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=composer-prefetch test CA', '-keyout', 'ca.key', '-out', 'ca.pem']);
  await writeFile(path.join(dir, 'ext.cnf'), 'subjectAltName=IP:127.0.0.1\n');
  await run(['req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=127.0.0.1', '-keyout', 'server.key', '-out', 'server.csr']);
  await run(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-extfile', 'ext.cnf', '-out', 'server.pem']);
  await run(['req', '-newkey', 'rsa:2048', '-passout', 'pass:s3cret-pass', '-subj', '/CN=ci-runner', '-keyout', 'client.key', '-out', 'client.csr']);
  await run(['x509', '-req', '-in', 'client.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-out', 'client.pem']);
}

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
    await makePki(pki);
    const read = (f: string) => readFile(path.join(pki, f), 'utf8');
    // The server refuses any connection without a client certificate signed by the CA.
    server = createServer({ key: await read('server.key'), cert: await read('server.pem'), ca: await read('ca.pem'), requestCert: true, rejectUnauthorized: true }, (req, res) => {
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
      packages: [{ name: 'acme/mtls', version: '1.0.0', dist: { type: 'zip', url: `${origin}/dists/acme-mtls.zip`, reference: 'a'.repeat(40), shasum: createHash('sha1').update(zip).digest('hex') } }],
      'packages-dev': [],
    };
    await writeFile(path.join(dir, 'composer.lock'), JSON.stringify(lock));
    return dir;
  }

  for (const backend of ['native', 'aria2']) {
    it(`presents the configured certificate to its origin, and the download lands (--backend ${backend})`, async () => {
      const host = new URL(origin).host;
      // Relative paths, resolved against the project as Composer resolves them from its working directory.
      const dir = await project(`with-${backend}`, { 'client-certificate': { [host]: { local_cert: '../pki/client.pem', local_pk: '../pki/client.key', passphrase: 's3cret-pass' } } });
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
      ['other-port', { 'client-certificate': { '127.0.0.1:1': { local_cert: '../pki/client.pem', local_pk: '../pki/client.key', passphrase: 's3cret-pass' } } }],
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
