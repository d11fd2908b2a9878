import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { defaultEnvironment } from '../src/config/composer-config.js';
import { defaultDownloadOptions, type PrefetchOptions } from '../src/config/options.js';
import { prefetch } from '../src/prefetch.js';
import type { PrefetchEvent } from '../src/types.js';
import { DistServer } from './helpers/dist-server.js';
import { isolatedEnv, tempDir, writeHttpProject } from './helpers/run.js';

const sha1 = (b: Buffer | string): string => createHash('sha1').update(b).digest('hex');

/** `prefetch()` called directly, in this process: the stages in order, their events, the result. */
describe('prefetch(): the stages of a run, in-process', () => {
  let root: string;
  let cleanup: () => Promise<void>;
  let server: DistServer;
  let project: string;

  before(async () => {
    ({ dir: root, cleanup } = await tempDir('cp-prefetch-'));
    server = await new DistServer().start();
    const packages = server.addPackages(['acme/one', 'acme/two']);
    project = path.join(root, 'project');
    await writeHttpProject(project, packages, [
      { name: 'acme/dev', version: '1.0.0', dist: { type: 'zip', url: `${server.origin}/missing.zip`, reference: sha1('dev') } },
    ]);
  });
  after(async () => {
    await server.stop();
    await cleanup();
  });

  const options = (overrides: Partial<PrefetchOptions> = {}): PrefetchOptions => ({
    inputs: [],
    cwd: project,
    noDev: true,
    dryRun: false,
    verifyOnly: false,
    backend: 'native',
    cacheDir: undefined,
    aria2c: undefined,
    mirrors: [],
    download: defaultDownloadOptions,
    ...overrides,
  });
  const run = async (o: PrefetchOptions) => {
    const events: PrefetchEvent[] = [];
    const result = await prefetch(o, {
      environment: { ...defaultEnvironment(), env: isolatedEnv(root), cwd: project },
      readStdin: () => Promise.reject(new Error('no stdin here')),
      emit: (event) => events.push(event),
      signal: new AbortController().signal,
    });
    return { result, events };
  };

  it('load projects → plan → inspect the cache → download: events in that order, files where the plan says', async () => {
    const { result, events } = await run(options());
    const types = events.map((e) => e.type);
    assert.equal(types[0], 'planned', 'the plan is announced before anything else happens');
    assert.ok(types.indexOf('planned') < types.indexOf('started'));
    assert.deepEqual(
      result.plan.skipped.map((s) => `${s.packageName}:${s.reason}`),
      ['acme/dev:dev-excluded'],
    );
    assert.equal(result.summary.downloaded, 2);
    assert.equal(result.summary.failed, 0);
    for (const task of result.plan.tasks) assert.ok(existsSync(task.cachePath), task.cachePath);
    assert.equal(server.hits(), 2);
  });

  it('a second run finds everything in the cache and downloads nothing; a dry run looks only', async () => {
    server.resetLog();
    const again = await run(options());
    assert.equal(again.result.summary.cached, 2);
    assert.equal(again.result.summary.downloaded, 0);
    assert.equal(again.events.filter((e) => e.type === 'started').length, 0);
    const dry = await run(options({ dryRun: true }));
    assert.equal(dry.result.plan.tasks.length, 2);
    assert.equal(server.hits(), 0);
  });

  it('options that cannot run are refused before anything is read', async () => {
    await assert.rejects(run(options({ aria2c: '/usr/bin/aria2c' })), /--aria2c is only used with --backend aria2/);
  });
});
