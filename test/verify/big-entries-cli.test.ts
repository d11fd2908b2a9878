import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { makeZip } from '../helpers/archives.js';
import { DistServer } from '../helpers/dist-server.js';
import { isolatedEnv, runCli, tempDir, writeHttpProject } from '../helpers/run.js';

const sha1 = (b: Buffer | string): string => createHash('sha1').update(b).digest('hex');

/**
 * Entries over 4 MiB are inflated as a stream, the others in one call. Many such archives checked
 * at once beside ordinary downloads, then `verify` over the lot: every file descriptor has one
 * owner, so no run prints a process warning (a fd closed twice prints "File descriptor N closed
 * but not opened", and can close another download's file or socket).
 */
describe('archives with entries over 4 MiB, many at once', () => {
  let server: DistServer;
  let root: string;
  let cleanup: () => Promise<void>;
  let project: string;

  before(async () => {
    ({ dir: root, cleanup } = await tempDir('cp-big-'));
    server = await new DistServer().start();
    const packages: Record<string, unknown>[] = [];
    for (let i = 0; i < 8; i++) {
      const name = `acme/big${i}`;
      // Compressible but not uniform: 5 MiB of text with random lines.
      const sql = Buffer.concat(Array.from({ length: 80 }, () => Buffer.from(`INSERT INTO t VALUES ('${randomBytes(24).toString('hex')}');\n`.repeat(1400))));
      const zip = makeZip([
        { name: `big${i}/composer.json`, content: JSON.stringify({ name }), compress: true },
        { name: `big${i}/data/dump.sql`, content: sql, compress: true },
      ]);
      server.add(`/dists/big${i}.zip`, zip);
      // No shasum, as in most real locks: only the archive check protects these.
      packages.push({ name, version: '1.0.0', type: 'library', dist: { type: 'zip', url: `${server.origin}/dists/big${i}.zip`, reference: sha1(name) } });
    }
    for (let i = 0; i < 16; i++) {
      const name = `acme/small${i}`;
      const zip = makeZip([{ name: `small${i}/composer.json`, content: JSON.stringify({ name }), compress: true }]);
      server.add(`/dists/small${i}.zip`, zip);
      packages.push({ name, version: '1.0.0', type: 'library', dist: { type: 'zip', url: `${server.origin}/dists/small${i}.zip`, reference: sha1(name) } });
    }
    project = path.join(root, 'project');
    await writeHttpProject(project, packages);
  });
  after(async () => {
    await server.stop();
    await cleanup();
  });

  for (const backend of ['native', 'aria2'] as const)
    it(`prefetch (--backend ${backend}) and verify finish without a process warning, on both runs`, async () => {
      const env = isolatedEnv(root, { COMPOSER_CACHE_DIR: path.join(root, `cache-${backend}`) });
      const first = await runCli(['--no-progress', '--backend', backend], { cwd: project, env });
      assert.equal(first.exitCode, 0, first.stderr);
      assert.doesNotMatch(first.stderr, /Warning:|EBADF/);
      const verify = await runCli(['verify', '--no-progress'], { cwd: project, env });
      assert.equal(verify.exitCode, 0, verify.stderr);
      assert.doesNotMatch(verify.stderr, /Warning:|EBADF/);
      assert.match(verify.stderr, /24/);
    });
});

describe('--max-unpacked-size: a bound on bytes, not on the compression ratio', () => {
  let server: DistServer;
  let root: string;
  let cleanup: () => Promise<void>;
  let project: string;

  before(async () => {
    ({ dir: root, cleanup } = await tempDir('cp-unpacked-'));
    server = await new DistServer().start();
    // A 100 MiB SQL dump that deflates ~300× (over the old 64 MiB floor): Composer installs it, so must we.
    const line = Buffer.from("INSERT INTO `t` VALUES (1,'a','2024-01-01 00:00:00',NULL,0);\n");
    const sql = Buffer.alloc(100 * 1024 * 1024);
    for (let at = 0; at < sql.length; at += line.length) line.copy(sql, at);
    const zip = makeZip([
      { name: 'dump/composer.json', content: '{"name":"acme/dump"}', compress: true },
      { name: 'dump/data.sql', content: sql, compress: true },
    ]);
    server.add('/dists/dump.zip', zip);
    project = path.join(root, 'project');
    await writeHttpProject(project, [
      { name: 'acme/dump', version: '1.0.0', type: 'library', dist: { type: 'zip', url: `${server.origin}/dists/dump.zip`, reference: sha1('acme/dump') } },
    ]);
  });
  after(async () => {
    await server.stop();
    await cleanup();
  });

  it('an honest archive that compresses ~300× lands, downloaded once', async () => {
    const run = await runCli(['--no-progress'], { cwd: project, env: isolatedEnv(root, { COMPOSER_CACHE_DIR: path.join(root, 'cache-a') }) });
    assert.equal(run.exitCode, 0, run.stderr);
    assert.equal(server.hits(), 1);
  });

  it('over the bound: one download (the same bytes fail the same way), and the message names the option', async () => {
    server.resetLog();
    const run = await runCli(['--no-progress', '--max-unpacked-size', '8M'], {
      cwd: project,
      env: isolatedEnv(root, { COMPOSER_CACHE_DIR: path.join(root, 'cache-b') }),
    });
    assert.equal(run.exitCode, 1, run.stderr);
    assert.match(run.stderr, /more than 8 MiB uncompressed, over --max-unpacked-size/);
    assert.equal(server.hits(), 1, 'not downloaded again');
  });
});
