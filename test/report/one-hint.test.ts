import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { composerPackageZip } from '../helpers/archives.js';
import { DistServer } from '../helpers/dist-server.js';
import { isolatedEnv, runCli, tempDir, writeHttpProject } from '../helpers/run.js';
import { closedPort } from '../helpers/loopback.js';

const sha1 = (b: Buffer | string): string => createHash('sha1').update(b).digest('hex');

interface Report {
  packages: { name: string; error: { hint: string | null } | null }[];
  cacheSize: { overLimit: boolean; suggestedMaxsize: string | null } | null;
}

describe('one hint everywhere: terminal, --json, ndjson and the GitHub job summary', () => {
  let root: string;
  let cleanup: () => Promise<void>;
  let server: DistServer;
  let refusedOrigin: string;

  before(async () => {
    ({ dir: root, cleanup } = await tempDir('cp-hint-'));
    server = await new DistServer().start();
    refusedOrigin = `http://127.0.0.1:${await closedPort()}`;
  });
  after(async () => {
    await server.stop();
    await cleanup();
  });

  /** One failing package (`url`), one that lands; each run its own cache and summary file. */
  async function runProject(name: string, url: string, args: string[]) {
    const zip = composerPackageZip('acme/fine', '1.0.0');
    server.add('/acme-fine.zip', zip);
    const project = path.join(root, name);
    await writeHttpProject(project, [
      { name: 'acme/broken', version: '1.0.0', dist: { type: 'zip', url, reference: sha1(url) } },
      { name: 'acme/fine', version: '1.0.0', dist: { type: 'zip', url: `${server.origin}/acme-fine.zip`, reference: sha1('fine'), shasum: sha1(zip) } },
    ]);
    const summaryFile = path.join(root, `${name}-${args.join('')}-summary.md`);
    const env = isolatedEnv(path.join(root, `${name}-${args.join('')}`), { NO_COLOR: '1', GITHUB_STEP_SUMMARY: summaryFile });
    const run = await runCli(['--retries=0', '--progress=none', ...args], { cwd: project, env });
    return { run, summary: await readFile(summaryFile, 'utf8') };
  }

  it('an HTTP 500: the hint the terminal shows is the JSON hint and the job summary hint', async () => {
    server.add('/boom.zip', Buffer.from('x'));
    server.fault('/boom.zip', { kind: 'status', status: 500 }, 100);
    const hint = 'the server is failing: try again later';
    const { run, summary } = await runProject('http500', `${server.origin}/boom.zip`, ['--json']);
    assert.equal(run.exitCode, 1, run.stderr);
    assert.match(run.stderr, new RegExp(hint));
    const report = JSON.parse(run.stdout) as Report;
    assert.equal(report.packages.find((p) => p.name === 'acme/broken')?.error?.hint, hint);
    assert.match(summary, new RegExp(hint));
    const ndjson = await runProject('http500', `${server.origin}/boom.zip`, ['--json=ndjson']);
    const failed = ndjson.run.stdout
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as { type: string; error?: { hint: string | null } })
      .find((e) => e.type === 'failed');
    assert.equal(failed?.error?.hint, hint);
  });

  it('connection refused on an http:// host names HTTP_PROXY, not HTTPS_PROXY', async () => {
    const { run, summary } = await runProject('refused', `${refusedOrigin}/gone.zip`, ['--json']);
    assert.equal(run.exitCode, 1, run.stderr);
    assert.doesNotMatch(run.stderr, /HTTPS_PROXY/);
    assert.match(run.stderr, /HTTP_PROXY/);
    const report = JSON.parse(run.stdout) as Report;
    assert.match(report.packages.find((p) => p.name === 'acme/broken')?.error?.hint ?? '', /HTTP_PROXY/);
    assert.doesNotMatch(report.packages.find((p) => p.name === 'acme/broken')?.error?.hint ?? '', /HTTPS_PROXY/);
    assert.match(summary, /HTTP\\_PROXY|HTTP_PROXY/);
    // Nothing is over the default cache-files-maxsize here: no suggestion to raise it.
    assert.equal(report.cacheSize?.overLimit, false);
    assert.equal(report.cacheSize?.suggestedMaxsize, null);
  });
});
