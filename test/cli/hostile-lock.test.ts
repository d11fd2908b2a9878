import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { composerPackageZip } from '../helpers/archives.js';
import { DistServer } from '../helpers/dist-server.js';
import { isolatedEnv, runCli, tempDir, type RunResult, writeHttpProject } from '../helpers/run.js';

const sha1 = (b: string): string => createHash('sha1').update(b).digest('hex');
/** Anything a terminal acts on, line breaks aside (human output is made of lines). */
const UNSAFE = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;
const SECRET = /SECRET/;
const FORGED = /^Done: 0 failed/m;

/**
 * A lock written by an attacker (or a careless hand): credentials in every URL form, names,
 * versions and URLs carrying terminal escape sequences and a forged summary line. No output of
 * any mode may show a secret, and no human output may pass a control character through.
 */
describe('a hostile lock: secrets stay hidden and the terminal stays ours', () => {
  let server: DistServer;
  let cleanup: () => Promise<void>;
  let project = '';
  let env: Record<string, string> = {};

  before(async () => {
    let root: string;
    ({ dir: root, cleanup } = await tempDir('cp-hostile-'));
    server = await new DistServer().start();
    const port = server.port;
    server.add('/dists/alpha.zip;token=SECRET_TOK', composerPackageZip('acme/alpha', '1.0.0'));
    server.add('/dists/gamma.zip', composerPackageZip('acme/gamma', '1.0.0'));
    server.add('/dists/delta.zip', composerPackageZip('acme/delta', '1.0.0'));
    const pkg = (name: string, version: string, url: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
      name,
      version,
      type: 'library',
      dist: { type: 'zip', url, reference: sha1(name + url), shasum: '' },
      ...extra,
    });
    const packages = [
      pkg('acme/alpha', '1.0.0', `${server.origin}/dists/alpha.zip;token=SECRET_TOK`),
      // A base64 password with "/": no URL parser accepts it.
      pkg('acme/beta', '1.0.0', `http://u:abc/SECRET_SLASH@127.0.0.1:${port}/dists/beta.zip`),
      pkg('acme/gamma', '1.0.0', `http://user:SECRET_PW@127.0.0.1:${port}/dists/gamma.zip?access_token=SECRET_Q`),
      // version_normalized given, so the raw version reaches every reporter.
      pkg('acme/delta', '1.0.0\u001b]0;pwned\u0007\u001b[2J', `${server.origin}/dists/delta.zip`, { version_normalized: '1.0.0.0' }),
      pkg('acme/epsilon', '1.0.0', `${server.origin}/dists/missing.zip?x=\u001b[2J\nDone: 0 failed`),
      pkg('acme/zeta\u001b]0;pwned\u0007\nDone: 0 failed', '1.0.0', `${server.origin}/dists/zeta.zip`),
    ];
    project = path.join(root, 'project');
    await writeHttpProject(project, packages);
    env = isolatedEnv(root);
  });
  after(async () => {
    await server.stop();
    await cleanup();
  });

  const human = (label: string, text: string): void => {
    for (const line of text.split('\n')) assert.doesNotMatch(line, UNSAFE, `${label}: ${JSON.stringify(line)}`);
    assert.doesNotMatch(text, FORGED, label);
    assert.doesNotMatch(text, SECRET, label);
  };
  const json = (label: string, run: RunResult, ndjson: boolean): unknown[] => {
    assert.doesNotMatch(run.stdout, SECRET, label);
    return ndjson
      ? run.stdout
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l) as unknown)
      : [JSON.parse(run.stdout) as unknown];
  };

  it('--dry-run: the plan on stdout and the warnings on stderr', async () => {
    const run = await runCli(['--dry-run'], { cwd: project, env });
    human('dry-run stdout', run.stdout);
    human('dry-run stderr', run.stderr);
    assert.match(run.stdout, /acme\/delta 1\.0\.0\\x1b\]0;pwned\\x07\\x1b\[2J/);
    assert.match(run.stdout, /alpha\.zip;token=\*\*\*/);
    assert.match(run.stderr, /acme\/beta .*dist\.url http:\/\/\*\*\*@127\.0\.0\.1:\d+\/dists\/beta\.zip is not a valid URL/);
  });

  it('a plain run, then --json, --json=ndjson and verify --json', async () => {
    const plain = await runCli(['--progress', 'plain', '--retries', '0'], { cwd: project, env });
    assert.equal(plain.exitCode, 1, plain.stderr);
    human('plain stderr', plain.stderr);
    assert.match(plain.stderr, /^Done: 3 downloaded/m);

    const github = await runCli(['--progress', 'plain', '--retries', '0'], { cwd: project, env: { ...env, GITHUB_ACTIONS: 'true' } });
    human('github stderr', github.stderr);

    const report = await runCli(['--json', '--retries', '0'], { cwd: project, env });
    human('--json stderr', report.stderr);
    json('--json', report, false);

    const ndjson = await runCli(['--json=ndjson', '--retries', '0'], { cwd: project, env });
    human('ndjson stderr', ndjson.stderr);
    const events = json('ndjson', ndjson, true);
    assert.ok(events.length > 3);

    const verify = await runCli(['verify', '--json'], { cwd: project, env });
    assert.equal(verify.exitCode, 1);
    human('verify stderr', verify.stderr);
    json('verify --json', verify, false);
  });

  it('a --mirror template with credentials is never echoed whole', async () => {
    const run = await runCli(['--dry-run', '--mirror', 'https://u:abc/SECRET_M@mirror.example/%package%'], { cwd: project, env });
    assert.equal(run.exitCode, 2);
    human('mirror stderr', run.stderr);
    assert.match(run.stderr, /mirror\.example/);
  });
});

describe('a malformed file that holds credentials', () => {
  let root = '';
  let cleanup: () => Promise<void>;
  before(async () => {
    ({ dir: root, cleanup } = await tempDir('cp-badcfg-'));
  });
  after(() => cleanup());

  const cases = [
    { label: 'project composer.json', file: 'project/composer.json', text: '{"config": {"http-basic": {"h": {"username": "u", "password":SECRET_CJ}}}}' },
    { label: '$COMPOSER_HOME/config.json', file: 'home/.composer/config.json', text: '{"config": {"bearer": {"h": "SECRET_CFG"}} "x": 1}' },
    { label: '$COMPOSER_HOME/auth.json', file: 'home/.composer/auth.json', text: '{"bearer": {"h": "SECRET_AUTH"}}}' },
  ];
  for (const c of cases) {
    it(`${c.label}: position only, on stderr and in --json, and no lock-file hint`, async () => {
      const dir = path.join(root, c.label.replace(/\W+/g, '-'));
      await mkdir(path.join(dir, 'project'), { recursive: true });
      await writeFile(path.join(dir, 'project', 'composer.lock'), JSON.stringify({ 'content-hash': 'x', packages: [], 'packages-dev': [] }));
      await mkdir(path.dirname(path.join(dir, c.file)), { recursive: true });
      await writeFile(path.join(dir, c.file), c.text);
      const env = isolatedEnv(dir);
      const run = await runCli(['--json'], { cwd: path.join(dir, 'project'), env });
      assert.equal(run.exitCode, 2, run.stderr);
      assert.doesNotMatch(run.stderr + run.stdout, SECRET);
      assert.match(run.stderr, /\.json:1:\d+: invalid JSON: /);
      assert.doesNotMatch(run.stderr + run.stdout, /composer update --lock/);
      const report = JSON.parse(run.stdout) as { ok: boolean; error: { code: string } };
      assert.equal(report.error.code, 'E_JSON');
    });
  }
});
