import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildProject, type Built } from '../helpers/composer-project.js';
import { composers, titled } from '../helpers/composers.js';
import { runCli, runComposer } from '../helpers/run.js';

/** The fields of a composer.lock package these checks read, as Composer writes them. */
interface RawLockedPackage {
  readonly dist?: { readonly type: string; readonly url: string; readonly shasum?: string; readonly mirrors?: readonly { readonly preferred?: boolean }[] };
  readonly source?: unknown;
}

for (const c of composers)
  describe(`end to end with real Composer ${c.label}`, { skip: c.skip }, () => {
    const composer = c.composer?.bin;
    const it_ = (title: string, fn: () => Promise<void>) => it(titled(c, title), fn);
    let b: Built;
    before(async () => {
      b = await buildProject(composer);
    });
    after(async () => {
      await b?.cleanup();
    });

    it_('writes a lock with every case the test needs', async () => {
      const lock = JSON.parse(await readFile(path.join(b.project, 'composer.lock'), 'utf8')) as Record<'packages' | 'packages-dev', RawLockedPackage[]>;
      const all = [...lock.packages, ...lock['packages-dev']];
      assert.ok(all.length >= 30, `${all.length} packages`);
      assert.equal(lock['packages-dev'].length, 2);
      assert.ok(
        all.some((p) => p.dist?.mirrors?.some((m) => m.preferred)),
        'a preferred mirror',
      );
      assert.ok(
        all.some((p) => p.dist?.url.includes('%package%')),
        'a placeholder URL',
      );
      assert.ok(
        all.some((p) => p.dist?.type === 'tar'),
        'a tar dist',
      );
      assert.ok(
        all.some((p) => p.dist === undefined && p.source),
        'a source-only package',
      );
      assert.ok(all.some((p) => p.dist?.shasum) && all.some((p) => p.dist && !p.dist.shasum), 'sha1 present and empty');
      assert.equal(
        b.server.hits((p) => b.distPaths.has(p)),
        0,
        'composer update downloaded no dist',
      );
    });

    it_('prefetches every dist, then composer install downloads nothing', async () => {
      b.server.resetLog();
      const run = await runCli([], { cwd: b.project, env: b.env });
      assert.equal(run.exitCode, 0, `prefetch failed:\n${run.stderr}`);
      assert.match(run.stderr, /32 downloaded/);
      assert.doesNotMatch(run.stderr, /\(node:\d+\)/, 'no Node runtime warnings (e.g. MaxListenersExceededWarning) on stderr');
      assert.match(run.stderr, /1 skipped/);
      assert.equal(
        b.server.hits((p) => p.startsWith('/mirror/')),
        1,
        'the preferred mirror is fetched first',
      );
      assert.equal(
        b.server.hits((p) => p === '/dists/acme-epsilon-1.0.0.zip'),
        0,
      );
      assert.equal(
        b.server.hits((p) => p.startsWith('/api/v3/repos/acme/pinned/zipball/') && !p.endsWith('/v1.0.0')),
        1,
        'the pinned URL is fetched',
      );
      assert.equal(
        b.server.hits((p) => p.endsWith('/zipball/v1.0.0')),
        0,
        'the URL as written is not',
      );

      b.server.resetLog();
      const install = await runComposer(['install', '--no-plugins', '--no-scripts', '--no-autoloader', '--ignore-platform-reqs', '-vvv'], {
        cwd: b.project,
        env: b.env,
        composer,
      });
      assert.equal(install.exitCode, 0, `composer install failed:\n${install.stderr}`);
      const distHits = b.server.requests.filter((r) => b.distPaths.has(r.path));
      assert.deepEqual(
        distHits.map((r) => r.path),
        [],
        'composer install made dist downloads',
      );
      for (const name of b.expectedVendor) {
        assert.ok(existsSync(path.join(b.project, 'vendor', name, 'composer.json')), `vendor/${name} installed`);
      }
      const pinned = JSON.parse(await readFile(path.join(b.project, 'vendor', 'acme', 'pinned', 'composer.json'), 'utf8')) as { name: string };
      assert.equal(pinned.name, 'acme/pinned', 'the tree of dist.reference was installed');
      assert.match(install.stdout + install.stderr, /Loading acme\/lib01 \(1\.1\.0\) from cache/);
    });

    it_('a second prefetch finds everything cached and downloads nothing', async () => {
      b.server.resetLog();
      const run = await runCli([], { cwd: b.project, env: b.env });
      assert.equal(run.exitCode, 0, run.stderr);
      assert.match(run.stderr, /0 downloaded .* 32 already cached/);
      assert.equal(b.server.hits(), 0);
    });

    it_('the counting is real: a removed cache entry makes composer install download exactly that one', async () => {
      const dry = await runCli(['--dry-run', '--json'], { cwd: b.project, env: b.env });
      assert.equal(dry.exitCode, 0, dry.stderr);
      const report = JSON.parse(dry.stdout) as { packages: { name: string; cachePath: string }[] };
      const victim = report.packages.find((p) => p.name === 'acme/lib03');
      assert.ok(victim);
      await rm(victim.cachePath);
      await rm(path.join(b.project, 'vendor'), { recursive: true, force: true });
      b.server.resetLog();
      const install = await runComposer(['install', '--no-plugins', '--no-scripts', '--no-autoloader', '--ignore-platform-reqs'], {
        cwd: b.project,
        env: b.env,
        composer,
      });
      assert.equal(install.exitCode, 0, install.stderr);
      assert.deepEqual(
        b.server.requests.filter((r) => b.distPaths.has(r.path)).map((r) => r.path),
        ['/dists/acme-lib03-1.3.0.zip'],
      );
    });
  });
