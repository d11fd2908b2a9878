import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isolatedEnv, runCli, tempDir, writeHttpProject } from '../helpers/run.js';
import { closedPort } from '../helpers/loopback.js';

describe('a dist server that is down', () => {
  const PACKAGES = 40;
  let cleanup: () => Promise<void>;
  let project = '';
  let env: Record<string, string> = {};
  let port = 0;

  before(async () => {
    let root: string;
    ({ dir: root, cleanup } = await tempDir('cp-down-'));
    port = await closedPort();
    const packages = Array.from({ length: PACKAGES }, (_, i) => ({
      name: `acme/p${String(i).padStart(2, '0')}`,
      version: '1.0.0',
      type: 'library',
      dist: { type: 'zip', url: `http://127.0.0.1:${port}/p${i}.zip`, reference: `r${i}`, shasum: '' },
    }));
    project = path.join(root, 'project');
    await writeHttpProject(project, packages);
    env = isolatedEnv(root);
  });
  after(() => cleanup());

  it('prints a handful of lines: no retry lines, one grouped failure with what to check', async () => {
    const run = await runCli(['--progress', 'plain', '--retries', '2'], { cwd: project, env });
    assert.equal(run.exitCode, 1, run.stderr);
    const lines = run.stderr.trimEnd().split('\n');
    assert.ok(lines.length <= 12, `${lines.length} lines:\n${run.stderr}`);
    assert.doesNotMatch(run.stderr, /^retry /m);
    assert.equal(lines.filter((l) => l.startsWith('failed: ')).length, 3);
    assert.ok(
      lines.includes(`  ✗ ${PACKAGES} packages failed: connection refused at 127.0.0.1:${port} — is the host reachable? a proxy needed (HTTP_PROXY)?`),
      run.stderr,
    );
    // Every failed package named: the live note says the summary names them.
    const names = Array.from({ length: PACKAGES }, (_, i) => `acme/p${String(i).padStart(2, '0')}`).join(', ');
    assert.ok(lines.includes(`    ${names}`), run.stderr);
    assert.match(run.stderr, new RegExp(`^Done: 0 downloaded .*, ${PACKAGES} failed in `, 'm'));
  });
});
