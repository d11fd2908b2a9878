import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { execa } from 'execa';
import { composerPackageZip } from '../helpers/archives.js';
import { DistServer } from '../helpers/dist-server.js';
import { binPath, isolatedEnv, runCli, tempDir, writeHttpProject } from '../helpers/run.js';

const sha1 = (b: Buffer | string): string => createHash('sha1').update(b).digest('hex');

interface Planned {
  packages: { name: string; cachePath: string }[];
}

/** The non-empty lines of `text`. */
const lines = (text: string): string[] => text.split('\n').filter((l) => l.trim() !== '');

describe('failure paths: one clear message, the right exit code, nothing lost', () => {
  let server: DistServer;
  let root: string;
  let cleanup: () => Promise<void>;
  let project: string;
  let env: Record<string, string>;
  const names = ['acme/alpha', 'acme/beta'];
  let lockPackages: Record<string, unknown>[];

  before(async () => {
    ({ dir: root, cleanup } = await tempDir('cp-fail-'));
    server = await new DistServer().start();
    lockPackages = names.map((name) => {
      const zip = composerPackageZip(name, '1.0.0');
      const p = `/dists/${name.replace('/', '-')}.zip`;
      server.add(p, zip);
      return { name, version: '1.0.0', type: 'library', dist: { type: 'zip', url: `${server.origin}${p}`, reference: sha1(name), shasum: sha1(zip) } };
    });
    project = path.join(root, 'project');
    await writeHttpProject(project, lockPackages);
    env = isolatedEnv(root);
  });
  after(async () => {
    await server.stop();
    await cleanup();
  });

  describe('an unusable cache directory: exit 2, E_CACHE, one message, before any download', () => {
    it('a file as cache dir (--cache-dir and COMPOSER_CACHE_DIR)', async () => {
      const file = path.join(root, 'a-file');
      await writeFile(file, 'not a directory');
      server.resetLog();
      const run = await runCli(['--cache-dir', file], { cwd: project, env });
      assert.equal(run.exitCode, 2, run.stderr);
      assert.match(run.stderr, new RegExp(`The cache directory ${file}/files is not usable: ${file} is a file, not a directory`));
      assert.match(run.stderr, /--cache-dir \(or COMPOSER_CACHE_DIR\)/);
      assert.doesNotMatch(run.stderr, /ENOTDIR|failed:|✗/, 'one message, not one per package');
      assert.equal(server.hits(), 0, 'nothing was downloaded');

      const json = await runCli(['--json'], { cwd: project, env: { ...env, COMPOSER_CACHE_DIR: file } });
      assert.equal(json.exitCode, 2, json.stderr);
      const doc = JSON.parse(json.stdout) as { ok: boolean; error: { code: string; message: string; hint: string } };
      assert.equal(doc.ok, false);
      assert.equal(doc.error.code, 'E_CACHE');
      assert.match(doc.error.hint, /COMPOSER_CACHE_DIR/);

      const ndjson = await runCli(['--json=ndjson'], { cwd: project, env: { ...env, COMPOSER_CACHE_DIR: file } });
      assert.equal(ndjson.exitCode, 2, ndjson.stderr);
      const last = JSON.parse(lines(ndjson.stdout).at(-1)!) as { type: string; error: { code: string } };
      assert.deepEqual([last.type, last.error.code], ['error', 'E_CACHE']);
    });

    it('--cache-dir /etc/passwd', async () => {
      const run = await runCli(['--cache-dir', '/etc/passwd'], { cwd: project, env });
      assert.equal(run.exitCode, 2, run.stderr);
      assert.match(run.stderr, /\/etc\/passwd is a file, not a directory/);
    });

    it("a read-only (0555) directory, or another user's private (0700) one, for a user who is not root", async (t) => {
      const ro = path.join(root, 'read-only');
      const privateDir = path.join(root, 'private');
      await mkdir(ro);
      await chmod(ro, 0o555);
      await mkdir(privateDir);
      await chmod(privateDir, 0o700);
      // root ignores modes: run the CLI as nobody then (the test tree must be readable for it).
      let command = [process.execPath, binPath];
      if (process.getuid?.() === 0) {
        const setpriv = await execa('setpriv', ['--version'], { reject: false });
        if (setpriv.exitCode !== 0) return t.skip('running as root without setpriv: cannot test as another user');
        await chmod(root, 0o755);
        command = ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', ...command];
      }
      for (const dir of [ro, privateDir]) {
        const r = await execa(command[0]!, [...command.slice(1), '--cache-dir', dir, '--json'], {
          cwd: project,
          env,
          extendEnv: false,
          reject: false,
          stdin: 'ignore',
        });
        assert.equal(r.exitCode, 2, String(r.stderr));
        assert.match(String(r.stderr), new RegExp(`${dir} is not writable by this user`));
        assert.doesNotMatch(String(r.stderr), /failed:|✗/, 'one message, not one per package');
        assert.equal((JSON.parse(String(r.stdout)) as { error: { code: string } }).error.code, 'E_CACHE');
      }
    });

    it('a read-only filesystem is named as such (not ENOENT)', async (t) => {
      const mnt = path.join(root, 'ro-mount');
      await mkdir(mnt);
      // A read-only tmpfs in a private mount namespace: needs the right to mount (root in CI).
      const inNamespace = (args: string[]) =>
        execa('unshare', ['-m', 'sh', '-c', 'mount -t tmpfs -o ro tmpfs "$0" && shift && exec "$@"', mnt, 'true', ...args], {
          cwd: project,
          env,
          extendEnv: false,
          reject: false,
          stdin: 'ignore',
        });
      if ((await inNamespace(['true'])).exitCode !== 0) return t.skip('cannot mount a read-only tmpfs here (unshare -m needs privileges)');
      const r = await inNamespace([process.execPath, binPath, '--cache-dir', path.join(mnt, 'cache')]);
      assert.equal(r.exitCode, 2, String(r.stderr));
      assert.match(String(r.stderr), new RegExp(`${mnt} is on a read-only filesystem`));
      assert.doesNotMatch(String(r.stderr), /ENOENT/);
    });

    it('verify (or --check) with --dry-run is refused with exit 2: a dry run checks nothing', async () => {
      const cache = path.join(root, 'cache-empty-for-dry-verify');
      for (const args of [
        ['verify', '--dry-run'],
        ['--check', '--dry-run', '--json'],
        ['verify', '--dry-run', '--json=ndjson'],
      ]) {
        const run = await runCli(args, { cwd: project, env: { ...env, COMPOSER_CACHE_DIR: cache } });
        assert.equal(run.exitCode, 2, `${args.join(' ')}: ${run.stderr}`);
        assert.match(run.stderr, /verify \(or --check\) and --dry-run cannot be combined: a dry run checks nothing in the cache/);
        assert.doesNotMatch(run.stderr, /Verified/);
        if (args.includes('--json')) assert.deepEqual((JSON.parse(run.stdout) as { ok: boolean; error: { code: string } }).error.code, 'E_USAGE');
        if (args.includes('--json=ndjson')) assert.equal((JSON.parse(lines(run.stdout).at(-1)!) as { ok: boolean }).ok, false);
      }
    });

    it('verify on a cache this user cannot read names it unreadable (permission denied), not missing', async (t) => {
      const cache = path.join(root, 'cache-private');
      const filled = await runCli([], { cwd: project, env: { ...env, COMPOSER_CACHE_DIR: cache } });
      assert.equal(filled.exitCode, 0, filled.stderr);
      await chmod(path.join(cache, 'files'), 0o700);
      let command = [process.execPath, binPath];
      if (process.getuid?.() === 0) {
        const setpriv = await execa('setpriv', ['--version'], { reject: false });
        if (setpriv.exitCode !== 0) return t.skip('running as root without setpriv: cannot test as another user');
        await chmod(root, 0o755);
        await chmod(cache, 0o755);
        command = ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', ...command];
      } else {
        await chmod(path.join(cache, 'files'), 0o000);
      }
      const r = await execa(command[0]!, [...command.slice(1), 'verify', '--json'], {
        cwd: project,
        env: { ...env, COMPOSER_CACHE_DIR: cache },
        extendEnv: false,
        reject: false,
        stdin: 'ignore',
      });
      await chmod(path.join(cache, 'files'), 0o755);
      assert.equal(r.exitCode, 1, String(r.stderr));
      assert.match(String(r.stderr), /Not ready: 0 of 2 archives are in Composer's cache; 0 missing, 0 invalid, 2 unreadable\./);
      assert.match(String(r.stderr), /unreadable {2}acme\/alpha 1\.0\.0: cannot be read at .*permission denied/);
      assert.doesNotMatch(String(r.stderr), / {2}missing /);
      const doc = JSON.parse(String(r.stdout)) as { packages: { status: string }[] };
      assert.deepEqual(
        doc.packages.map((p) => p.status),
        ['unreadable', 'unreadable'],
      );
    });

    it('verify and --dry-run need no writable cache', async () => {
      const file = path.join(root, 'a-file');
      assert.equal((await runCli(['--dry-run', '--cache-dir', file], { cwd: project, env })).exitCode, 0);
      assert.equal((await runCli(['verify', '--cache-dir', file], { cwd: project, env })).exitCode, 1, 'verify: missing, not unusable');
    });
  });

  it("the Composer config's own warnings reach the user (a bad cache-files-maxsize)", async () => {
    const dir = path.join(root, 'bad-maxsize');
    await writeHttpProject(dir, lockPackages);
    await writeFile(
      path.join(dir, 'composer.json'),
      JSON.stringify({ config: { 'secure-http': false, 'cache-files-maxsize': 'lots', 'github-domains': 'github.com' } }),
    );
    const run = await runCli(['--no-progress', '--json'], { cwd: dir, env: { ...env, COMPOSER_CACHE_DIR: path.join(root, 'cache-maxsize') } });
    assert.equal(run.exitCode, 0, run.stderr);
    assert.match(run.stderr, /warning: Could not parse the value of 'cache-files-maxsize': "lots"/);
    assert.match(run.stderr, /warning: config\.github-domains must be an array of host names; ignored/);
    assert.ok((JSON.parse(run.stdout) as { warnings: string[] }).warnings.some((w) => w.includes('cache-files-maxsize')));
  });

  it('a local dist (artifact repository path) is skipped, not a failure: exit 0', async () => {
    const dir = path.join(root, 'artifact');
    await writeHttpProject(dir, [
      ...lockPackages,
      { name: 'acme/art', version: '1.0.0', type: 'library', dist: { type: 'zip', url: 'artifacts/acme-art-1.0.0.zip', reference: null } },
    ]);
    const run = await runCli(['--no-progress'], { cwd: dir, env: { ...env, COMPOSER_CACHE_DIR: path.join(root, 'cache-artifact') } });
    assert.equal(run.exitCode, 0, run.stderr);
    assert.match(run.stderr, /1 skipped/);
    assert.doesNotMatch(run.stderr, /not a valid URL|warning/);
  });

  it('a cache path too long for the filesystem fails that package only (exit 1); the others land', async () => {
    const dir = path.join(root, 'long');
    const long = { ...lockPackages[0]!, name: `acme/${'x'.repeat(4100)}` };
    await writeHttpProject(dir, [...lockPackages, long]);
    const cache = path.join(root, 'cache-long');
    const run = await runCli(['--json'], { cwd: dir, env: { ...env, COMPOSER_CACHE_DIR: cache } });
    assert.equal(run.exitCode, 1, run.stderr.slice(0, 2000));
    const report = JSON.parse(run.stdout) as { packages: { name: string; status: string; cachePath: string }[] };
    assert.deepEqual(
      report.packages.map((p) => [p.name.slice(0, 10), p.status]),
      [
        ['acme/alpha', 'downloaded'],
        ['acme/beta', 'downloaded'],
        ['acme/xxxxx', 'failed'],
      ],
    );
    for (const p of report.packages.slice(0, 2)) assert.ok(existsSync(p.cachePath), p.cachePath);
    assert.match(run.stderr, /ENAMETOOLONG/);
  });

  describe('a whole input of the wrong shape is bad input: exit 2, also for verify', () => {
    const cases: [string, string, RegExp][] = [
      ['42', 'composer.lock', /the document is a number/],
      ['null', 'composer.lock', /the document is null/],
      ['{"packages":"x"}', 'composer.lock', /"packages" is not a list/],
      ['{"content-hash":"x"}', 'composer.lock', /a composer\.lock without a "packages" list/],
      ['{"name":"acme/app","require":{"acme/lib":"^1"}}', 'composer.json', /is a composer\.json, not a lock file: did you mean composer\.lock\?/],
    ];
    for (const [content, file, message] of cases) {
      it(`${file}: ${content}`, async () => {
        const dir = path.join(root, `shape-${sha1(content).slice(0, 8)}`);
        await mkdir(dir, { recursive: true });
        await writeFile(path.join(dir, file), content);
        for (const args of [[file], ['verify', file]]) {
          const run = await runCli(args, { cwd: dir, env });
          assert.equal(run.exitCode, 2, `${args.join(' ')}: ${run.stderr}`);
          assert.match(run.stderr, message);
          assert.doesNotMatch(run.stderr, /Verified|0 archives/);
        }
      });
    }
  });

  it('a closed stdout ends the output, not the job: the cache is filled and the exit code is the result', async () => {
    // The server holds both downloads until the reader is gone, so the run writes after the close.
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    server.intercept = (req, res) => {
      const route = server.routes.get(req.url ?? '');
      if (route === undefined) return false;
      void gate.then(() => {
        res.writeHead(200, { 'content-type': 'application/zip', 'content-length': String(route.body.length) });
        res.end(route.body);
      });
      return true;
    };
    try {
      const cache = path.join(root, 'cache-epipe');
      const child = execa(process.execPath, [binPath, '--json=ndjson'], {
        cwd: project,
        env: { ...env, COMPOSER_CACHE_DIR: cache },
        extendEnv: false,
        reject: false,
        stdin: 'ignore',
        buffer: { stdout: false, stderr: true },
      });
      const first = await new Promise<string>((resolve) => createInterface({ input: child.stdout! }).once('line', resolve));
      assert.equal((JSON.parse(first) as { type: string }).type, 'planned');
      child.stdout!.destroy(); // like `| head -1`
      release();
      const r = await child;
      assert.equal(r.exitCode, 0, String(r.stderr));
      assert.doesNotMatch(String(r.stderr), /EPIPE|Error|at .*\.js:\d+/);
      assert.match(String(r.stderr), /Done: 2 downloaded/);
      const dry = await runCli(['--dry-run', '--json'], { cwd: project, env: { ...env, COMPOSER_CACHE_DIR: cache } });
      for (const p of (JSON.parse(dry.stdout) as Planned).packages) assert.ok(existsSync(p.cachePath), `${p.name} is in the cache`);
    } finally {
      server.intercept = undefined;
    }
  });

  it('the ndjson summary has the same `ok` as the --json report', async () => {
    const cache = path.join(root, 'cache-ok');
    const run = await runCli(['--json=ndjson'], { cwd: project, env: { ...env, COMPOSER_CACHE_DIR: cache } });
    assert.equal(run.exitCode, 0, run.stderr);
    const summary = JSON.parse(lines(run.stdout).at(-1)!) as { type: string; ok: boolean };
    assert.deepEqual([summary.type, summary.ok], ['summary', true]);
    await rm(cache, { recursive: true });
    server.fault('/dists/acme-beta.zip', { kind: 'status', status: 404 }, 10);
    const failed = await runCli(['--json=ndjson'], { cwd: project, env: { ...env, COMPOSER_CACHE_DIR: cache } });
    assert.equal(failed.exitCode, 1, failed.stderr);
    assert.equal((JSON.parse(lines(failed.stdout).at(-1)!) as { ok: boolean }).ok, false);
  });
});

describe("Composer users' habits", () => {
  let server: DistServer;
  let root: string;
  let cleanup: () => Promise<void>;
  let env: Record<string, string>;
  before(async () => {
    ({ dir: root, cleanup } = await tempDir('cp-habits-'));
    server = await new DistServer().start();
    const zip = composerPackageZip('acme/one', '1.0.0');
    server.add('/one.zip', zip);
    const dir = path.join(root, 'apps', 'shop');
    await writeHttpProject(dir, [{ name: 'acme/one', version: '1.0.0', dist: { type: 'zip', url: `${server.origin}/one.zip`, reference: 'r1', shasum: '' } }]);
    env = isolatedEnv(root);
  });
  after(async () => {
    await server.stop();
    await cleanup();
  });

  it('--version names the tool and Node', async () => {
    const run = await runCli(['--version'], { cwd: root, env });
    assert.equal(run.exitCode, 0);
    assert.equal(run.stdout.trim(), `composer-prefetch 0.1.0 (Node ${process.version})`);
  });

  it('-d/--working-dir reads the project there (a relative --cache-dir too); -n, -v, -vvv, --no-progress and --no-ansi are accepted', async () => {
    const run = await runCli(['-d', 'apps/shop', '--cache-dir', 'local-cache', '-n', '-vvv', '--no-progress', '--no-ansi'], { cwd: root, env });
    assert.equal(run.exitCode, 0, run.stderr);
    assert.match(run.stderr, new RegExp(`Cache: ${path.join(root, 'apps', 'shop', 'local-cache', 'files')}`));
    assert.doesNotMatch(run.stderr, /^Prefetching/m, '--no-progress prints no progress');
    for (const args of [
      ['--working-dir=apps/shop', '-v'],
      ['--working-dir', 'apps/shop', '--verbose', '--progress=plain'],
    ]) {
      const again = await runCli([...args, '--dry-run'], { cwd: root, env });
      assert.equal(again.exitCode, 0, again.stderr);
    }
    const missing = await runCli(['-d', 'nowhere'], { cwd: root, env });
    assert.equal(missing.exitCode, 2);
    assert.match(missing.stderr, /-d\/--working-dir: .*nowhere is not a directory/);
  });

  it('--ansi colours a pipe; --no-ansi and NO_COLOR do not', async () => {
    const failing = path.join(root, 'fail');
    await mkdir(failing, { recursive: true });
    await writeFile(path.join(failing, 'composer.json'), '{}');
    await writeFile(path.join(failing, 'composer.lock'), '{"content-hash":"x"}');
    const ESC = /\u001b\[/;
    assert.match((await runCli(['--ansi'], { cwd: failing, env })).stderr, ESC);
    assert.doesNotMatch((await runCli(['--no-ansi'], { cwd: failing, env })).stderr, ESC);
    assert.doesNotMatch((await runCli([], { cwd: failing, env })).stderr, ESC);
  });
});
