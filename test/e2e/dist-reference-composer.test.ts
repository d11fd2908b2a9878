/**
 * Issue 28 item 10, proven with real Composer: a lock whose `dist.reference` is `""` or a number.
 * Composer casts a set reference to a string (`ArrayLoader`), and from 2.7.3 on pins a
 * github-domains archive URL to any non-null one (`FileDownloader::processUrl`), so after one
 * prefetch the newest Composer downloads neither package. Debian's 2.5.5 pins only a truthy
 * reference: the number too, but not `""` (README: for such rare locks, the newer Composer is followed).
 */
import assert from 'node:assert/strict';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { execa } from 'execa';
import { composerPackageZip } from '../helpers/archives.js';
import { DistServer } from '../helpers/dist-server.js';
import { newest } from '../helpers/composers.js';
import { isolatedEnv, runCli, runComposer, tempDir } from '../helpers/run.js';

const INSTALL = ['install', '--no-plugins', '--no-scripts', '--no-autoloader', '--ignore-platform-reqs', '--no-interaction'];

describe('e2e: dist.reference "" and numeric, with real Composer', () => {
  let server: DistServer;
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  let project = '';
  let env: Record<string, string> = {};
  const packages = ['acme/empty-ref', 'acme/numeric-ref'];
  const asWritten = (name: string) => `/api/v3/repos/${name}/zipball/v1.0.0`;

  before(async () => {
    server = await new DistServer().start();
    tmp = await tempDir('cp-e2e-distref-');
    project = path.join(tmp.dir, 'project');
    await mkdir(project, { recursive: true });
    // As written, as pinned to "" (Composer >= 2.7.3) and as pinned to 12345 (every Composer): each serves the package.
    for (const name of packages) server.add(asWritten(name), composerPackageZip(name, '1.0.0'));
    server.add('/api/v3/repos/acme/empty-ref/zipball/', composerPackageZip('acme/empty-ref', '1.0.0'));
    server.add('/api/v3/repos/acme/numeric-ref/zipball/12345', composerPackageZip('acme/numeric-ref', '1.0.0'));
    const locked = [
      {
        name: 'acme/empty-ref',
        version: '1.0.0',
        type: 'library',
        dist: { type: 'zip', url: `${server.origin}${asWritten('acme/empty-ref')}`, reference: '' },
      },
      {
        name: 'acme/numeric-ref',
        version: '1.0.0',
        type: 'library',
        dist: { type: 'zip', url: `${server.origin}${asWritten('acme/numeric-ref')}`, reference: 12345 },
      },
    ];
    await writeFile(
      path.join(project, 'composer.json'),
      JSON.stringify({
        require: { 'acme/empty-ref': '1.0.0', 'acme/numeric-ref': '1.0.0' },
        config: { 'secure-http': false, 'github-domains': ['127.0.0.1'] },
      }),
    );
    await writeFile(
      path.join(project, 'composer.lock'),
      JSON.stringify(
        {
          'content-hash': 'x',
          packages: locked,
          'packages-dev': [],
          'minimum-stability': 'stable',
          'stability-flags': {},
          'prefer-stable': false,
          'prefer-lowest': false,
          platform: {},
          'platform-dev': {},
        },
        null,
        2,
      ),
    );
    env = isolatedEnv(tmp.dir);
  });
  after(async () => {
    await server?.stop();
    await tmp?.cleanup();
  });

  const prefetch = async () => {
    await rm(env['COMPOSER_CACHE_DIR']!, { recursive: true, force: true });
    await rm(path.join(project, 'vendor'), { recursive: true, force: true });
    const r = await runCli(['--json'], { cwd: project, env });
    assert.equal(r.exitCode, 0, r.stderr);
    const report = JSON.parse(r.stdout) as { packages: { name: string; status: string; url: string }[]; invalid: unknown[] };
    assert.deepEqual(report.invalid, [], 'a numeric reference is not an invalid entry');
    assert.deepEqual(
      report.packages.map((p) => [p.name, p.status]),
      packages.map((n) => [n, 'downloaded']),
    );
  };

  it(`[composer ${newest.composer?.version ?? 'newest'}] the newest Composer downloads neither package after a prefetch`, { skip: newest.skip }, async () => {
    await prefetch();
    const since = server.requests.length;
    const r = await execa(newest.composer!.bin, INSTALL, { cwd: project, env, extendEnv: false, reject: false, timeout: 300_000 });
    assert.equal(r.exitCode, 0, String(r.stderr));
    assert.match(String(r.stdout) + String(r.stderr), /Installing acme\/empty-ref/);
    assert.deepEqual(
      server.requests.slice(since).map((q) => q.path),
      [],
      'Composer found both archives in its cache',
    );
  });

  it('Debian\'s Composer 2.5.5: the numeric reference is served from the cache; "" is the documented old-Composer difference', async () => {
    await prefetch();
    const since = server.requests.length;
    const r = await runComposer(INSTALL, { cwd: project, env });
    assert.equal(r.exitCode, 0, r.stderr);
    // 2.5.5 tests the reference for truth: "" leaves the URL as written, hence another cache key.
    assert.deepEqual(
      server.requests.slice(since).map((q) => q.path),
      [asWritten('acme/empty-ref')],
    );
  });
});
