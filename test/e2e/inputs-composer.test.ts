import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { cp, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildProject, type Built } from '../helpers/composer-project.js';
import { runCli, runComposer } from '../helpers/run.js';

const INSTALL = ['install', '--no-plugins', '--no-scripts', '--no-autoloader', '--ignore-platform-reqs'];

/** Real Composer judges the other inputs too: many locks by glob, and vendor/composer/installed.json. */
describe('other inputs, judged by real Composer', () => {
  let b: Built;
  before(async () => {
    b = await buildProject();
  });
  after(async () => {
    await b?.cleanup();
  });

  it('two projects by glob: one de-duplicated plan, then composer install in each downloads nothing', async () => {
    const apps = path.join(b.root, 'apps');
    for (const app of ['one', 'two']) await cp(b.project, path.join(apps, app), { recursive: true });
    const env = { ...b.env, COMPOSER_CACHE_DIR: path.join(b.root, 'cache-glob') };
    b.server.resetLog();
    const run = await runCli(['apps/*/composer.lock'], { cwd: b.root, env });
    assert.equal(run.exitCode, 0, run.stderr);
    assert.match(run.stderr, /32 downloaded/, 'each archive once, not once per lock');
    assert.equal(
      b.server.hits((p) => b.distPaths.has(p)),
      32,
    );
    for (const app of ['one', 'two']) {
      b.server.resetLog();
      const install = await runComposer(INSTALL, { cwd: path.join(apps, app), env });
      assert.equal(install.exitCode, 0, install.stderr);
      assert.deepEqual(
        b.server.requests.filter((r) => b.distPaths.has(r.path)).map((r) => r.path),
        [],
        `${app}: composer install downloaded`,
      );
    }
  });

  it("a project's own cache-dir is honoured: each app's archives land in the cache its composer install reads", async () => {
    const apps = path.join(b.root, 'apps2');
    await cp(b.project, path.join(apps, 'plain'), { recursive: true });
    await cp(b.project, path.join(apps, 'own-cache'), { recursive: true });
    const composerJson = path.join(apps, 'own-cache', 'composer.json');
    const json = JSON.parse(await readFile(composerJson, 'utf8')) as { config: Record<string, unknown> };
    json.config['cache-dir'] = 'local-cache'; // relative: to the project, where composer runs
    await writeFile(composerJson, JSON.stringify(json, null, 2));
    // No COMPOSER_CACHE_DIR: it would beat every project's config.
    const { COMPOSER_CACHE_DIR: _unused, ...env } = b.env;
    const run = await runCli(['apps2/*/composer.lock'], { cwd: b.root, env });
    assert.equal(run.exitCode, 0, run.stderr);
    assert.match(run.stderr, /64 downloaded/, 'each cache gets its own copy');
    assert.match(run.stderr, /different Composer caches/);
    assert.ok(existsSync(path.join(apps, 'own-cache', 'local-cache', 'files', 'acme', 'lib01')));
    for (const app of ['plain', 'own-cache']) {
      b.server.resetLog();
      const install = await runComposer(INSTALL, { cwd: path.join(apps, app), env });
      assert.equal(install.exitCode, 0, install.stderr);
      assert.deepEqual(
        b.server.requests.filter((r) => b.distPaths.has(r.path)).map((r) => r.path),
        [],
        `${app}: composer install downloaded`,
      );
    }
  });

  it('vendor/composer/installed.json fills a fresh cache that composer install then uses', async () => {
    // An install (from the first cache) writes installed.json; then prefetch from it alone into a new cache.
    const first = await runCli([], { cwd: b.project, env: b.env });
    assert.equal(first.exitCode, 0, first.stderr);
    const install = await runComposer(INSTALL, { cwd: b.project, env: b.env });
    assert.equal(install.exitCode, 0, install.stderr);
    const env = { ...b.env, COMPOSER_CACHE_DIR: path.join(b.root, 'cache-installed') };
    const run = await runCli(['vendor/composer/installed.json'], { cwd: b.project, env });
    assert.equal(run.exitCode, 0, run.stderr);
    assert.match(run.stderr, /32 downloaded/);
    await rm(path.join(b.project, 'vendor'), { recursive: true });
    b.server.resetLog();
    const again = await runComposer(INSTALL, { cwd: b.project, env });
    assert.equal(again.exitCode, 0, again.stderr);
    assert.deepEqual(
      b.server.requests.filter((r) => b.distPaths.has(r.path)).map((r) => r.path),
      [],
    );
  });
});
