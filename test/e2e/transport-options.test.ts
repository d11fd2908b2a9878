import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { composerPackageZip } from '../helpers/archives.js';
import { DistServer } from '../helpers/dist-server.js';
import { isolatedEnv, runCli, tempDir, writeHttpProject } from '../helpers/run.js';

const TOKEN = 'repo-token-9f8e7d';

describe("the lock's transport-options headers", () => {
  let repo: DistServer;
  let cdn: DistServer;
  let root: string;
  let project: string;
  let cleanup: () => Promise<void>;

  before(async () => {
    ({ dir: root, cleanup } = await tempDir('cp-transport-'));
    repo = await new DistServer().start();
    cdn = await new DistServer().start();
    // The repository wants its token; one archive lives behind a redirect to a CDN on another origin.
    repo.intercept = (req, res) => {
      if (req.headers['x-repo-token'] === TOKEN) return false;
      res.writeHead(403).end('token required');
      return true;
    };
    repo.add('/dists/acme-direct.zip', composerPackageZip('acme/direct', '1.0.0'));
    cdn.add('/blob/acme-redirected.zip', composerPackageZip('acme/redirected', '1.0.0'));
    repo.fault('/dists/acme-redirected.zip', { kind: 'redirect', location: `${cdn.origin}/blob/acme-redirected.zip` }, 10);
    const entry = (name: string, file: string) => ({
      name,
      version: '1.0.0',
      dist: { type: 'zip', url: `${repo.origin}/dists/${file}`, reference: createHash('sha1').update(name).digest('hex'), shasum: '' },
      'transport-options': { http: { header: [`X-Repo-Token: ${TOKEN}`] } },
    });
    project = path.join(root, 'project');
    await writeHttpProject(project, [entry('acme/direct', 'acme-direct.zip'), entry('acme/redirected', 'acme-redirected.zip')]);
  });
  after(async () => {
    await repo.stop();
    await cdn.stop();
    await cleanup();
  });

  for (const backend of ['native', 'aria2']) {
    it(`are sent to the repository and not across the redirect (--backend ${backend})`, async () => {
      repo.resetLog();
      cdn.resetLog();
      const run = await runCli(['--backend', backend, '--json', '--cache-dir', path.join(root, `cache-${backend}`)], { cwd: project, env: isolatedEnv(root) });
      assert.equal(run.exitCode, 0, run.stderr);
      assert.ok(repo.requests.length >= 2 && repo.requests.every((r) => r.headers['x-repo-token'] === TOKEN));
      assert.equal(cdn.requests.length, 1);
      assert.equal(cdn.requests[0]!.headers['x-repo-token'], undefined, 'the token crossed to another origin');
      assert.ok(!run.stdout.includes(TOKEN) && !run.stderr.includes(TOKEN), 'the token was printed');
    });
  }
});
