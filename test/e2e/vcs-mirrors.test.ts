/**
 * Issue 20, proven with real Composer and a real git server (git http-backend on loopback): after
 * one prefetch, `composer install` of source-only packages makes no request to the git server,
 * and `COMPOSER_DISABLE_NETWORK=1 composer install` succeeds. The mirror folder is never computed
 * here: Composer finds it or it does not.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { execa } from 'execa';
import { GitServer } from '../helpers/git-server.js';
import { composers, titled } from '../helpers/composers.js';
import { binPath, composerLock, isolatedEnv, runCli, runComposer, tempDir } from '../helpers/run.js';

const INSTALL = ['install', '--no-plugins', '--no-scripts', '--no-autoloader', '--ignore-platform-reqs', '--no-interaction'];
const SECRET = 'Sup3r-s3cret-t0ken';

interface Source {
  readonly name: string;
  readonly version: string;
  readonly reference: string;
}

for (const c of composers)
  describe(`e2e: git mirrors for source packages, with real Composer ${c.label}`, { skip: c.skip }, () => {
    const composer = c.composer?.bin;
    const it_ = (title: string, fn: () => Promise<void>) => it(titled(c, title), fn);
    const server = new GitServer();
    let tmp: Awaited<ReturnType<typeof tempDir>>;
    let project = '';
    let env: Record<string, string> = {};
    let sources: Source[] = [];
    const vendorHead = async (name: string) => (await execa('git', ['rev-parse', 'HEAD'], { cwd: path.join(project, 'vendor', name) })).stdout.trim();

    const writeLock = async (list: readonly Source[]) => {
      const packages = list.map((s) => ({
        name: s.name,
        version: s.version,
        type: 'library',
        source: { type: 'git', url: server.url(s.name), reference: s.reference },
      }));
      await writeFile(path.join(project, 'composer.lock'), composerLock(packages));
    };

    before(async () => {
      await server.start();
      tmp = await tempDir('cp-e2e-vcs-');
      project = path.join(tmp.dir, 'project');
      await mkdir(project, { recursive: true });
      sources = [
        { name: 'acme/on-branch', version: 'dev-main', reference: await server.commit('acme/on-branch') },
        { name: 'acme/fork', version: 'dev-upgrade-2', reference: await server.commit('acme/fork', { branch: 'upgrade-2' }) },
        { name: 'acme/tagged', version: 'v1.1.5', reference: await server.commit('acme/tagged', { tag: 'v1.1.5' }) },
        { name: 'acme/private', version: 'dev-main', reference: await server.commit('acme/private', { basic: { username: 'ci', password: SECRET } }) },
      ];
      env = isolatedEnv(tmp.dir);
      await mkdir(env['COMPOSER_HOME']!, { recursive: true });
      const host = new URL(server.origin).host;
      await writeFile(path.join(env['COMPOSER_HOME']!, 'auth.json'), JSON.stringify({ 'http-basic': { [host]: { username: 'ci', password: SECRET } } }));
      await writeFile(
        path.join(project, 'composer.json'),
        JSON.stringify({ require: Object.fromEntries(sources.map((s) => [s.name, s.version])), 'minimum-stability': 'dev', config: { 'secure-http': false } }),
      );
      await writeLock(sources);
    });
    after(async () => {
      await server.close();
      await tmp?.cleanup();
    });

    it_('prefetch fills cache-vcs-dir; composer install then makes zero git requests, and works with the network disabled', async () => {
      // While the prefetch runs, no process's argv may carry the credential.
      const leaks: string[] = [];
      const child = spawn(process.execPath, [binPath, '--json=ndjson', '--progress=none'], { cwd: project, env, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const exited = new Promise<number>((resolve) => child.on('close', (code) => resolve(code ?? -1)));
      let done = false;
      void exited.then(() => (done = true));
      const token = Buffer.from(`ci:${SECRET}`).toString('base64');
      while (!done) {
        for (const pid of await readdir('/proc').catch(() => [] as string[])) {
          if (!/^\d+$/.test(pid)) continue;
          const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
          if (cmdline.includes(SECRET) || cmdline.includes(token)) leaks.push(cmdline.replace(/\0/g, ' '));
        }
        await new Promise((resolve) => setImmediate(resolve));
      }
      const code = await exited;
      assert.equal(code, 0, stderr);
      assert.deepEqual(leaks, []);
      assert.doesNotMatch(stdout + stderr, new RegExp(`${SECRET}|${token}`));
      const cached = (await execa('grep', ['-rl', '-e', SECRET, '-e', token, env['COMPOSER_CACHE_DIR']!], { reject: false })).stdout;
      assert.equal(cached, '', 'no file under the cache holds the credential');
      const events = stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { type: string; name?: string; result?: string });
      assert.deepEqual(
        events
          .filter((e) => e.type === 'done')
          .map((e) => e.name)
          .sort(),
        sources.map((s) => s.name).sort(),
      );

      // Real Composer, network allowed: not one request reaches the git server.
      const since = server.requests.length;
      const install = await runComposer(INSTALL, { cwd: project, env, composer });
      assert.equal(install.exitCode, 0, install.stderr);
      assert.equal(
        server.count(undefined, since),
        0,
        `composer install made git requests:\n${server.requests
          .slice(since)
          .map((r) => r.url)
          .join('\n')}`,
      );
      for (const s of sources) assert.equal(await vendorHead(s.name), s.reference, s.name);

      // And with the network off.
      await rm(path.join(project, 'vendor'), { recursive: true, force: true });
      const offline = await runComposer(INSTALL, { cwd: project, env: { ...env, COMPOSER_DISABLE_NETWORK: '1' }, composer });
      assert.equal(offline.exitCode, 0, offline.stderr);
      assert.doesNotMatch(offline.stderr, /Aborting git mirror sync/);
      assert.equal(server.count(undefined, since), 0);
      for (const s of sources) assert.equal(await vendorHead(s.name), s.reference, s.name);
    });

    it_('a second prefetch fetches nothing; `verify` agrees', async () => {
      const since = server.requests.length;
      const again = await runCli(['-v'], { cwd: project, env });
      assert.equal(again.exitCode, 0, again.stderr);
      assert.equal(server.count(undefined, since), 0);
      assert.match(again.stderr, /^Git mirrors: 0 cloned, 0 updated, 4 already complete, 0 failed\.$/m);
      assert.match(again.stderr, /^git .*for-each-ref/m, '-v shows the git commands');
      assert.doesNotMatch(again.stderr, new RegExp(SECRET));
      const verify = await runCli(['verify'], { cwd: project, env });
      assert.equal(verify.exitCode, 0, verify.stderr);
      assert.match(verify.stderr, /^Git mirrors: 4 of 4 complete in Composer's cache-vcs-dir\.$/m);
      const dry = await runCli(['--dry-run'], { cwd: project, env });
      assert.equal(dry.exitCode, 0, dry.stderr);
      assert.match(dry.stdout, /^4 git mirrors for packages installed from source/m);
    });

    it_('a lock moved to a newer reference updates the mirror (no re-clone), and composer install still goes offline', async () => {
      const mirrors = path.join(env['COMPOSER_CACHE_DIR']!, 'vcs');
      const dirs = await readdir(mirrors);
      const before = new Map(await Promise.all(dirs.map(async (d) => [d, (await stat(path.join(mirrors, d))).ino] as const)));
      const newer = await server.commit('acme/on-branch');
      sources = sources.map((s) => (s.name === 'acme/on-branch' ? { ...s, reference: newer } : s));
      await writeLock(sources);
      const verify = await runCli(['verify'], { cwd: project, env });
      assert.equal(verify.exitCode, 1, 'verify names the mirror that lacks the new reference');
      const since = server.requests.length;
      const fetch = await runCli([], { cwd: project, env });
      assert.equal(fetch.exitCode, 0, fetch.stderr);
      assert.ok(server.count('acme/on-branch', since) > 0);
      assert.equal(server.count(undefined, since), server.count('acme/on-branch', since), 'only the changed repository is contacted');
      assert.deepEqual(
        new Map(await Promise.all(dirs.map(async (d) => [d, (await stat(path.join(mirrors, d))).ino] as const))),
        before,
        'same folders: updated, not re-cloned',
      );
      await rm(path.join(project, 'vendor'), { recursive: true, force: true });
      const offline = await runComposer(INSTALL, { cwd: project, env: { ...env, COMPOSER_DISABLE_NETWORK: '1' }, composer });
      assert.equal(offline.exitCode, 0, offline.stderr);
      assert.equal(await vendorHead('acme/on-branch'), newer);
    });

    it_('SIGKILL during a clone leaves no mirror Composer would use; the next run cleans up and completes', async () => {
      const head = await server.commit('acme/killed');
      const list = [...sources, { name: 'acme/killed', version: 'dev-main', reference: head }];
      await writeLock(list);
      server.hold = true;
      const child = spawn(process.execPath, [binPath, '--progress=none'], { cwd: project, env, stdio: 'ignore' });
      const exited = new Promise((resolve) => child.on('close', resolve));
      await server.nextRequest((r) => r.repo === 'acme/killed');
      child.kill('SIGKILL');
      await exited;
      server.hold = false;
      const mirrors = path.join(env['COMPOSER_CACHE_DIR']!, 'vcs');
      const named = (await readdir(mirrors)).filter((d) => d.includes('acme-killed'));
      assert.ok(
        named.every((d) => d.startsWith('.')),
        `only a hidden temp folder may exist: ${named.join(', ')}`,
      );
      // Composer, offline, does not take the leftover for a mirror: it fails for that package.
      await rm(path.join(project, 'vendor'), { recursive: true, force: true });
      const offline = await runComposer(INSTALL, { cwd: project, env: { ...env, COMPOSER_DISABLE_NETWORK: '1' }, composer });
      assert.notEqual(offline.exitCode, 0);
      const rerun = await runCli([], { cwd: project, env });
      assert.equal(rerun.exitCode, 0, rerun.stderr);
      const left = (await readdir(mirrors)).filter((d) => d.startsWith('.'));
      assert.deepEqual(left, [], "the dead run's temp folder is gone");
      const install = await runComposer(INSTALL, { cwd: project, env: { ...env, COMPOSER_DISABLE_NETWORK: '1' }, composer });
      assert.equal(install.exitCode, 0, install.stderr);
      assert.ok(existsSync(path.join(project, 'vendor', 'acme', 'killed', 'composer.json')));
    });

    it_('--no-source leaves the git mirrors alone', async () => {
      const head = await server.commit('acme/not-mirrored');
      await writeLock([...sources, { name: 'acme/not-mirrored', version: 'dev-main', reference: head }]);
      const since = server.requests.length;
      const r = await runCli(['--no-source'], { cwd: project, env });
      assert.equal(r.exitCode, 0, r.stderr);
      assert.equal(server.count(undefined, since), 0);
      // The counter is real: without a mirror, composer install goes to the git server.
      await rm(path.join(project, 'vendor'), { recursive: true, force: true });
      const install = await runComposer(INSTALL, { cwd: project, env, composer });
      assert.equal(install.exitCode, 0, install.stderr);
      assert.ok(server.count('acme/not-mirrored', since) > 0);
      assert.equal(server.count(undefined, since), server.count('acme/not-mirrored', since));
    });
  });
