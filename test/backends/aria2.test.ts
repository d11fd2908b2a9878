import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readdir, readFile, writeFile, chmod } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { execa } from 'execa';
import { composerPackageTarGz, composerPackageZip } from '../helpers/archives.js';
import { assertAria2cInstalled, childrenNamed, cmdlineOf, isAlive, leftovers, listTree, sha1, waitFor, writeLockProject } from '../helpers/aria2.js';
import { DistServer } from '../helpers/dist-server.js';
import { ForwardProxy } from '../helpers/forward-proxy.js';
import { binPath, isolatedEnv, runCli, tempDir } from '../helpers/run.js';

interface JsonReport {
  packages: { name: string; status: string; cachePath: string; error: { code: string } | null }[];
}

/** The long-running aria2c child (not the `aria2c --version` probe). */
const rpcAria2 = (pid: number): number | undefined =>
  childrenNamed(pid, 'aria2c').find((child) => {
    try {
      return cmdlineOf(child).includes('--enable-rpc=true');
    } catch {
      return false;
    }
  });

const isAria2 = (r: { headers: IncomingMessage['headers'] }): boolean => /aria2/.test(String(r.headers['user-agent']));

describe('--backend aria2 (real aria2c)', () => {
  let server: DistServer;
  before(async () => {
    await assertAria2cInstalled();
    server = await new DistServer().start();
  });
  after(async () => {
    await server?.stop();
  });

  it('downloads through aria2 into the cache, verified, with the same report as native and no leftovers', async () => {
    const { dir, cleanup } = await tempDir('cp-aria2-');
    try {
      const pkgs = [];
      for (let i = 1; i <= 6; i++) {
        const name = `acme/ok${i}`;
        const zip = composerPackageZip(name, '1.0.0');
        pkgs.push({ name, url: server.add(`/ok/${i}.zip`, zip), ...(i % 2 === 0 ? { shasum: sha1(zip) } : {}) });
      }
      pkgs.push({ name: 'acme/tarball', type: 'tar', url: server.add('/ok/t.tar.gz', composerPackageTarGz('acme/tarball', '1.0.0')) });
      const project = path.join(dir, 'p');
      await writeLockProject(project, pkgs);

      server.resetLog();
      const aria = await runCli(['--backend', 'aria2', '--json'], { cwd: project, env: isolatedEnv(dir) });
      assert.equal(aria.exitCode, 0, aria.stderr);
      const report = JSON.parse(aria.stdout) as JsonReport;
      assert.deepEqual(
        report.packages.map((p) => p.status),
        Array(7).fill('downloaded'),
      );
      for (const p of report.packages) assert.ok(existsSync(p.cachePath), p.cachePath);
      assert.equal((await readFile(report.packages[0]!.cachePath)).equals(composerPackageZip('acme/ok1', '1.0.0')), true);
      assert.ok(server.requests.length >= 7 && server.requests.every(isAria2), 'aria2 made every request');
      assert.deepEqual(leftovers(await listTree(path.join(dir, 'cache'))), []);

      // Same facts from the native backend, in a fresh cache.
      const nativeEnv = isolatedEnv(dir, { COMPOSER_CACHE_DIR: path.join(dir, 'cache-native') });
      const native = await runCli(['--backend', 'native', '--json'], { cwd: project, env: nativeEnv });
      assert.equal(native.exitCode, 0, native.stderr);
      const strip = (s: string): unknown => {
        const r = JSON.parse(s) as Record<string, unknown> & { packages: Record<string, unknown>[] };
        return r.packages.map((p) => ({ name: p['name'], status: p['status'], bytes: p['bytes'], source: p['source'] }));
      };
      assert.deepEqual(strip(aria.stdout), strip(native.stdout));
      assert.match(aria.stderr, /7 downloaded/);

      // Already cached: aria2 is not even started.
      server.resetLog();
      const again = await runCli(['--backend', 'aria2', '--aria2c', '/nonexistent/aria2c'], { cwd: project, env: isolatedEnv(dir) });
      assert.equal(again.exitCode, 0, again.stderr);
      assert.equal(server.hits(), 0);
    } finally {
      await cleanup();
    }
  });

  it('a wrong sha1 and a corrupt archive never enter the cache; retries follow the shared policy, then the next URL', async () => {
    const { dir, cleanup } = await tempDir('cp-aria2-');
    try {
      const good = composerPackageZip('acme/good', '1.0.0');
      const html = Buffer.from('<html><body>Login required</body></html>');
      const truncated = composerPackageZip('acme/trunc', '1.0.0').subarray(0, 60);
      const project = path.join(dir, 'p');
      await writeLockProject(project, [
        { name: 'acme/good', url: server.add('/bad/good.zip', good), shasum: sha1(good) },
        { name: 'acme/badsum', url: server.add('/bad/badsum.zip', good), shasum: 'f'.repeat(40) },
        { name: 'acme/html', url: server.add('/bad/html.zip', html) },
        { name: 'acme/trunc', url: server.add('/bad/trunc.zip', truncated) },
        // 404 on the first URL, then the (non-preferred) mirror; the cache key stays the first URL's.
        {
          name: 'acme/mirrored',
          url: `${server.origin}/bad/missing.zip`,
          mirrors: [server.add('/bad/mirror.zip', composerPackageZip('acme/mirrored', '1.0.0'))],
        },
      ]);
      server.resetLog();
      const r = await runCli(['--backend', 'aria2', '--json', '--retries', '1'], { cwd: project, env: isolatedEnv(dir) });
      assert.equal(r.exitCode, 1, r.stderr);
      const report = JSON.parse(r.stdout) as JsonReport;
      const by = new Map(report.packages.map((p) => [p.name, p]));
      assert.equal(by.get('acme/good')!.status, 'downloaded');
      assert.equal(by.get('acme/mirrored')!.status, 'downloaded');
      assert.equal(by.get('acme/badsum')!.error?.code, 'E_CHECKSUM');
      assert.equal(by.get('acme/html')!.error?.code, 'E_CORRUPT');
      assert.equal(by.get('acme/trunc')!.error?.code, 'E_CORRUPT');
      for (const name of ['acme/badsum', 'acme/html', 'acme/trunc']) assert.equal(existsSync(by.get(name)!.cachePath), false, `${name} is not in the cache`);
      // --retries 1: two attempts per URL for integrity failures too; a 404 is never retried.
      assert.equal(
        server.hits((p) => p === '/bad/badsum.zip'),
        2,
      );
      assert.equal(
        server.hits((p) => p === '/bad/html.zip'),
        2,
      );
      assert.equal(
        server.hits((p) => p === '/bad/missing.zip'),
        1,
      );
      assert.match(r.stderr, /sha1 mismatch for acme\/badsum: expected f{40}, got [0-9a-f]{40}/);
      const tree = await listTree(path.join(dir, 'cache'));
      assert.deepEqual(leftovers(tree), [], tree.join('\n'));
      assert.deepEqual(tree.filter((p) => !p.endsWith('/')).length, 2, tree.join('\n'));
    } finally {
      await cleanup();
    }
  });

  it('retries a 500 and a mid-body reset, as the native backend does', async () => {
    const { dir, cleanup } = await tempDir('cp-aria2-');
    try {
      const zip = composerPackageZip('acme/flaky', '1.0.0');
      const url = server.add('/flaky/a.zip', zip);
      server.fault('/flaky/a.zip', { kind: 'status', status: 500 });
      server.fault('/flaky/a.zip', { kind: 'reset-mid-body', afterBytes: 100 });
      const project = path.join(dir, 'p');
      await writeLockProject(project, [{ name: 'acme/flaky', url, shasum: sha1(zip) }]);
      server.resetLog();
      const r = await runCli(['--backend', 'aria2'], { cwd: project, env: isolatedEnv(dir) });
      assert.equal(r.exitCode, 0, r.stderr);
      assert.equal(
        server.hits((p) => p === '/flaky/a.zip'),
        3,
      );
      assert.deepEqual(leftovers(await listTree(path.join(dir, 'cache'))), []);
    } finally {
      await cleanup();
    }
  });

  it('never gives aria2 a credential or its RPC secret on argv; credentialed redirects stay native and drop Authorization', async () => {
    const { dir, cleanup } = await tempDir('cp-aria2-');
    const other = await new DistServer().start();
    try {
      const privateZip = composerPackageZip('acme/private', '1.0.0');
      const target = other.add('/signed/private.zip', privateZip);
      // Origin A requires basic auth and redirects to origin B (another port = another origin).
      server.intercept = (req, res) => {
        if (!req.url?.startsWith('/auth/')) return false;
        if (req.headers.authorization !== `Basic ${Buffer.from('user:s3cr3t-pw').toString('base64')}`) {
          res.writeHead(401, { 'www-authenticate': 'Basic' }).end();
          return true;
        }
        res.writeHead(302, { location: target }).end();
        return true;
      };
      const slow = composerPackageZip('acme/slow', '1.0.0');
      server.add('/slow/slow.zip', slow);
      server.fault('/slow/slow.zip', { kind: 'stall-body', afterBytes: 10, ms: 2500 });
      const project = path.join(dir, 'p');
      const authUrl = `${server.origin.replace('://', '://user:s3cr3t-pw@')}/auth/private.zip`;
      await writeLockProject(project, [
        { name: 'acme/private', url: authUrl, shasum: sha1(privateZip) },
        { name: 'acme/slow', url: `${server.origin}/slow/slow.zip`, shasum: sha1(slow) },
      ]);
      server.resetLog();
      const cli = execa(process.execPath, [binPath, '--backend', 'aria2'], { cwd: project, env: isolatedEnv(dir), extendEnv: false, reject: false });
      const aria2Pid = await waitFor(() => rpcAria2(cli.pid!), 'aria2c to start');
      const stagingDir = await waitFor(async () => {
        const names = await readdir(path.join(dir, 'cache', 'files')).catch(() => []);
        return names.find((n) => n.startsWith('.composer-prefetch-aria2-'));
      }, 'the staging dir');
      await waitFor(() => (server.requests.some((r) => r.path === '/slow/slow.zip') ? true : undefined), 'aria2 to request the slow archive');
      const argv = cmdlineOf(aria2Pid).join(' ');
      assert.doesNotMatch(argv, /s3cr3t|user:|authorization|basic|rpc-secret|token/i, argv);
      assert.match(argv, /--conf-path=/);
      // The secret's file is gone once aria2 answered; nothing else secret is on disk.
      const staged = await readdir(path.join(dir, 'cache', 'files', stagingDir));
      assert.equal(staged.includes('rpc.conf'), false, staged.join(','));
      const env = await readFile(`/proc/${aria2Pid}/environ`, 'utf8');
      assert.doesNotMatch(env, /s3cr3t/);

      const r = await cli;
      assert.equal(r.exitCode, 0, String(r.stderr));
      const authHits = server.requests.filter((q) => q.path === '/auth/private.zip');
      assert.ok(authHits.length >= 1 && authHits.every((q) => !isAria2(q)), 'the credentialed URL went through the native backend');
      assert.ok(other.requests.length >= 1);
      for (const q of other.requests) assert.equal(q.headers.authorization, undefined, 'no Authorization to the redirect target');
      assert.ok(server.requests.filter((q) => q.path === '/slow/slow.zip').every(isAria2));
      assert.equal(isAlive(aria2Pid), false, 'aria2c is gone after the run');
      assert.deepEqual(leftovers(await listTree(path.join(dir, 'cache'))), []);
    } finally {
      server.intercept = undefined;
      await other.stop();
      await cleanup();
    }
  });

  it('goes through the proxy Composer would use, with its credentials kept off argv and environment', async () => {
    const { dir, cleanup } = await tempDir('cp-aria2-');
    const proxyAuth = `Basic ${Buffer.from('pxuser:px-s3cret').toString('base64')}`;
    const proxy = await new ForwardProxy(proxyAuth).start();
    try {
      const slow = composerPackageZip('acme/proxied-slow', '1.0.0');
      const fast = composerPackageZip('acme/proxied', '1.0.0');
      server.add('/px/slow.zip', slow);
      server.fault('/px/slow.zip', { kind: 'stall-body', afterBytes: 10, ms: 1500 });
      server.add('/px/fast.zip', fast);
      const project = path.join(dir, 'p');
      await writeLockProject(project, [
        { name: 'acme/proxied-slow', url: `${server.origin}/px/slow.zip`, shasum: sha1(slow) },
        { name: 'acme/proxied', url: `${server.origin}/px/fast.zip` },
      ]);
      server.resetLog();
      const env = isolatedEnv(dir, {
        http_proxy: proxy.url.replace('http://', 'http://pxuser:px-s3cret@'),
        // aria2 would take all_proxy for https and ignore Composer's rules; it must not see it.
        all_proxy: 'http://127.0.0.1:9',
      });
      const cli = execa(process.execPath, [binPath, '--backend', 'aria2'], { cwd: project, env, extendEnv: false, reject: false });
      const aria2Pid = await waitFor(() => rpcAria2(cli.pid!), 'aria2c to start');
      await waitFor(() => (server.requests.some((r) => r.path === '/px/slow.zip') ? true : undefined), 'aria2 to request through the proxy');
      assert.doesNotMatch(cmdlineOf(aria2Pid).join(' '), /px-s3cret|pxuser|proxy/i);
      const environ = await readFile(`/proc/${aria2Pid}/environ`, 'utf8');
      assert.doesNotMatch(environ, /px-s3cret|_proxy=/i);
      const r = await cli;
      assert.equal(r.exitCode, 0, String(r.stderr));
      const viaProxy = proxy.log.filter((e) => e.target.startsWith(`${server.origin}/px/`));
      assert.equal(viaProxy.length, 2, JSON.stringify(proxy.log));
      assert.ok(viaProxy.every((e) => e.proxyAuthorization === proxyAuth && e.status === 200));
      assert.ok(server.requests.filter((q) => q.path.startsWith('/px/')).every(isAria2), 'aria2 did the transfers');
    } finally {
      await proxy.stop();
      await cleanup();
    }
  });

  // SIGHUP (a closed terminal, a dropped ssh session) stops the run as SIGINT does.
  for (const signal of ['SIGINT', 'SIGHUP'] as const)
    it(`${signal} mid-run: ends by the signal, aria2c killed, staging and partial files removed`, async () => {
      const { dir, cleanup } = await tempDir('cp-aria2-');
      try {
        const big = composerPackageZip('acme/stuck', '1.0.0');
        const stuck = `/stuck/${signal}/a.zip`;
        server.add(stuck, big);
        server.fault(stuck, { kind: 'stall-body', afterBytes: 50, ms: 20_000 });
        const quick = composerPackageZip('acme/quick', '1.0.0');
        const project = path.join(dir, 'p');
        await writeLockProject(project, [
          { name: 'acme/stuck', url: `${server.origin}${stuck}` },
          { name: 'acme/quick', url: server.add(`/stuck/${signal}/quick.zip`, quick), shasum: sha1(quick) },
        ]);
        server.resetLog();
        const started = Date.now();
        const cli = execa(process.execPath, [binPath, '--backend', 'aria2'], { cwd: project, env: isolatedEnv(dir), extendEnv: false, reject: false });
        const aria2Pid = await waitFor(() => rpcAria2(cli.pid!), 'aria2c to start');
        await waitFor(() => (server.requests.some((r) => r.path === stuck) ? true : undefined), 'the stalled request');
        await waitFor(
          async () => ((await listTree(path.join(dir, 'cache'))).some((p) => p.endsWith('a1.part')) ? true : undefined),
          'a partial file in staging',
        );
        cli.kill(signal);
        const r = await cli;
        assert.equal(r.signal, signal, String(r.stderr));
        assert.match(String(r.stderr), /Interrupted: /, 'stopped gracefully (the summary), then by the signal');
        assert.ok(Date.now() - started < 15_000, 'stopped promptly');
        await waitFor(() => (isAlive(aria2Pid) ? undefined : true), 'aria2c to be gone', 5000);
        const tree = await listTree(path.join(dir, 'cache'));
        assert.deepEqual(leftovers(tree), [], tree.join('\n'));
        assert.equal(
          tree.some((p) => p.startsWith('files/acme/stuck/') && !p.endsWith('/')),
          false,
        );
      } finally {
        await cleanup();
      }
    });

  it('missing or too old aria2c: exit 2 with an install hint, before any download', async () => {
    const { dir, cleanup } = await tempDir('cp-aria2-');
    try {
      const project = path.join(dir, 'p');
      await writeLockProject(project, [{ name: 'acme/x', url: server.add('/x/x.zip', composerPackageZip('acme/x', '1.0.0')) }]);
      server.resetLog();
      const missing = await runCli(['--backend', 'aria2', '--aria2c', path.join(dir, 'no-such-aria2c')], { cwd: project, env: isolatedEnv(dir) });
      assert.equal(missing.exitCode, 2, missing.stderr);
      assert.match(missing.stderr, /not found/);
      assert.match(missing.stderr, /apt-get install aria2/);
      assert.match(missing.stderr, /brew install aria2/);
      assert.match(missing.stderr, /choco install aria2/);
      assert.match(missing.stderr, /--backend native/);

      const old = path.join(dir, 'old-aria2c');
      await writeFile(old, '#!/bin/sh\necho "aria2 version 1.18.10"\n');
      await chmod(old, 0o755);
      const tooOld = await runCli(['--backend', 'aria2', '--aria2c', old], { cwd: project, env: isolatedEnv(dir) });
      assert.equal(tooOld.exitCode, 2, tooOld.stderr);
      assert.match(tooOld.stderr, /1\.18\.10.*1\.19\.0/);
      assert.equal(server.hits(), 0);
      assert.deepEqual(leftovers(await listTree(path.join(dir, 'cache'))), []);
    } finally {
      await cleanup();
    }
  });
});
