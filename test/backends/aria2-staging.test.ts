import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ownedName, ownerTag } from '../../src/cache/temp-files.js';
import { assertAria2cInstalled, childrenNamed, isAlive, leftovers, listTree, waitFor, writeLockProject } from '../helpers/aria2.js';
import { count, startCli } from '../helpers/cli-events.js';
import { composerPackageZip } from '../helpers/archives.js';
import { DistServer } from '../helpers/dist-server.js';
import { isolatedEnv, runCli, tempDir } from '../helpers/run.js';

describe('aria2 staging of a run killed with SIGKILL', () => {
  let server: DistServer;
  let root: string;
  let cleanup: () => Promise<void>;
  let project: string;
  let env: Record<string, string>;
  before(async () => {
    await assertAria2cInstalled();
    server = await new DistServer().start();
    ({ dir: root, cleanup } = await tempDir('cp-staging-'));
    project = path.join(root, 'project');
    const packages = ['acme/one', 'acme/two', 'acme/three'].map((name) => {
      const p = `/${name.replace('/', '-')}.zip`;
      // Slow enough that the run is still transferring when it is killed.
      server.add(p, composerPackageZip(name, '1.0.0'), { throttle: { bytes: 256, ms: 40 } });
      return { name, url: `${server.origin}${p}` };
    });
    await writeLockProject(project, packages);
    env = isolatedEnv(root);
  });
  after(async () => {
    await server?.stop();
    await cleanup();
  });

  it('the next run removes a dead owner’s staging dir at once, and keeps a live or foreign one', async (t) => {
    if (ownerTag() === null) return t.skip('not Linux: only the age rule applies');
    const files = path.join(root, 'cache', 'files');
    const run = startCli(['--backend', 'aria2'], { cwd: project, env });
    await run.until('a transfer started', (events) => count(events, 'started') > 0);
    const aria2 = childrenNamed(run.pid!, 'aria2c');
    run.kill('SIGKILL');
    assert.equal((await run.result()).signal, 'SIGKILL');
    // aria2c follows its parent (--stop-with-process); wait for that before judging the cache.
    await waitFor(() => (aria2.every((pid) => !isAlive(pid)) ? true : undefined), 'aria2c to exit after its parent');
    const left = leftovers(await listTree(files)).filter((p) => /^\.composer-prefetch-aria2-[^/]+\/$/.test(p));
    assert.equal(left.length, 1, `the killed run left its staging dir: ${left.join(', ')}`);

    // A live owner (this test process) and another pid namespace's dir must survive.
    const live = ownedName('.composer-prefetch-aria2-');
    const foreign = live.replace(/\.[0-9a-f]{8}$/, '.00000000').replace(`-${process.pid}-`, '-1-');
    for (const name of [live, foreign]) {
      await mkdir(path.join(files, name));
      await writeFile(path.join(files, name, 'x.zip'), 'partial');
    }

    const next = await runCli(['--backend', 'aria2'], { cwd: project, env });
    assert.equal(next.exitCode, 0, next.stderr);
    const after = (await listTree(files)).filter((p) => /^\.composer-prefetch-aria2-[^/]+\/$/.test(p));
    assert.deepEqual(after.sort(), [`${live}/`, `${foreign}/`].sort(), 'only the dead run’s staging dir was removed');
  });
});
