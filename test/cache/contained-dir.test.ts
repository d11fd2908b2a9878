import assert from 'node:assert/strict';
import { mkdir, readdir, symlink, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { cacheRootOf, ensureContainedDir } from '../../src/cache/contained-dir.js';
import { commitToCache } from '../../src/cache/commit.js';
import { composerPackageZip } from '../helpers/archives.js';
import { assertAria2cInstalled, writeLockProject } from '../helpers/aria2.js';
import { DistServer } from '../helpers/dist-server.js';
import { isolatedEnv, runCli, tempDir } from '../helpers/run.js';

describe('ensureContainedDir: nothing is written through a link that leaves the cache', () => {
  let dir = '';
  let cleanup: () => Promise<void>;
  before(async () => {
    ({ dir, cleanup } = await tempDir('cp-contained-'));
  });
  after(() => cleanup());

  it('derives the root from the task', () => {
    assert.equal(cacheRootOf({ cachePath: '/c/files/acme/a/1.zip', cacheKey: 'acme/a/1.zip' }), '/c/files');
  });

  it('creates missing levels and allows links that stay inside', async () => {
    const root = path.join(dir, 'ok', 'files');
    await mkdir(path.join(root, 'elsewhere'), { recursive: true });
    await symlink(path.join(root, 'elsewhere'), path.join(root, 'linked'));
    const real = await ensureContainedDir(path.join(root, 'linked', 'pkg', 'x.zip'), root);
    assert.equal(real, path.join(await import('node:fs/promises').then((fs) => fs.realpath(root)), 'elsewhere', 'pkg'));
    await ensureContainedDir(path.join(root, 'acme', 'alpha', 'x.zip'), root);
    assert.deepEqual((await readdir(path.join(root, 'acme'))).sort(), ['alpha']);
  });

  it('refuses a vendor link to the outside, before creating anything there', async () => {
    const root = path.join(dir, 'bad', 'files');
    const outside = path.join(dir, 'bad', 'outside');
    await mkdir(root, { recursive: true });
    await mkdir(outside);
    await symlink(outside, path.join(root, 'acme'));
    await assert.rejects(ensureContainedDir(path.join(root, 'acme', 'alpha', 'x.zip'), root), (error: Error & { code?: string }) => {
      assert.equal(error.code, 'E_CACHE');
      assert.match(error.message, /refusing to write through .*acme: it leads to .*outside, outside the cache/);
      return true;
    });
    assert.deepEqual(await readdir(outside), []);
  });

  it('a link to nowhere is a cache error naming it, never followed', async () => {
    const root = path.join(dir, 'dangling', 'files');
    await mkdir(root, { recursive: true });
    await symlink(path.join(dir, 'dangling', 'missing'), path.join(root, 'acme'));
    await assert.rejects(ensureContainedDir(path.join(root, 'acme', 'alpha', 'x.zip'), root), (error: Error & { code?: string }) => {
      assert.equal(error.code, 'E_CACHE');
      assert.match(error.message, /cannot prepare .*files\/acme in the cache: ENOENT/);
      return true;
    });
    assert.deepEqual(await readdir(path.join(dir, 'dangling')), ['files']);
  });

  it('commitToCache with the root refuses the rename and removes the staged file', async () => {
    const root = path.join(dir, 'bad', 'files');
    const staged = path.join(root, '.staged.cp-tmp');
    await writeFile(staged, 'x');
    await assert.rejects(commitToCache(staged, path.join(root, 'acme', 'beta', 'x.zip'), root), { code: 'E_CACHE' });
    assert.deepEqual((await readdir(root)).sort(), ['acme']);
    assert.deepEqual(await readdir(path.join(dir, 'bad', 'outside')), []);
  });
});

for (const backend of ['native', 'aria2'] as const) {
  describe(`a symlink planted at <cache>/files/<vendor> (${backend} backend)`, () => {
    let server: DistServer;
    let root = '';
    let cleanup: () => Promise<void>;
    before(async () => {
      if (backend === 'aria2') await assertAria2cInstalled();
      ({ dir: root, cleanup } = await tempDir(`cp-symlink-${backend}-`));
      server = await new DistServer().start();
    });
    after(async () => {
      await server.stop();
      await cleanup();
    });

    it("fails that vendor's packages with E_CACHE, writes nothing outside, and lands the others", async () => {
      const project = path.join(root, 'project');
      await writeLockProject(project, [
        { name: 'evil/alpha', url: server.add('/evil-alpha.zip', composerPackageZip('evil/alpha', '1.0.0')) },
        { name: 'good/beta', url: server.add('/good-beta.zip', composerPackageZip('good/beta', '1.0.0')) },
      ]);
      const env = isolatedEnv(root);
      const files = path.join(env['COMPOSER_CACHE_DIR']!, 'files');
      const outside = path.join(root, 'outside');
      await mkdir(files, { recursive: true });
      await mkdir(outside);
      await symlink(outside, path.join(files, 'evil'));
      // A stale file with our temp-name pattern out there is not ours to clean either.
      const stale = '.x.zip.1-0123456789ab.cp-tmp';
      await writeFile(path.join(outside, stale), 'not ours');
      await utimes(path.join(outside, stale), new Date(0), new Date(0));

      const run = await runCli(['--backend', backend, '--progress', 'plain', '--retries', '0', '--json'], { cwd: project, env });
      assert.equal(run.exitCode, 1, run.stderr);
      assert.deepEqual(await readdir(outside), [stale], 'nothing written or removed through the link');
      assert.equal((await readdir(path.join(files, 'good', 'beta'))).filter((n) => n.endsWith('.zip')).length, 1, 'the other package landed');
      const report = JSON.parse(run.stdout) as { packages: { name: string; status: string; error: { code: string; message: string } | null }[] };
      const evil = report.packages.find((p) => p.name === 'evil/alpha');
      assert.equal(evil?.status, 'failed');
      assert.equal(evil?.error?.code, 'E_CACHE');
      assert.match(evil?.error?.message ?? '', /refusing to write through .*evil: it leads to .*outside, outside the cache/);
      assert.equal(report.packages.find((p) => p.name === 'good/beta')?.status, 'downloaded');
    });
  });
}
