import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { execa } from 'execa';
import { fetchMirrors, type MirrorEvent, type MirrorFetchOptions } from '../../src/vcs/fetch-mirrors.js';
import type { MirrorPlan, MirrorTask } from '../../src/vcs/plan-mirrors.js';
import { mirrorDirName } from '../../src/vcs/plan-mirrors.js';
import { defaultRetryPolicy } from '../../src/net/retry-policy.js';
import { ForwardProxy } from '../helpers/forward-proxy.js';
import { GitServer } from '../helpers/git-server.js';
import { tempDir } from '../helpers/run.js';

const SECRET = 'pa55-w0rd-XYZ';

describe('fetchMirrors against git http-backend', () => {
  const server = new GitServer();
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  let vcs = '';
  before(async () => {
    await server.start();
    tmp = await tempDir('cp-vcs-fetch-');
    vcs = path.join(tmp.dir, 'cache', 'vcs');
  });
  after(async () => {
    await server.close();
    await tmp.cleanup();
  });

  const task = (repo: string, refs: { reference: string; version: string; name?: string }[]): MirrorTask => ({
    url: server.url(repo),
    dir: path.join(vcs, mirrorDirName(server.url(repo))),
    refs: refs.map((r) => ({ packageName: r.name ?? repo, version: r.version, reference: r.reference, dev: false, origin: 'composer.lock' })),
  });
  const plan = (...tasks: MirrorTask[]): MirrorPlan => ({ cacheVcsDir: vcs, tasks, skipped: [] });
  const run = (p: MirrorPlan, extra: Partial<MirrorFetchOptions> = {}) => {
    const events: MirrorEvent[] = [];
    const options: MirrorFetchOptions = {
      mode: 'fetch',
      concurrency: 8,
      perHost: 4,
      retry: { ...defaultRetryPolicy, retries: 1, baseDelayMs: 10, maxTimeMs: 60_000 },
      stallTimeoutMs: 30_000,
      env: { base: { PATH: process.env['PATH'], HOME: tmp.dir }, lowSpeedLimit: 1024, lowSpeedSeconds: 30 },
      credential: () => undefined,
      signal: new AbortController().signal,
      emit: (e) => events.push(e),
      ...extra,
    };
    return fetchMirrors(p, options).then((outcome) => ({ ...outcome, events }));
  };
  const git = (dir: string, ...args: string[]) => execa('git', args, { cwd: dir, env: { PATH: process.env['PATH'], HOME: tmp.dir }, extendEnv: false });

  it('clones a missing mirror, checked, with the plain URL as origin; a second run fetches nothing', async () => {
    const head = await server.commit('acme/a', { branch: 'main' });
    const t = task('acme/a', [{ reference: head, version: 'dev-main' }]);
    const first = await run(plan(t));
    assert.equal(first.results[0]!.kind, 'cloned');
    assert.equal((await git(t.dir, 'rev-parse', '--git-dir')).stdout, '.');
    assert.equal((await git(t.dir, 'config', 'remote.origin.url')).stdout, server.url('acme/a'));
    assert.equal((await git(t.dir, 'config', '--bool', 'core.bare')).stdout, 'true');
    assert.deepEqual(
      (await readdir(vcs)).filter((n) => n.startsWith('.')),
      [],
    );
    const since = server.requests.length;
    const second = await run(plan(t));
    assert.equal(second.results[0]!.kind, 'cached');
    assert.equal(server.count(undefined, since), 0);
  });

  it('a newer locked reference updates the mirror in place (a fetch with prune, as git remote update), never re-clones it', async () => {
    const t0 = task('acme/a', [
      { reference: (await git(path.join(vcs, mirrorDirName(server.url('acme/a'))), 'rev-parse', 'main')).stdout, version: 'dev-main' },
    ]);
    await writeFile(path.join(t0.dir, 'marker'), 'kept');
    const inode = (await stat(t0.dir)).ino;
    const head = await server.commit('acme/a', { branch: 'main' });
    const t = task('acme/a', [{ reference: head, version: 'dev-main' }]);
    const out = await run(plan(t));
    assert.equal(out.results[0]!.kind, 'updated');
    assert.equal((await stat(t.dir)).ino, inode);
    assert.equal(await readFile(path.join(t.dir, 'marker'), 'utf8'), 'kept');
    assert.ok(out.events.some((e) => e.type === 'command' && e.args.join(' ') === 'fetch --prune --progress origin'));
    assert.equal((await git(t.dir, 'rev-parse', '--verify', `${head}^{commit}`)).stdout, head);
  });

  it('a tag created after the commit was cached is fetched (the branch/tag check of fetchRefOrSyncMirror)', async () => {
    const dir = path.join(vcs, mirrorDirName(server.url('acme/a')));
    const head = (await git(dir, 'rev-parse', 'main')).stdout;
    await server.commit('acme/a', { branch: 'main', files: {}, tag: 'v9.0.0' });
    const tagged = (await execa('git', ['ls-remote', server.url('acme/a'), 'refs/tags/v9.0.0'])).stdout.split('\t')[0]!;
    assert.notEqual(tagged, head);
    const t = task('acme/a', [{ reference: head, version: 'v9.0.0' }]);
    const out = await run(plan(t));
    assert.equal(out.results[0]!.kind, 'updated');
    assert.match((await git(dir, 'tag')).stdout, /^v9\.0\.0$/m);
  });

  it('a private repository gets its credential in the environment only: not argv, not the mirror, not the events', async () => {
    const head = await server.commit('acme/priv', { basic: { username: 'ci', password: SECRET } });
    const t = task('acme/priv', [{ reference: head, version: 'dev-main' }]);
    const denied = await run(plan(t));
    assert.equal(denied.results[0]!.kind, 'failed');
    assert.equal(denied.results[0]!.kind === 'failed' && denied.results[0]!.error.code, 'E_AUTH');
    assert.equal(denied.results[0]!.kind === 'failed' && denied.results[0]!.attempts, 1);
    assert.equal(existsSync(t.dir), false);
    const ok = await run(plan(t), {
      credential: (url) => (url.host === new URL(server.origin).host ? { kind: 'basic', username: 'ci', password: SECRET } : undefined),
    });
    assert.equal(ok.results[0]!.kind, 'cloned');
    assert.doesNotMatch(JSON.stringify(ok.events), new RegExp(`${SECRET}|${Buffer.from(`ci:${SECRET}`).toString('base64')}`));
    const files = await execa('grep', ['-rl', '-e', SECRET, '-e', Buffer.from(`ci:${SECRET}`).toString('base64'), t.dir], { reject: false });
    assert.equal(files.stdout, '');
  });

  it('a reference the repository does not have fails that package, by name, and leaves no mirror', async () => {
    await server.commit('acme/gone');
    const t = task('acme/gone', [{ reference: 'f'.repeat(40), version: 'dev-main', name: 'acme/gone-pkg' }]);
    const out = await run(plan(t));
    const r = out.results[0]!;
    assert.equal(r.kind, 'failed');
    assert.equal(r.kind === 'failed' && r.error.packageName, 'acme/gone-pkg');
    assert.equal(r.kind === 'failed' && r.error.code, 'E_PACKAGE');
    assert.equal(existsSync(t.dir), false);
  });

  it('two packages share a repository and one reference is gone: the mirror serves the other, the gone one fails by name', async () => {
    const head = await server.commit('acme/shared');
    const t = task('acme/shared', [
      { reference: head, version: 'dev-main', name: 'acme/kept' },
      { reference: 'e'.repeat(40), version: 'dev-old', name: 'acme/lost' },
    ]);
    const r = (await run(plan(t))).results[0]!;
    assert.equal(r.kind, 'cloned');
    assert.deepEqual(r.kind === 'cloned' && r.missing.map((m) => [m.ref.packageName, m.error.code, m.error.packageName]), [
      ['acme/lost', 'E_PACKAGE', 'acme/lost'],
    ]);
    assert.equal((await git(t.dir, 'rev-parse', '--git-dir')).stdout, '.');
  });

  it('a folder Composer would not take for a mirror is replaced', async () => {
    const head = await server.commit('acme/broken');
    const t = task('acme/broken', [{ reference: head, version: 'dev-main' }]);
    await mkdir(t.dir, { recursive: true });
    await writeFile(path.join(t.dir, 'HEAD'), 'garbage');
    const out = await run(plan(t));
    assert.equal(out.results[0]!.kind, 'cloned');
    assert.equal((await git(t.dir, 'rev-parse', '--git-dir')).stdout, '.');
    assert.deepEqual(
      (await readdir(vcs)).filter((n) => n.startsWith('.')),
      [],
    );
  });

  it("a mirror missing an object of another branch (not the locked one) fails check mode and is cloned anew: Composer's --dissociate repack reads every ref", async () => {
    const head = await server.commit('acme/holed', { branch: 'main' });
    await server.commit('acme/holed', { branch: 'side', files: { 'side.txt': 'only on side' } });
    const t = task('acme/holed', [{ reference: head, version: 'dev-main' }]);
    assert.equal((await run(plan(t))).results[0]!.kind, 'cloned');
    const packs = path.join(t.dir, 'objects', 'pack');
    for (const file of (await readdir(packs)).filter((f) => f.endsWith('.pack'))) {
      const pack = path.join(packs, file);
      const body = await readFile(pack);
      await rm(pack);
      await rm(pack.replace(/\.pack$/, '.idx'));
      await execa('git', ['unpack-objects', '-q'], { cwd: t.dir, input: body });
    }
    const blob = (await git(t.dir, 'rev-parse', 'side:side.txt')).stdout.trim();
    await rm(path.join(t.dir, 'objects', blob.slice(0, 2), blob.slice(2)));
    const checked = await run(plan(t), { mode: 'check' });
    const failed = checked.results[0]!;
    assert.equal(failed.kind, 'failed');
    assert.match(failed.kind === 'failed' ? failed.error.message : '', /lacks objects its refs reach .*missing blob/);
    const fixed = await run(plan(t));
    assert.equal(fixed.results[0]!.kind, 'cloned');
    assert.ok(fixed.events.some((e) => e.type === 'warning' && /cloning it anew/.test(e.message)));
    assert.equal((await git(t.dir, 'rev-list', '--objects', '--quiet', '--all')).exitCode, 0);
    assert.equal((await run(plan(t), { mode: 'check' })).results[0]!.kind, 'cached');
  });

  it('a stalled clone is killed after --stall-timeout of silence, retried, then failed; nothing is left behind', async () => {
    const head = await server.commit('acme/stall');
    const t = task('acme/stall', [{ reference: head, version: 'dev-main' }]);
    server.hold = true;
    try {
      const out = await run(plan(t), { stallTimeoutMs: 1500 });
      const r = out.results[0]!;
      assert.equal(r.kind, 'failed');
      assert.equal(r.kind === 'failed' && r.error.code, 'E_NETWORK');
      assert.equal(r.kind === 'failed' && r.attempts, 2);
      assert.ok(out.events.some((e) => e.type === 'retried'));
    } finally {
      server.hold = false;
    }
    assert.equal(existsSync(t.dir), false);
    assert.deepEqual(
      (await readdir(vcs)).filter((n) => n.startsWith('.')),
      [],
    );
  });

  it('an interrupt stops a clone at once and leaves nothing behind', async () => {
    const head = await server.commit('acme/interrupted');
    const t = task('acme/interrupted', [{ reference: head, version: 'dev-main' }]);
    server.hold = true;
    const controller = new AbortController();
    try {
      const running = run(plan(t), { signal: controller.signal });
      await server.nextRequest((r) => r.repo === 'acme/interrupted');
      const stopped = Date.now();
      controller.abort();
      const out = await running;
      assert.ok(Date.now() - stopped < 2000, 'stops within two seconds');
      assert.equal(out.results[0]!.kind === 'failed' && out.results[0]!.error.code, 'E_ABORTED');
    } finally {
      server.hold = false;
    }
    assert.equal(existsSync(t.dir), false);
    assert.deepEqual(
      (await readdir(vcs)).filter((n) => n.startsWith('.')),
      [],
    );
  });

  it('a proxy from the environment (HTTP_PROXY, as Composer reads it) carries the git traffic', async () => {
    const proxy = await new ForwardProxy().start();
    try {
      const head = await server.commit('acme/proxied');
      const t = task('acme/proxied', [{ reference: head, version: 'dev-main' }]);
      // git (libcurl) never proxies 127.0.0.1 unless told so; NO_PROXY is cleared for the same reason.
      const out = await run(plan(t), {
        env: { base: { PATH: process.env['PATH'], HOME: tmp.dir, HTTP_PROXY: proxy.url, NO_PROXY: '' }, lowSpeedLimit: 1024, lowSpeedSeconds: 30 },
      });
      assert.equal(out.results[0]!.kind, 'cloned');
      assert.ok(
        proxy.log.some((r) => r.target.includes('/acme/proxied.git/')),
        'requests went through the proxy',
      );
    } finally {
      await proxy.stop();
    }
  });

  it('two runs at once: both succeed, one good mirror stays, no temp folder is left', async () => {
    const head = await server.commit('acme/raced');
    const t = task('acme/raced', [{ reference: head, version: 'dev-main' }]);
    const [a, b] = await Promise.all([run(plan(t)), run(plan(t))]);
    assert.deepEqual([a.results[0]!.kind, b.results[0]!.kind].sort(), ['cloned', 'cloned']);
    assert.equal((await git(t.dir, 'rev-parse', '--verify', `${head}^{commit}`)).stdout, head);
    assert.equal((await git(t.dir, 'fsck', '--no-progress')).exitCode, 0);
    assert.deepEqual(
      (await readdir(vcs)).filter((n) => n.startsWith('.')),
      [],
    );
  });

  it('bounds git processes per host', async () => {
    const repos = ['p/1', 'p/2', 'p/3', 'p/4', 'p/5'];
    const tasks = await Promise.all(repos.map(async (r) => task(r, [{ reference: await server.commit(r), version: 'dev-main' }])));
    let running = 0;
    let peak = 0;
    const out = await run(plan(...tasks), {
      perHost: 2,
      emit: (e) => {
        if (e.type === 'started') peak = Math.max(peak, ++running);
        if (e.type === 'result') running--;
      },
    });
    assert.deepEqual(
      out.results.map((r) => r.kind),
      repos.map(() => 'cloned'),
    );
    assert.equal(peak, 2);
  });

  it('check mode names a missing mirror and fetches nothing', async () => {
    const since = server.requests.length;
    const t = task('acme/never', [{ reference: 'a'.repeat(40), version: 'dev-main' }]);
    const out = await run(plan(t), { mode: 'check' });
    assert.equal(out.results[0]!.kind, 'failed');
    assert.equal(out.results[0]!.kind === 'failed' && out.results[0]!.error.code, 'E_CACHE');
    assert.equal(server.count(undefined, since), 0);
  });

  it('no git on PATH: nothing tried, reported as missing', async () => {
    const out = await run(plan(task('acme/a', [{ reference: 'a'.repeat(40), version: 'dev-main' }])), { git: path.join(tmp.dir, 'no-such-git') });
    assert.equal(out.gitMissing, true);
    assert.deepEqual(out.results, []);
  });
});
