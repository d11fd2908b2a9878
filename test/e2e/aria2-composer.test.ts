import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { assertAria2cInstalled, leftovers, listTree } from '../helpers/aria2.js';
import { buildProject, type Built } from '../helpers/composer-project.js';
import { runCli, runComposer } from '../helpers/run.js';

describe('end to end with real Composer, --backend aria2 (real aria2c)', () => {
  let b: Built;
  before(async () => {
    await assertAria2cInstalled();
    b = await buildProject();
  });
  after(async () => {
    await b?.cleanup();
  });

  it('prefetches every dist through aria2, then composer install downloads nothing', async () => {
    b.server.resetLog();
    const started = Date.now();
    const run = await runCli(['--backend', 'aria2'], { cwd: b.project, env: b.env });
    const prefetchMs = Date.now() - started;
    assert.equal(run.exitCode, 0, `prefetch failed:\n${run.stderr}`);
    assert.match(run.stderr, /32 downloaded/);
    assert.match(run.stderr, /1 skipped/);
    const dists = b.server.requests.filter((r) => b.distPaths.has(r.path));
    assert.equal(dists.length, 32, 'one request per archive');
    assert.ok(
      dists.every((r) => /aria2/.test(String(r.headers['user-agent']))),
      'aria2 fetched every archive',
    );
    assert.equal(
      b.server.hits((p) => p.startsWith('/mirror/')),
      1,
      'the preferred mirror is fetched first',
    );
    assert.deepEqual(leftovers(await listTree(path.join(b.root, 'cache'))), [], 'no staging dir, .aria2 or temp file left');
    console.log(`# aria2 prefetch of 32 archives: ${prefetchMs} ms (CLI wall time incl. startup)`);

    b.server.resetLog();
    const install = await runComposer(['install', '--no-plugins', '--no-scripts', '--no-autoloader', '--ignore-platform-reqs', '-vvv'], {
      cwd: b.project,
      env: b.env,
    });
    assert.equal(install.exitCode, 0, `composer install failed:\n${install.stderr}`);
    assert.deepEqual(
      b.server.requests.filter((r) => b.distPaths.has(r.path)).map((r) => r.path),
      [],
      'composer install made dist downloads',
    );
    for (const name of b.expectedVendor) {
      assert.ok(existsSync(path.join(b.project, 'vendor', name, 'composer.json')), `vendor/${name} installed`);
    }
    assert.match(install.stdout + install.stderr, /Loading acme\/lib01 \(1\.1\.0\) from cache/);
  });

  it('a second aria2 run finds everything cached and does not start aria2c', async () => {
    b.server.resetLog();
    const run = await runCli(['--backend', 'aria2', '--aria2c', '/nonexistent/aria2c'], { cwd: b.project, env: b.env });
    assert.equal(run.exitCode, 0, run.stderr);
    assert.match(run.stderr, /0 downloaded .* 32 already cached/);
    assert.equal(b.server.hits(), 0);
  });
});
