import assert from 'node:assert/strict';
import { copyFile, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { formatBytes } from '../../src/bytes.js';
import { DistServer } from '../helpers/dist-server.js';
import { isolatedEnv, runCli, tempDir, writeHttpProject } from '../helpers/run.js';

interface Planned {
  packages: { name: string; status: string; cachePath: string }[];
}

describe('--dry-run says what is cached and what would be downloaded', () => {
  let root: string;
  let cleanup: () => Promise<void>;
  let server: DistServer;
  let project: string;
  let env: Record<string, string>;

  before(async () => {
    ({ dir: root, cleanup } = await tempDir('cp-dry-'));
    server = await new DistServer().start();
    const packages = server.addPackages(['acme/one', 'acme/two', 'acme/three'], '');
    project = path.join(root, 'project');
    await writeHttpProject(project, packages);
    env = isolatedEnv(root, { NO_COLOR: '1' });
  });
  after(async () => {
    await server.stop();
    await cleanup();
  });

  it('cold cache: every archive to download, sizes unknown', async () => {
    const dry = await runCli(['--dry-run'], { cwd: project, env });
    assert.equal(dry.exitCode, 0, dry.stderr);
    assert.match(dry.stdout, /^3 archives: 0 already in the cache, 3 to download:$/m);
    // And again as the last line, where a person who scrolled to the end reads it.
    assert.equal(dry.stdout.trimEnd().split('\n').at(-1), 'In all, 3 archives: 0 already in the cache, 3 to download. Nothing was downloaded (--dry-run).');
    assert.equal(server.hits(), 0, 'a dry run asks no server');
  });

  it('all cached: says so, with their bytes; some missing: counts both, and estimates from older versions', async () => {
    assert.equal((await runCli(['--progress=none'], { cwd: project, env })).exitCode, 0);
    const plan = JSON.parse((await runCli(['--dry-run', '--json'], { cwd: project, env })).stdout) as Planned;
    assert.deepEqual(
      plan.packages.map((p) => p.status),
      ['cached', 'cached', 'cached'],
    );
    const sizes = await Promise.all(plan.packages.map(async (p) => (await stat(p.cachePath)).size));
    const total = sizes.reduce((a, b) => a + b, 0);

    const all = await runCli(['--dry-run'], { cwd: project, env });
    assert.match(all.stdout, new RegExp(`^3 archives: 3 already in the cache \\(${formatBytes(total).replace(/[.]/g, '\\.')}\\), 0 to download:$`, 'm'));
    assert.match(all.stdout, /^ {2}acme\/one 1\.0\.0 \(cached\)$/m);

    // acme/two gone, an older version of it still there (its size is the estimate); acme/three gone.
    const [, two, three] = plan.packages;
    await copyFile(two!.cachePath, path.join(path.dirname(two!.cachePath), `${'0'.repeat(40)}.zip`));
    await rm(two!.cachePath);
    await rm(three!.cachePath);
    const some = await runCli(['--dry-run'], { cwd: project, env });
    assert.match(
      some.stdout,
      new RegExp(`^3 archives: 1 already in the cache \\(${formatBytes(sizes[0]!).replace(/[.]/g, '\\.')}\\), 2 to download:$`, 'm'),
      'acme/three has no older version: no estimate',
    );
    assert.match(some.stdout, /^ {2}acme\/two 1\.0\.0$/m);

    // An older version of acme/three too: now every size to download is estimated.
    await copyFile(path.join(path.dirname(two!.cachePath), `${'0'.repeat(40)}.zip`), path.join(path.dirname(three!.cachePath), `${'0'.repeat(40)}.zip`));
    const estimated = await runCli(['--dry-run'], { cwd: project, env });
    assert.match(
      estimated.stdout,
      new RegExp(`, 2 to download \\(about ${formatBytes(sizes[1]! * 2).replace(/[.]/g, '\\.')}, judged by older versions in the cache\\):$`, 'm'),
    );
  });
});
