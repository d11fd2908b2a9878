/**
 * Issue 28 items 6 and 9, with a real git server (git http-backend on loopback): the git stage
 * is not silent in plain mode, and its packages are first-class entries in the summary, `--json`
 * and `--dry-run --json`.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { GitServer } from '../helpers/git-server.js';
import { binPath, isolatedEnv, runCli, tempDir } from '../helpers/run.js';

interface Entry {
  kind: string;
  name: string;
  status: string;
  result: string | null;
  url: string;
  cachePath: string;
  bytes: number;
  bytesKnown: boolean;
  error: unknown;
}

describe('e2e: git mirrors reported like archives', () => {
  const server = new GitServer();
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  let project = '';
  let env: Record<string, string> = {};

  before(async () => {
    await server.start();
    tmp = await tempDir('cp-e2e-vcs-reports-');
    project = path.join(tmp.dir, 'project');
    await mkdir(project, { recursive: true });
    const packages = [];
    for (const name of ['acme/one', 'acme/two'])
      packages.push({ name, version: 'dev-main', type: 'library', source: { type: 'git', url: server.url(name), reference: await server.commit(name) } });
    await writeFile(
      path.join(project, 'composer.json'),
      JSON.stringify({ require: { 'acme/one': 'dev-main', 'acme/two': 'dev-main' }, 'minimum-stability': 'dev', config: { 'secure-http': false } }),
    );
    await writeFile(path.join(project, 'composer.lock'), JSON.stringify({ 'content-hash': 'x', packages, 'packages-dev': [] }));
    env = isolatedEnv(tmp.dir);
  });
  after(async () => {
    server.hold = false;
    await server.close();
    await tmp?.cleanup();
  });

  it('--dry-run --json lists the mirror plan', async () => {
    const r = await runCli(['--dry-run', '--json'], { cwd: project, env });
    assert.equal(r.exitCode, 0, r.stderr);
    const report = JSON.parse(r.stdout) as { packages: Entry[]; skipped: unknown[] };
    assert.deepEqual(
      report.packages.map((p) => [p.kind, p.name, p.status, p.result, p.url]),
      [
        ['git', 'acme/one', 'planned', null, server.url('acme/one')],
        ['git', 'acme/two', 'planned', null, server.url('acme/two')],
      ],
    );
    assert.deepEqual(report.skipped, [], 'a package with a mirror is not "skipped" for want of a dist');
  });

  it('plain mode: a stalled clone is announced and shows in progress lines', async () => {
    server.hold = true;
    const child = spawn(process.execPath, [binPath, '--progress=plain'], { cwd: project, env, stdio: ['ignore', 'ignore', 'pipe'] });
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('close', (_code, signal) => resolve(signal)));
    let stderr = '';
    // Resolves at the first progress line that counts the mirrors in flight (they are held: a stall).
    const stalled = new Promise<string>((resolve, reject) => {
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
        const line = /^progress: .*$/m.exec(stderr)?.[0];
        if (line !== undefined) resolve(line);
      });
      void exited.then(() => reject(new Error(`exited before any progress line:\n${stderr}`)));
    });
    const line = await stalled;
    assert.match(stderr, /^Checking 2 git mirrors for packages installed from source/m);
    assert.match(line, /^progress: 0\/0 archives, 0\/2 from git, 0 B at 0 B\/s, 2 in flight$/);
    server.hold = false;
    child.kill('SIGTERM');
    // After its cleanup the run ends by the signal it was stopped with (a shell then stops a `;` chain).
    assert.equal(await exited, 'SIGTERM', stderr);
  });

  it('--json: one entry per mirror package, counted as downloaded (never skipped), with its size', async () => {
    const r = await runCli(['--json'], { cwd: project, env });
    assert.equal(r.exitCode, 0, r.stderr);
    const report = JSON.parse(r.stdout) as {
      packages: Entry[];
      summary: { downloaded: number; skipped: number; bytes: number; git: { downloaded: number } };
      origins: { origin: string; downloaded: number }[];
    };
    assert.deepEqual(
      report.packages.map((p) => [p.kind, p.name, p.status, p.result, p.error]),
      [
        ['git', 'acme/one', 'downloaded', 'cloned', null],
        ['git', 'acme/two', 'downloaded', 'cloned', null],
      ],
    );
    for (const p of report.packages) {
      assert.ok(existsSync(path.join(p.cachePath, 'HEAD')), p.cachePath);
      assert.ok(p.bytesKnown && p.bytes > 0, `${p.name}: the clone's pack size (${p.bytes})`);
    }
    assert.equal(report.summary.downloaded, 2);
    assert.equal(report.summary.git.downloaded, 2);
    assert.equal(report.summary.skipped, 0);
    assert.equal(report.summary.bytes, report.packages[0]!.bytes + report.packages[1]!.bytes);
    assert.deepEqual(
      report.origins.map((o) => [o.origin, o.downloaded]),
      [[server.origin, 2]],
    );
    assert.match(r.stderr, /^Done: 2 downloaded \(\d[^)]*\), 0 already cached, 0 skipped, 0 failed in /m);
    const again = await runCli([], { cwd: project, env });
    assert.match(again.stderr, /^Done: 0 downloaded \(0 B\), 2 already cached, 0 skipped, 0 failed in /m);
  });
});
