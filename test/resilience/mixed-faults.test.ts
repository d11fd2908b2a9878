import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Fault } from '../helpers/dist-server.js';
import { runCli, runComposer } from '../helpers/run.js';
import { assertNoPartialAtComposerPaths, assertVendorMatchesArchives, buildProject, plannedPaths, tempFilesUnder, type Project } from './fixture.js';

const PACKAGES = 120;

/** One bounded fault scenario per residue; every package can be fetched by a client that retries well. */
function faultsFor(i: number): (readonly [Fault, number])[] {
  switch (i % 10) {
    case 0:
      return [[{ kind: 'status', status: 500 }, 2]];
    case 1:
      return [[{ kind: 'reset-mid-body', afterBytes: 20_000 }, 1]];
    case 2:
      return [[{ kind: 'status', status: 429, headers: { 'retry-after': '1' } }, 1]];
    case 3:
      return [[{ kind: 'truncate', afterBytes: 15_000 }, 1]];
    case 4:
      return [[{ kind: 'corrupt' }, 1]];
    case 5:
      return [[{ kind: 'stall-headers', ms: 2_000 }, 1]];
    case 6:
      // The body stalls; the resume's Range is then ignored (200): a clean restart.
      return [
        [{ kind: 'stall-body', afterBytes: 10_000, ms: 2_000 }, 1],
        [{ kind: 'ignore-range' }, 1],
      ];
    case 7:
      return [[{ kind: 'status', status: 503, headers: () => ({ 'retry-after': new Date(Date.now() + 1_000).toUTCString() }) }, 1]];
    case 8:
      return [[{ kind: 'reset-mid-body', afterBytes: 12_000 }, 2]];
    default:
      return [];
  }
}

// Short stall timeouts keep the file fast; the faults stall for 2 s, far beyond them.
const FLAGS = ['--headers-timeout', '0.5', '--stall-timeout', '0.5', '--connect-timeout', '2'];

describe(`mixed faults on a lock of ${PACKAGES} packages`, () => {
  let p: Project;
  before(async () => {
    p = await buildProject(
      Array.from({ length: PACKAGES }, (_, i) => ({
        name: `acme/pkg${String(i).padStart(3, '0')}`,
        version: `1.${i}.0`,
        // Most without a sha1 in the lock, as in real locks (Packagist's GitHub dists never have
        // one): every corrupt-body package (i % 10 === 4) has none, so only the deep check
        // (entry CRCs) can catch its damaged bytes.
        shasum: i % 5 === 0,
        faults: faultsFor(i),
        ...(i % 50 === 9 ? { deadMirror: true } : {}),
      })),
      { kib: () => 48 },
    );
  });
  after(async () => {
    await p?.cleanup();
  });

  it('every package lands valid; composer install then downloads nothing', async (t) => {
    // Baseline: the same lock, no faults, its own cache.
    const cleanEnv = { ...p.env, COMPOSER_CACHE_DIR: path.join(p.root, 'clean-cache') };
    const c0 = Date.now();
    const clean = await runCli(FLAGS, { cwd: p.project, env: cleanEnv });
    const cleanMs = Date.now() - c0;
    assert.equal(clean.exitCode, 0, clean.stderr);
    const cleanRequests = p.server.hits();

    p.server.resetLog();
    p.armFaults();
    const f0 = Date.now();
    const faulty = await runCli(FLAGS, { cwd: p.project, env: p.env, timeoutMs: 50_000 });
    const faultyMs = Date.now() - f0;
    assert.equal(faulty.exitCode, 0, faulty.stderr);
    assert.match(faulty.stderr, new RegExp(`${PACKAGES} downloaded`));
    const faultyRequests = p.server.hits();
    const faultRequests = p.server.requests.filter((r) => r.fault !== undefined).length;
    assert.equal(p.server.remainingFaults(), 0, 'every injected fault was hit');

    const planned = await plannedPaths(p);
    assert.equal(planned.length, PACKAGES);
    assert.equal(await assertNoPartialAtComposerPaths(p, planned), PACKAGES, 'every archive complete at its Composer path');
    assert.deepEqual(await tempFilesUnder(path.join(p.root, 'cache')), []);
    // Dead preferred mirror: the bytes came from dist.url, the file sits under the mirror URL's key.
    for (const entry of planned.filter((e) => p.packages.find((x) => x.name === e.name)?.deadMirror)) {
      assert.ok(existsSync(entry.cachePath), entry.cachePath);
    }

    const stats = {
      packages: PACKAGES,
      cleanRequests,
      cleanMs,
      faultyRequests,
      injectedFaultResponses: faultRequests,
      extraRequests: faultyRequests - cleanRequests,
      retriesPerPackage: Number(((faultyRequests - PACKAGES) / PACKAGES).toFixed(2)),
      faultyMs,
    };
    t.diagnostic(`resilience numbers: ${JSON.stringify(stats)}`);
    console.log(`resilience numbers: ${JSON.stringify(stats)}`);

    p.server.resetLog();
    const install = await runComposer(['install', '--no-plugins', '--no-scripts', '--no-autoloader', '--ignore-platform-reqs'], { cwd: p.project, env: p.env });
    assert.equal(install.exitCode, 0, install.stderr);
    assert.deepEqual(
      p.server.requests.filter((r) => p.distPaths.has(r.path) || r.path.startsWith('/mirror/')).map((r) => r.path),
      [],
      'composer install made dist downloads',
    );
    for (const pkg of p.packages) assert.ok(existsSync(path.join(p.project, 'vendor', pkg.name, 'composer.json')), `vendor/${pkg.name}`);
    await assertVendorMatchesArchives(p);
  });
});
