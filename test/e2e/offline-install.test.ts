import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { cp, rm } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildProject, type Project } from '../resilience/fixture.js';
import { composers, titled } from '../helpers/composers.js';
import { runCli, runComposer } from '../helpers/run.js';

const INSTALL = ['install', '--no-plugins', '--no-scripts', '--no-autoloader', '--ignore-platform-reqs'];

/** The README's air-gapped recipe: prefetch into a folder, carry it, install with the network off. */
for (const c of composers)
  describe(`offline / air-gapped install from a prefetched folder, Composer ${c.label}`, { skip: c.skip }, () => {
    const composer = c.composer?.bin;
    let p: Project;
    before(async () => {
      p = await buildProject(
        Array.from({ length: 6 }, (_, i) => ({ name: `acme/offline${i}`, version: `1.${i}.0`, shasum: i % 2 === 0, faults: [] })),
        { kib: () => 16 },
      );
    });
    after(async () => {
      await p?.cleanup();
    });

    it(titled(c, 'COMPOSER_CACHE_DIR=<folder> COMPOSER_DISABLE_NETWORK=1 composer install succeeds with the dist server stopped'), async () => {
      const folder = path.join(p.root, 'carried-cache');
      const fetch = await runCli(['--cache-dir', folder], { cwd: p.project, env: p.env });
      assert.equal(fetch.exitCode, 0, fetch.stderr);

      // "Carry" it: a copy somewhere else, and no server any more.
      const carried = path.join(p.root, 'usb-stick', 'composer-cache');
      await cp(folder, carried, { recursive: true });
      await p.server.stop();
      const offline = { ...p.env, COMPOSER_CACHE_DIR: carried, COMPOSER_DISABLE_NETWORK: '1' };

      assert.equal((await runCli(['verify'], { cwd: p.project, env: offline })).exitCode, 0, 'verify agrees before installing');
      const install = await runComposer(INSTALL, { cwd: p.project, env: offline, composer });
      assert.equal(install.exitCode, 0, `composer install failed offline:\n${install.stderr}`);
      for (const pkg of p.packages) assert.ok(existsSync(path.join(p.project, 'vendor', pkg.name, 'composer.json')), `vendor/${pkg.name}`);

      // The proof is real: without the folder, the same offline install fails.
      await rm(path.join(p.project, 'vendor'), { recursive: true, force: true });
      const empty = await runComposer(INSTALL, { cwd: p.project, env: { ...offline, COMPOSER_CACHE_DIR: path.join(p.root, 'empty-cache') }, composer });
      assert.notEqual(empty.exitCode, 0, 'an offline install without the prefetched folder must fail');
    });
  });
