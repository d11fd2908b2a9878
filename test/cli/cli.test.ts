import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { composerPackageZip } from '../helpers/archives.js';
import { DistServer } from '../helpers/dist-server.js';
import { isolatedEnv, runCli, tempDir, writeHttpProject } from '../helpers/run.js';
import { check, checkEvent, reportShape } from '../report/report-schema.js';

const sha1 = (b: Buffer | string): string => createHash('sha1').update(b).digest('hex');
/** Anything a terminal would interpret: ESC sequences, carriage returns, backspaces… (newline and tab allowed). */
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f]/;

interface Report {
  ok: boolean;
  command: string;
  packages: { name: string; status: string; cachePath: string }[];
  origins: { origin: string; requests: number; bytes: number }[];
  warnings: string[];
}

describe('the command line, end to end against a loopback dist server', () => {
  let server: DistServer;
  let root: string;
  let cleanup: () => Promise<void>;
  let project: string;
  let env: Record<string, string>;
  const names = ['acme/alpha', 'acme/beta', 'acme/gamma', 'acme/delta'];

  before(async () => {
    ({ dir: root, cleanup } = await tempDir('cp-cli-'));
    server = await new DistServer().start();
    const packages = names.map((name, i) => {
      const zip = composerPackageZip(name, '1.0.0');
      const p = `/dists/${name.replace('/', '-')}.zip`;
      server.add(p, zip);
      return {
        name,
        version: '1.0.0',
        type: 'library',
        dist: { type: 'zip', url: `${server.origin}${p}`, reference: sha1(name), shasum: i % 2 === 0 ? sha1(zip) : '' },
      };
    });
    project = path.join(root, 'project');
    await writeHttpProject(project, packages);
    env = isolatedEnv(root);
  });
  after(async () => {
    await server.stop();
    await cleanup();
  });

  it('--help lists every option, the verify command, env variables and exit codes', async () => {
    const run = await runCli(['--help'], { cwd: project, env });
    assert.equal(run.exitCode, 0);
    for (const flag of [
      '--no-dev',
      '--cache-dir',
      '--concurrency',
      '--per-origin',
      '--retries',
      '--backend',
      '--dry-run',
      '--check',
      '--json',
      '--progress',
      '--quiet',
      '--version',
    ]) {
      assert.ok(run.stdout.includes(flag), `help mentions ${flag}`);
    }
    assert.match(run.stdout, /composer-prefetch verify/);
    assert.match(run.stdout, /COMPOSER_PREFETCH_CONCURRENCY/);
    assert.match(run.stdout, /Exit codes: 0/);
    assert.match(run.stdout, /default: 16/);
    // Not a terminal: fitted to 80 columns, every line, the text after the options included.
    for (const line of run.stdout.split('\n')) assert.ok([...line].length <= 80, `fits 80 columns: ${line}`);
  });

  it('verify --help describes verify and lists only the options verify reads', async () => {
    const full = await runCli(['--help'], { cwd: project, env });
    for (const args of [
      ['verify', '--help'],
      ['--check', '-h'],
      ['verify', '-d', '.', '--help'],
    ]) {
      const run = await runCli(args, { cwd: project, env });
      assert.equal(run.exitCode, 0, run.stderr);
      assert.notEqual(run.stdout, full.stdout);
      assert.match(run.stdout, /^Usage: composer-prefetch verify \[options\] \[inputs\.\.\.\]$/m);
      assert.match(run.stdout, /downloading nothing/);
      for (const flag of ['--no-dev', '--cache-dir', '--verify <level>', '--json', '--working-dir'])
        assert.ok(run.stdout.includes(flag), `${args.join(' ')}: ${flag}`);
      for (const flag of ['--concurrency', '--retries', '--backend', '--mirror', '--dry-run', '--progress', '--split-size'])
        assert.ok(!run.stdout.includes(flag), `${args.join(' ')} does not offer ${flag}`);
      for (const line of run.stdout.split('\n')) assert.ok([...line].length <= 80, `fits 80 columns: ${line}`);
    }
  });

  it('a bad flag exits 2 with a clear message and no stack trace', async () => {
    const run = await runCli(['--concurency', '4'], { cwd: project, env });
    assert.equal(run.exitCode, 2);
    assert.match(run.stderr, /unknown option '--concurency'/);
    assert.match(run.stderr, /--help/);
    assert.doesNotMatch(run.stderr, /\n\s+at /);
    const bad = await runCli(['-j', 'many'], { cwd: project, env });
    assert.equal(bad.exitCode, 2);
    assert.match(bad.stderr, /--concurrency must be a whole number/);
  });

  it('a malformed lock exits 2 naming file:line:col, without a stack trace; --json still prints a document', async () => {
    const broken = path.join(root, 'broken.lock');
    await writeFile(broken, '{\n  "packages": [\n    { "name": "acme/x", }\n  ]\n}\n');
    const run = await runCli(['--json', broken], { cwd: project, env });
    assert.equal(run.exitCode, 2);
    assert.match(run.stderr, /broken\.lock:3:\d+: invalid JSON/);
    assert.doesNotMatch(run.stderr, /\n\s+at /);
    const doc = JSON.parse(run.stdout) as { ok: boolean; error: { code: string } };
    assert.equal(doc.ok, false);
    assert.equal(doc.error.code, 'E_JSON');
  });

  it('verify reports a missing and a corrupt archive (exit 1), then passes after a prefetch (exit 0)', async () => {
    await rm(path.join(root, 'cache'), { recursive: true, force: true });
    const first = await runCli(['--progress=plain'], { cwd: project, env });
    assert.equal(first.exitCode, 0, first.stderr);
    // Remove one archive and corrupt another in place.
    const json = JSON.parse((await runCli(['verify', '--json'], { cwd: project, env })).stdout) as Report;
    const [missing, corrupt] = [json.packages[0]!, json.packages[1]!];
    await rm(missing.cachePath);
    await writeFile(corrupt.cachePath, '<html>not a zip</html>');
    const requestsBefore = server.hits();

    const verify = await runCli(['verify'], { cwd: project, env });
    assert.equal(verify.exitCode, 1, verify.stderr);
    assert.match(verify.stderr, /Not ready: 2 of 4 archives/);
    assert.match(verify.stderr, new RegExp(`missing +${missing.name}`));
    assert.match(verify.stderr, new RegExp(`invalid +${corrupt.name}`));
    const check1 = await runCli(['--check', '--json'], { cwd: project, env });
    assert.equal(check1.exitCode, 1);
    const statuses = Object.fromEntries((JSON.parse(check1.stdout) as Report).packages.map((p) => [p.name, p.status]));
    assert.equal(statuses[missing.name], 'missing');
    assert.equal(statuses[corrupt.name], 'invalid');
    assert.equal(server.hits(), requestsBefore, 'verify downloads nothing');

    const fix = await runCli([], { cwd: project, env });
    assert.equal(fix.exitCode, 0, fix.stderr);
    const again = await runCli(['verify'], { cwd: project, env });
    assert.equal(again.exitCode, 0, again.stderr);
    assert.match(again.stderr, /Verified: all 4 archives/);
  });

  it('piped output has no control characters; --json parses and matches the schema', async () => {
    await rm(path.join(root, 'cache'), { recursive: true, force: true });
    const run = await runCli(['--json'], { cwd: project, env: { ...env, TERM: 'xterm-256color' } });
    assert.equal(run.exitCode, 0, run.stderr);
    assert.doesNotMatch(run.stderr, CONTROL);
    assert.doesNotMatch(run.stdout, CONTROL);
    const report: unknown = JSON.parse(run.stdout);
    assert.deepEqual(check(report, reportShape), []);
    const r = report as Report;
    assert.equal(r.ok, true);
    assert.deepEqual(
      r.packages.map((p) => p.status),
      ['downloaded', 'downloaded', 'downloaded', 'downloaded'],
    );
    assert.equal(r.origins.length, 1);
    assert.equal(r.origins[0]?.origin, server.origin);
    assert.equal(r.origins[0]?.requests, 4);
    // Human output went to stderr: the summary and the per-origin line.
    assert.match(run.stderr, /Done: 4 downloaded/);
    assert.match(run.stderr, /Origins:\n {2}http:\/\/127\.0\.0\.1:\d+: 4 requests/);
  });

  it('--json=ndjson streams one schema-valid event per line, ending with the summary', async () => {
    await rm(path.join(root, 'cache'), { recursive: true, force: true });
    const run = await runCli(['--json=ndjson', '--progress=none'], { cwd: project, env: { ...env, COMPOSER_PREFETCH_CONCURRENCY: '2' } });
    assert.equal(run.exitCode, 0, run.stderr);
    const events = run.stdout
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string });
    for (const e of events) assert.deepEqual(checkEvent(e), [], JSON.stringify(e));
    const types = events.map((e) => e.type);
    assert.equal(types[0], 'planned');
    assert.equal(types.at(-1), 'summary');
    assert.equal(types.filter((t) => t === 'started').length, 4);
    assert.equal(types.filter((t) => t === 'done').length, 4);
    assert.doesNotMatch(run.stderr, /progress:/);
  });

  it('--quiet prints only the summary; the env variable works the same', async () => {
    for (const extra of [['--quiet'], []]) {
      await rm(path.join(root, 'cache'), { recursive: true, force: true });
      const run = await runCli(extra, { cwd: project, env: extra.length === 0 ? { ...env, COMPOSER_PREFETCH_QUIET: 'true' } : env });
      assert.equal(run.exitCode, 0);
      assert.doesNotMatch(run.stderr, /Prefetching|progress:/);
      assert.match(run.stderr, /^Done: 4 downloaded/);
    }
  });

  it('warns when the cache outgrows cache-files-maxsize, with the command that fixes it', async () => {
    const home = path.join(root, 'home-small');
    await mkdir(home, { recursive: true });
    await writeFile(path.join(home, 'config.json'), JSON.stringify({ config: { 'cache-files-maxsize': '1K' } }));
    const run = await runCli(['--json'], { cwd: project, env: { ...env, COMPOSER_HOME: home } });
    assert.equal(run.exitCode, 0, run.stderr);
    assert.match(run.stderr, /more than cache-files-maxsize \(1 KiB\)/);
    assert.match(run.stderr, /composer config -g cache-files-maxsize 1GiB/);
    const report = JSON.parse(run.stdout) as Report & { cacheSize: { overLimit: boolean } };
    assert.equal(report.cacheSize.overLimit, true);
    assert.ok(report.warnings.some((w) => w.includes('cache-files-maxsize')));
    // The archives landed where the report says.
    assert.ok((await readdir(path.dirname(report.packages[0]!.cachePath))).length > 0);
  });

  it("when the project's composer.json sets the smaller cache-files-maxsize, the fix names the project setting, not -g", async () => {
    const dir = path.join(root, 'project-small-maxsize');
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, 'composer.lock'), await readFile(path.join(project, 'composer.lock')));
    const composerJson = JSON.parse(await readFile(path.join(project, 'composer.json'), 'utf8').catch(() => '{}')) as { config?: Record<string, unknown> };
    await writeFile(path.join(dir, 'composer.json'), JSON.stringify({ ...composerJson, config: { ...composerJson.config, 'cache-files-maxsize': '1K' } }));
    const run = await runCli([], { cwd: dir, env: { ...env, COMPOSER_CACHE_DIR: path.join(root, 'cache-small-project') } });
    assert.equal(run.exitCode, 0, run.stderr);
    assert.match(run.stderr, /composer config cache-files-maxsize 1GiB {3}\(in the project: its composer\.json sets the limit\)/);
    assert.doesNotMatch(run.stderr, /composer config -g/);
  });
});
