import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { composerPackageZip } from '../helpers/archives.js';
import { DistServer } from '../helpers/dist-server.js';
import { isolatedEnv, runCli, tempDir, writeHttpProject } from '../helpers/run.js';

const sha1 = (b: Buffer | string): string => createHash('sha1').update(b).digest('hex');

/** Every file below a directory, relative to it. */
function walk(dir: string, prefix = ''): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? walk(path.join(dir, e.name), `${prefix}${e.name}/`) : [`${prefix}${e.name}`],
  );
}

describe('bad bytes and bad entries never reach the cache; the rest still lands', () => {
  let server: DistServer;
  let root: string;
  let cleanup: () => Promise<void>;
  let project: string;
  let env: Record<string, string>;

  before(async () => {
    ({ dir: root, cleanup } = await tempDir('cp-bad-'));
    server = await new DistServer().start();
    const o = server.origin;
    const good = composerPackageZip('acme/good', '1.0.0');
    const html = Buffer.from('<!DOCTYPE html><html><body>Rate limited, try later</body></html>');
    const truncated = composerPackageZip('acme/truncated', '1.0.0');
    server.add('/good.zip', good);
    server.add('/html.zip', html, { contentType: 'text/html' });
    server.add('/wrongsum.zip', composerPackageZip('acme/wrongsum', '1.0.0'));
    server.add('/truncated.zip', truncated.subarray(0, truncated.length - 30));
    const entry = (name: string, url: string, shasum = '') => ({
      name,
      version: '1.0.0',
      type: 'library',
      dist: { type: 'zip', url: `${o}${url}`, reference: sha1(name), shasum },
    });
    const packages = [
      entry('acme/good', '/good.zip', sha1(good)),
      entry('acme/html', '/html.zip'),
      entry('acme/wrongsum', '/wrongsum.zip', sha1('something else')),
      entry('acme/truncated', '/truncated.zip'),
      entry('../../../escape', '/good.zip'),
      entry('acme/../../escape', '/good.zip'),
      { name: 'acme/no-dist-url', version: '1.0.0', dist: { type: 'zip' } },
    ];
    project = path.join(root, 'project');
    await writeHttpProject(project, packages);
    env = isolatedEnv(root);
  });
  after(async () => {
    await server.stop();
    await cleanup();
  });

  it('exits 1, names each failure, and commits only the good archive', async () => {
    const run = await runCli(['--retries', '1', '--json'], { cwd: project, env });
    assert.equal(run.exitCode, 1, run.stderr);
    const report = JSON.parse(run.stdout) as {
      packages: { name: string; status: string; error: { code: string } | null }[];
      invalid: { name: string | null }[];
    };
    const status = Object.fromEntries(report.packages.map((p) => [p.name, [p.status, p.error?.code]]));
    assert.deepEqual(status, {
      'acme/good': ['downloaded', undefined],
      'acme/html': ['failed', 'E_CORRUPT'],
      'acme/wrongsum': ['failed', 'E_CHECKSUM'],
      'acme/truncated': ['failed', 'E_CORRUPT'],
    });
    assert.deepEqual(report.invalid.map((i) => i.name).sort(), ['../../../escape', 'acme/../../escape', 'acme/no-dist-url']);
    assert.match(run.stderr, /acme\/wrongsum.*sha1 mismatch/);

    // Only the verified archive is in the cache: no bad file, no temp file, nothing outside files/.
    const cacheRoot = path.join(root, 'cache');
    const files = walk(cacheRoot);
    assert.equal(files.length, 1, files.join('\n'));
    assert.match(files[0]!, /^files\/acme\/good\/[0-9a-f]{40}\.zip$/);
    assert.equal(existsSync(path.join(root, 'escape')), false);
    assert.deepEqual(
      walk(root).filter((f) => !f.startsWith('cache/') && !f.startsWith('project/')),
      [],
    );
    // Each bad URL was tried again before giving up (retries: 1).
    assert.equal(
      server.hits((p) => p === '/html.zip'),
      2,
    );
  });

  it('in GitHub Actions each failure is also an error annotation', async () => {
    const run = await runCli(['--retries', '0'], { cwd: project, env: { ...env, GITHUB_ACTIONS: 'true', CI: 'true' } });
    assert.equal(run.exitCode, 1, run.stderr);
    const annotations = run.stderr.split('\n').filter((l) => l.startsWith('::error title=composer-prefetch::'));
    assert.deepEqual(annotations.map((l) => /::(acme\/[a-z]+)/.exec(l)?.[1]).sort(), ['acme/html', 'acme/truncated', 'acme/wrongsum']);
    assert.equal(run.stderr.split('\n').filter((l) => l.startsWith('::warning title=composer-prefetch::skipping')).length, 3, 'the invalid entries');
  });
});
