/**
 * Issue 28, end to end with real git (git http-backend and a real sshd on loopback) and real
 * Composer: source packages get one trust policy with dists. A credential never reaches another
 * origin, a password in a lock's URL is never printed nor put on argv nor into a folder name,
 * mirrors carry the folder name the newest Composer looks for, a silent host is bounded by the
 * download layer's limits, secure-http applies to git, the cause of an ssh failure is kept, and a
 * mirror lacking an object is never called complete.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer, type Socket } from 'node:net';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { execa } from 'execa';
import { DistServer } from '../helpers/dist-server.js';
import { GitServer } from '../helpers/git-server.js';
import { closedPort, listenOnLoopback } from '../helpers/loopback.js';
import { newest } from '../helpers/composers.js';
import { binPath, isolatedEnv, runCli, runComposer, tempDir, writeComposerProject } from '../helpers/run.js';
import { Sshd, sshdUnavailable } from '../helpers/sshd.js';

const INSTALL = ['install', '--no-plugins', '--no-scripts', '--no-autoloader', '--ignore-platform-reqs', '--no-interaction'];
const SECRET = 'TopSecret123';

interface Source {
  readonly name: string;
  readonly version?: string;
  readonly url: string;
  readonly reference: string;
}

/** A project whose lock lists `sources` (installed from source), with the given Composer config. */
function writeProject(dir: string, sources: readonly Source[], config: Record<string, unknown> = { 'secure-http': false }): Promise<void> {
  const packages = sources.map((s) => ({
    name: s.name,
    version: s.version ?? 'dev-main',
    type: 'library',
    source: { type: 'git', url: s.url, reference: s.reference },
  }));
  return writeComposerProject(dir, packages, config);
}

/** Every process's argv seen while `run` is going, that holds one of `needles`. */
async function argvLeaks(run: Promise<unknown>, needles: readonly string[]): Promise<string[]> {
  const leaks: string[] = [];
  let done = false;
  void run.finally(() => (done = true)).catch(() => undefined);
  while (!done) {
    for (const pid of await readdir('/proc').catch(() => [] as string[])) {
      if (!/^\d+$/.test(pid) || Number(pid) === process.pid) continue;
      const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
      if (needles.some((n) => cmdline.includes(n))) leaks.push(cmdline.replace(/\0/g, ' '));
    }
    await new Promise((resolve) => setImmediate(resolve));
  }
  return leaks;
}

describe('e2e: source packages you can trust (issue 28)', () => {
  const a = new GitServer();
  const b = new GitServer();
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  let env: Record<string, string> = {};
  let n = 0;
  const project = () => path.join(tmp.dir, `p${++n}`);

  before(async () => {
    await Promise.all([a.start(), b.start()]);
    tmp = await tempDir('cp-e2e-trust-');
    env = isolatedEnv(tmp.dir);
    await mkdir(env['COMPOSER_HOME']!, { recursive: true });
    // A `store` helper in the user's git config: the credential must never be handed to it.
    await mkdir(env['HOME']!, { recursive: true });
    await writeFile(path.join(env['HOME']!, '.gitconfig'), '[credential]\n\thelper = store\n');
  });
  after(async () => {
    await Promise.all([a.close(), b.close()]);
    await tmp?.cleanup();
  });

  it('a redirect to another origin carries no credential (auth.json and lock-URL userinfo alike); no store helper sees it', async () => {
    const dir = project();
    const headA = await b.commit('acme/moved');
    const headB = await b.commit('acme/moved-too');
    // Both repositories moved from A to B: A demands the credential, then redirects (a renamed repository).
    await a.commit('acme/moved', { basic: { username: 'ci', password: SECRET } });
    await a.commit('acme/moved-too', { basic: { username: 'deploy', password: SECRET } });
    a.redirect('acme/moved', b.origin);
    a.redirect('acme/moved-too', b.origin);
    const hostA = new URL(a.origin).host;
    await writeFile(path.join(env['COMPOSER_HOME']!, 'auth.json'), JSON.stringify({ 'http-basic': { [hostA]: { username: 'ci', password: SECRET } } }));
    const withUserinfo = a.url('acme/moved-too').replace('://', `://deploy:${SECRET}@`);
    await writeProject(dir, [
      { name: 'acme/moved', url: a.url('acme/moved'), reference: headA },
      { name: 'acme/moved-too', url: withUserinfo, reference: headB },
    ]);
    const sinceA = a.requests.length;
    const sinceB = b.requests.length;
    const r = await runCli(['--progress=none'], { cwd: dir, env });
    await rm(path.join(env['COMPOSER_HOME']!, 'auth.json'));
    assert.equal(r.exitCode, 0, r.stderr);
    const atA = a.requests.slice(sinceA);
    const atB = b.requests.slice(sinceB);
    assert.ok(
      atA.some((q) => q.authorization !== undefined),
      'the credential went to its own origin',
    );
    assert.ok(
      atA.some((q) => q.status === 302),
      'the origin redirected',
    );
    assert.ok(atB.length > 0, 'the other origin served the clone');
    assert.deepEqual(
      atB.filter((q) => q.authorization !== undefined).map((q) => q.url),
      [],
      'no Authorization header at the other origin',
    );
    assert.equal((await execa('ls', ['-A', env['HOME']!])).stdout.includes('.git-credentials'), false, 'no store helper wrote the credential');
  });

  for (const backend of ['native', 'aria2'] as const) {
    it(`--backend ${backend}: dists and credentialed, redirecting sources in one lock; the same rules for the mirrors, composer install then fetches nothing`, async () => {
      const dists = await new DistServer().start();
      try {
        const dir = project();
        const repo = `acme/mixed-${backend}`;
        const head = await b.commit(repo);
        await a.commit(repo, { basic: { username: 'deploy', password: SECRET } });
        a.redirect(repo, b.origin);
        const packages = dists.addPackages([`acme/dist-${backend}-one`, `acme/dist-${backend}-two`]);
        const url = a.url(repo).replace('://', `://deploy:${SECRET}@`);
        const source = { name: repo, version: 'dev-main', type: 'library', source: { type: 'git', url, reference: head } };
        await writeComposerProject(dir, [...packages, source]);
        const sinceB = b.requests.length;
        const r = await runCli(['--progress=none', '--backend', backend, '-v'], { cwd: dir, env });
        assert.equal(r.exitCode, 0, r.stderr);
        assert.doesNotMatch(r.stdout + r.stderr, new RegExp(SECRET));
        assert.deepEqual(
          b.requests
            .slice(sinceB)
            .filter((q) => q.authorization !== undefined)
            .map((q) => q.url),
          [],
        );
        const hitsBefore = dists.hits();
        const sinceA = a.requests.length;
        const sinceInstallB = b.requests.length;
        // The masked mirror folder is the newest Composer's; 2.5.5 would look for the password in its name.
        if (newest.composer === undefined) return;
        const install = await execa(newest.composer.bin, INSTALL, { cwd: dir, env, extendEnv: false, reject: false });
        assert.equal(install.exitCode, 0, String(install.stderr));
        assert.equal(dists.hits(), hitsBefore, 'no dist downloaded');
        assert.equal(a.count(undefined, sinceA) + b.count(undefined, sinceInstallB), 0, 'no git request');
      } finally {
        await dists.stop();
      }
    });
  }

  describe("a password in the lock's source URL", () => {
    let dir = '';
    let head = '';
    const repo = 'acme/private';
    before(async () => {
      dir = project();
      head = await a.commit(repo, { basic: { username: 'deploy', password: SECRET } });
    });

    it('a failure prints it nowhere: stderr, --json, ndjson, GitHub annotations and step summary', async () => {
      const wrong = a.url(repo).replace('://', `://deploy:${SECRET}-expired@`);
      await writeProject(dir, [{ name: repo, url: wrong, reference: head }]);
      const summary = path.join(tmp.dir, 'step-summary.md');
      const ghEnv = { ...env, GITHUB_ACTIONS: 'true', GITHUB_STEP_SUMMARY: summary };
      const json = await runCli(['--json', '--progress=none', '-v'], { cwd: dir, env: ghEnv });
      const ndjson = await runCli(['--json=ndjson', '--progress=none'], { cwd: dir, env: ghEnv });
      assert.equal(json.exitCode, 1, json.stderr);
      assert.equal(ndjson.exitCode, 1, ndjson.stderr);
      const everything = [json.stdout, json.stderr, ndjson.stdout, ndjson.stderr, await readFile(summary, 'utf8')].join('\n');
      assert.match(everything, /acme\/private/);
      assert.doesNotMatch(everything, new RegExp(SECRET));
      assert.doesNotMatch(everything, new RegExp(Buffer.from(`deploy:${SECRET}`).toString('base64')));
    });

    it('a success puts it on no argv and in no folder name; the newest Composer then installs with zero git requests, and offline', async () => {
      const url = a.url(repo).replace('://', `://deploy:${SECRET}@`);
      await writeProject(dir, [{ name: repo, url, reference: head }]);
      const child = spawn(process.execPath, [binPath, '--progress=none', '-v'], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (out += d.toString()));
      const exited = new Promise<number>((resolve) => child.on('close', (code) => resolve(code ?? -1)));
      const leaks = await argvLeaks(exited, [SECRET]);
      assert.equal(await exited, 0, out);
      assert.deepEqual(leaks, []);
      assert.doesNotMatch(out, new RegExp(SECRET));
      const vcs = path.join(env['COMPOSER_CACHE_DIR']!, 'vcs');
      const folders = await readdir(vcs);
      assert.ok(
        folders.some((f) => f.includes('deploy-----127.0.0.1')),
        `masked folder among ${folders.join(', ')}`,
      );
      assert.deepEqual(
        folders.filter((f) => f.includes(SECRET)),
        [],
      );
      assert.equal((await execa('grep', ['-rl', SECRET, vcs], { reject: false })).stdout, '', 'no file under cache-vcs-dir holds it');

      if (newest.composer === undefined) return;
      const since = a.requests.length;
      const install = await execa(newest.composer.bin, INSTALL, { cwd: dir, env, extendEnv: false, reject: false });
      assert.equal(install.exitCode, 0, String(install.stderr));
      assert.equal(a.count(undefined, since), 0, `Composer ${newest.composer.version} made git requests`);
      await rm(path.join(dir, 'vendor'), { recursive: true, force: true });
      const offline = await execa(newest.composer.bin, INSTALL, { cwd: dir, env: { ...env, COMPOSER_DISABLE_NETWORK: '1' }, extendEnv: false, reject: false });
      assert.equal(offline.exitCode, 0, String(offline.stderr));
      assert.equal((await execa('git', ['rev-parse', 'HEAD'], { cwd: path.join(dir, 'vendor', repo) })).stdout.trim(), head);
    });

    it('Composer 2.5.5 names that folder after the URL as written (the password in it), so it clones again: a known difference, not followed', async () => {
      const since = a.requests.length;
      await rm(path.join(dir, 'vendor'), { recursive: true, force: true });
      const install = await runComposer(INSTALL, { cwd: dir, env });
      assert.equal(install.exitCode, 0, install.stderr);
      assert.ok(a.count(repo, since) > 0, 'Composer 2.5.5 did not find the masked mirror and cloned');
    });
  });

  it('a host that accepts and goes silent is bounded by --stall-timeout and --retry-max-time (ssh)', async () => {
    const sockets = new Set<Socket>();
    const silent = createServer((socket) => void sockets.add(socket));
    const loop = await listenOnLoopback(silent);
    const port = (silent.address() as { port: number }).port;
    const dir = project();
    await writeProject(dir, [{ name: 'acme/silent', url: `ssh://git@127.0.0.1:${port}/acme/silent.git`, reference: 'a'.repeat(40) }]);
    const accepted = new Promise<void>((resolve) => silent.once('connection', () => resolve()));
    const started = Date.now();
    const r = await runCli(['--progress=none', '--json', '--stall-timeout', '1', '--connect-timeout', '60', '--retry-max-time', '4', '--retries', '50'], {
      cwd: dir,
      env,
      timeoutMs: 60_000,
    });
    const elapsed = Date.now() - started;
    await accepted;
    await loop.close();
    assert.equal(r.exitCode, 1, r.stderr);
    assert.match(r.stderr, /acme\/silent/);
    // Each attempt is stopped after 1 s of silence, or by the 4 s deadline itself, whichever comes first.
    assert.match(r.stderr, /--stall-timeout|--retry-max-time/);
    // Bounded by the 4 s deadline (plus start-up and the process kill), far below ssh's 60 s connect timeout.
    assert.ok(elapsed < 30_000, `ended after ${elapsed} ms`);
  });

  it('secure-http refuses an http:// source as it refuses an http dist (E_INSECURE, exit 1)', async () => {
    const head = await a.commit('acme/plain');
    const dir = project();
    await writeProject(dir, [{ name: 'acme/plain', url: a.url('acme/plain'), reference: head }], {});
    const since = a.requests.length;
    const r = await runCli(['--progress=none', '--json'], { cwd: dir, env });
    assert.equal(r.exitCode, 1, r.stderr);
    assert.match(r.stderr, /secure-http/);
    assert.match(r.stdout, /E_INSECURE/);
    assert.equal(a.count('acme/plain', since), 0, 'no request was made');
  });

  it('a mirror lacking an object of the locked commit fails `verify` and is cloned anew; composer install then makes zero git requests', async () => {
    const head = await a.commit('acme/damaged', { files: { 'composer.json': '{"name":"acme/damaged"}', 'src/Deep.php': '<?php // deep' } });
    const dir = project();
    await writeProject(dir, [{ name: 'acme/damaged', url: a.url('acme/damaged'), reference: head }]);
    assert.equal((await runCli(['--progress=none'], { cwd: dir, env })).exitCode, 0);
    const vcs = path.join(env['COMPOSER_CACHE_DIR']!, 'vcs');
    const mirror = path.join(vcs, (await readdir(vcs)).find((f) => f.endsWith('acme-damaged.git'))!);
    // Unpack the mirror's pack into loose objects, then lose one blob (a damaged or half-restored cache).
    const git = (...args: string[]) => execa('git', args, { cwd: mirror });
    const packs = path.join(mirror, 'objects', 'pack');
    const aside = path.join(tmp.dir, 'packs-aside');
    await rename(packs, aside);
    await mkdir(packs);
    for (const file of (await readdir(aside)).filter((f) => f.endsWith('.pack')))
      await execa('git', ['unpack-objects', '-q'], { cwd: mirror, inputFile: path.join(aside, file) });
    const blob = (await git('rev-parse', `${head}:src/Deep.php`)).stdout.trim();
    await rm(path.join(mirror, 'objects', blob.slice(0, 2), blob.slice(2)));
    assert.equal((await git('rev-parse', '--verify', `${head}^{commit}`)).exitCode, 0, 'the commit itself is still there');

    const verify = await runCli(['verify', '--json'], { cwd: dir, env });
    assert.equal(verify.exitCode, 1, verify.stderr);
    assert.match(verify.stdout, /lacks objects/);
    const since = a.requests.length;
    const again = await runCli(['--progress=none'], { cwd: dir, env });
    assert.equal(again.exitCode, 0, again.stderr);
    assert.match(again.stderr, /cloning it anew/);
    assert.ok(a.count('acme/damaged', since) > 0);
    assert.equal((await runCli(['verify'], { cwd: dir, env })).exitCode, 0);
    const before = a.requests.length;
    const install = await runComposer(INSTALL, { cwd: dir, env });
    assert.equal(install.exitCode, 0, install.stderr);
    assert.equal(a.count(undefined, before), 0);
  });

  describe('over ssh, against a real sshd', () => {
    const sshd = new Sshd();
    const unavailable = sshdUnavailable();
    let head = '';
    let repoPath = '';
    before(async () => {
      if (unavailable !== undefined) return;
      await sshd.start();
      head = await a.commit('acme/over-ssh');
      repoPath = path.join(a.root, 'acme/over-ssh.git');
    });
    after(async () => {
      if (unavailable === undefined) await sshd.stop();
    });
    const run = async (ssh: string | undefined, url = sshd.url(repoPath)) => {
      const dir = project();
      await writeProject(dir, [{ name: 'acme/over-ssh', url, reference: head }]);
      const runEnv = ssh === undefined ? env : { ...env, GIT_SSH_COMMAND: ssh };
      return { dir, runEnv, r: await runCli(['--progress=none', '--json', '--retries', '0'], { cwd: dir, env: runEnv }) };
    };

    it('an unknown host key: the cause is named, and it is not retried', { skip: unavailable }, async () => {
      const { r } = await run(sshd.sshCommand(sshd.files.key, sshd.files.emptyKnownHosts));
      assert.equal(r.exitCode, 1, r.stderr);
      assert.match(r.stderr, /Host key verification failed/);
      assert.match(r.stdout, /E_AUTH/);
    });

    it('a key the server does not accept: "Permission denied (publickey)" is named', { skip: unavailable }, async () => {
      const { r } = await run(sshd.sshCommand(sshd.files.wrongKey, sshd.files.knownHosts));
      assert.equal(r.exitCode, 1, r.stderr);
      assert.match(r.stderr, /Permission denied \(publickey\)/);
    });

    it('a refused connection is named', { skip: unavailable }, async () => {
      const port = await closedPort();
      const { r } = await run(sshd.sshCommand(sshd.files.key, sshd.files.knownHosts), `ssh://git@127.0.0.1:${port}/x.git`);
      assert.equal(r.exitCode, 1, r.stderr);
      assert.match(r.stderr, /Connection refused/);
    });

    it('the right key: the mirror is filled, and composer install logs in zero times', { skip: unavailable }, async () => {
      const { dir, runEnv, r } = await run(sshd.sshCommand(sshd.files.key, sshd.files.knownHosts));
      assert.equal(r.exitCode, 0, r.stderr);
      const mark = sshd.mark;
      const install = await runComposer(INSTALL, { cwd: dir, env: runEnv });
      assert.equal(install.exitCode, 0, install.stderr);
      assert.equal(sshd.logins(mark), 0, 'composer install connected to the ssh server');
      assert.equal((await execa('git', ['rev-parse', 'HEAD'], { cwd: path.join(dir, 'vendor', 'acme/over-ssh') })).stdout.trim(), head);
    });
  });
});
