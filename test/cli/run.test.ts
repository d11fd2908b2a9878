import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DistServer } from '../helpers/dist-server.js';
import { isolatedEnv, tempDir, writeHttpProject } from '../helpers/run.js';
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

  it('verify, prefetch, verify: 1 with both missing, 0 after the download', async () => {
    const before = await runInProcess(['verify', '--json'], { cwd: project, env });
    assert.equal(before.exitCode, 1);
    const report = JSON.parse(before.stdout) as { packages: { name: string; status: string }[] };
    assert.deepEqual(report.packages.map((p) => p.status), ['missing', 'missing']);

    const fetched = await runInProcess(['--progress=none'], { cwd: project, env });
    assert.equal(fetched.exitCode, 0, fetched.stderr);
    assert.match(fetched.stderr, /2 downloaded/);

    const after = await runInProcess(['verify'], { cwd: project, env });
    assert.equal(after.exitCode, 0, after.stderr);
    assert.match(after.stderr, /Verified: all 2 archives/);
  });
});
