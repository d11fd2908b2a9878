import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { composerPackageZip } from '../helpers/archives.js';
import { DistServer } from '../helpers/dist-server.js';
import { isolatedEnv, runCli, tempDir, writeHttpProject } from '../helpers/run.js';

const sha1 = (b: Buffer | string): string => createHash('sha1').update(b).digest('hex');

describe('--no-progress and --quiet keep the per-host summary lines', () => {
  let root: string;
  let cleanup: () => Promise<void>;
  let server: DistServer;
  let project: string;

  before(async () => {
    ({ dir: root, cleanup } = await tempDir('cp-noprogress-'));
    server = await new DistServer().start();
    const zip = composerPackageZip('acme/one', '1.0.0');
    server.add('/one.zip', zip);
    project = path.join(root, 'project');
    await writeHttpProject(project, [
      { name: 'acme/one', version: '1.0.0', dist: { type: 'zip', url: `${server.origin}/one.zip`, reference: sha1('one'), shasum: sha1(zip) } },
    ]);
  });
  after(async () => {
    await server.stop();
    await cleanup();
  });

  for (const flags of [['--no-progress'], ['--progress=none'], ['--quiet']]) {
    it(`${flags.join(' ')}: the summary still has one line per host`, async () => {
      const env = isolatedEnv(path.join(root, flags.join('')), { NO_COLOR: '1' });
      const run = await runCli(flags, { cwd: project, env });
      assert.equal(run.exitCode, 0, run.stderr);
      assert.match(run.stderr, /^Done: 1 downloaded/m);
      assert.match(run.stderr, new RegExp(`^Origins:\\n {2}${server.origin.replace(/[.]/g, '\\.')}: 1 request, `, 'm'));
      assert.doesNotMatch(run.stderr, /^progress:|^Prefetching/m, 'still no progress output');
    });
  }
});
