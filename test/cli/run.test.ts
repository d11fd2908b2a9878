import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DistServer } from '../helpers/dist-server.js';
import { isolatedEnv, repoRoot, tempDir, writeHttpProject } from '../helpers/run.js';
import { runInProcess } from '../helpers/in-process.js';

describe('run(argv, io): the CLI in-process', () => {
  let server: DistServer;
  let root: string;
  let cleanup: () => Promise<void>;
  let project: string;
  let env: Record<string, string>;

  before(async () => {
    ({ dir: root, cleanup } = await tempDir('cp-run-'));
    server = await new DistServer().start();
    const packages = server.addPackages(['acme/one', 'acme/two']);
    project = path.join(root, 'project');
    await writeHttpProject(project, packages);
    env = isolatedEnv(root, { NO_COLOR: '1' });
  });
  after(async () => {
    await server.stop();
    await cleanup();
  });

  it('--version prints the version and returns 0', async () => {
    const result = await runInProcess(['--version'], { cwd: project, env });
    assert.equal(result.exitCode, 0);
    assert.match(result.stdout, /^composer-prefetch \d+\.\d+\.\d+/);
  });

  it('a bad flag or a bad variable of the given environment returns 2', async () => {
    const flag = await runInProcess(['--concurency', '4'], { cwd: project, env });
    assert.equal(flag.exitCode, 2);
    assert.match(flag.stderr, /unknown option '--concurency'/);
    // Read from io.env, not from process.env.
    assert.equal(process.env['COMPOSER_PREFETCH_CONCURRENCY'], undefined);
    const variable = await runInProcess([], { cwd: project, env: { ...env, COMPOSER_PREFETCH_CONCURRENCY: 'lots' } });
    assert.equal(variable.exitCode, 2);
    assert.match(variable.stderr, /COMPOSER_PREFETCH_CONCURRENCY=lots is not valid for --concurrency/);
    const loose = await runInProcess(['--dry-run'], { cwd: project, env: { ...env, COMPOSER_PREFETCH_NO_DEV: 'flase' } });
    assert.equal(loose.exitCode, 2, 'a misspelt boolean is refused, not read as on');
    assert.match(loose.stderr, /COMPOSER_PREFETCH_NO_DEV=flase is not valid for --no-dev/);
  });

  it('an unexpected exception inside a run is a bug: exit 70, the issues URL, the stack; not a usage error', async () => {
    // A TypeError from deep inside the run, as a bug would throw it.
    const failing = { fetchAll: () => (undefined as unknown as { tasks: unknown[] }).tasks.length, close: async () => undefined };
    const seams = { createBackend: () => failing as never };
    const plain = await runInProcess(['--progress=none'], { cwd: project, env, seams });
    assert.equal(plain.exitCode, 70, plain.stderr);
    const bugs = (JSON.parse(await readFile(path.join(repoRoot, 'package.json'), 'utf8')) as { bugs: { url: string } }).bugs.url;
    assert.match(plain.stderr, /^composer-prefetch: internal error: TypeError: Cannot read properties of undefined \(reading 'tasks'\)$/m);
    assert.ok(plain.stderr.includes(`This is a bug in composer-prefetch, please report it: ${bugs} `), plain.stderr);
    assert.match(plain.stderr, /^TypeError: .*\n {4}at .*fetchAll/m, 'the stack, without -v');
    const json = await runInProcess(['--json', '--progress=none'], { cwd: project, env, seams });
    assert.equal(json.exitCode, 70);
    const report = JSON.parse(json.stdout) as { ok: boolean; error: { code: string } };
    assert.equal(report.ok, false);
    assert.equal(report.error.code, 'E_INTERNAL');
    // An expected failure keeps its own code and prints no stack.
    const usage = await runInProcess(['verify', '--dry-run'], { cwd: project, env, seams });
    assert.equal(usage.exitCode, 2);
    assert.doesNotMatch(usage.stderr, /internal error|\n {4}at /);
  });

  it('verify, prefetch, verify: 1 with both missing, 0 after the download', async () => {
    const before = await runInProcess(['verify', '--json'], { cwd: project, env });
    assert.equal(before.exitCode, 1);
    const report = JSON.parse(before.stdout) as { packages: { name: string; status: string }[] };
    assert.deepEqual(
      report.packages.map((p) => p.status),
      ['missing', 'missing'],
    );

    const fetched = await runInProcess(['--progress=none'], { cwd: project, env });
    assert.equal(fetched.exitCode, 0, fetched.stderr);
    assert.match(fetched.stderr, /2 downloaded/);

    const after = await runInProcess(['verify'], { cwd: project, env });
    assert.equal(after.exitCode, 0, after.stderr);
    assert.match(after.stderr, /Verified: all 2 archives/);
  });
});
