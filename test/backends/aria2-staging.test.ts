import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { statSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createAria2Backend } from '../../src/backends/aria2.js';
import { acceptIntoCache } from '../../src/cache/commit.js';
import { ownedName, ownerTag } from '../../src/cache/temp-files.js';
import { defaultDownloadOptions } from '../../src/config/options.js';
import { createRequestPolicy } from '../../src/net/request-policy.js';
import type { SettledTask, StagedFile } from '../../src/types.js';
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

describe('aria2 staging with two cache dirs (two projects, two filesystems)', () => {
  let server: DistServer;
  const roots: string[] = [];
  before(async () => {
    await assertAria2cInstalled();
    server = await new DistServer().start();
  });
  after(async () => {
    await server?.stop();
    for (const root of roots) await rm(root, { recursive: true, force: true });
  });

  /** /tmp and /dev/shm (a tmpfs) where both exist: a rename between them fails with EXDEV. */
  async function twoRoots(): Promise<[string, string]> {
    const a = (await tempDir('cp-aria2-roots-a-')).dir;
    roots.push(a);
    let b: string;
    try {
      b = await mkdtemp('/dev/shm/cp-aria2-roots-b-');
    } catch {
      b = (await tempDir('cp-aria2-roots-b-')).dir; // no /dev/shm: the staging places are still checked
    }
    roots.push(b);
    return [a, b];
  }

  it('each download is staged inside its own cache dir, so both commit (no EXDEV), and no staging dir is left', async () => {
    const [a, b] = await twoRoots();
    const filesDirs = [path.join(a, 'cache', 'files'), path.join(b, 'cache', 'files')];
    const twoFilesystems = statSync(a).dev !== statSync(b).dev;
    const tasks: SettledTask[] = filesDirs.flatMap((filesDir, i) =>
      [1, 2].map((n) => {
        const name = `acme/p${i}-${n}`;
        const zip = composerPackageZip(name, '1.0.0');
        const url = server.add(`/roots/${i}/${n}.zip`, zip);
        const cacheKey = `${name}/${createHash('sha1').update(url).digest('hex')}.zip`;
        return {
          packageName: name,
          version: '1.0.0',
          distType: 'zip',
          urls: [url],
          cacheKey,
          cachePath: path.join(filesDir, cacheKey),
          expectedSha1: undefined,
          dev: false,
          origins: ['test'],
          policy: createRequestPolicy({ secureHttp: false }),
        };
      }),
    );
    const staged = new Map<string, string>();
    const backend = await createAria2Backend({ aria2c: undefined });
    try {
      const results = await backend.fetchAll(tasks, {
        signal: new AbortController().signal,
        options: { ...defaultDownloadOptions, retries: 0 },
        emit: () => undefined,
        accept: async (task, file: StagedFile) => {
          staged.set(task.packageName, file.path);
          await acceptIntoCache(task, file);
        },
      });
      assert.deepEqual(
        results.map((r) => [r.task.packageName, r.kind === 'failed' ? r.error.message : 'downloaded']),
        tasks.map((t) => [t.packageName, 'downloaded']),
        `every task committed${twoFilesystems ? ' across two filesystems' : ''}`,
      );
    } finally {
      await backend.close();
    }
    for (const task of tasks) {
      const filesDir = task.cachePath.slice(0, task.cachePath.length - task.cacheKey.length);
      const where = path.relative(filesDir, staged.get(task.packageName)!);
      assert.match(where, /^\.composer-prefetch-aria2-[^/]+\/[^/]+$/, `${task.packageName} staged in its own cache dir (${filesDir}), not another project's`);
      assert.ok((await readFile(task.cachePath)).equals(composerPackageZip(task.packageName, '1.0.0')), task.cachePath);
    }
    for (const filesDir of filesDirs)
      assert.deepEqual(
        (await readdir(filesDir)).filter((n) => n.startsWith('.composer-prefetch-aria2-')),
        [],
        `no staging dir left in ${filesDir}`,
      );
  });
});
