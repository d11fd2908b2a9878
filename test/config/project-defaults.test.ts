import assert from 'node:assert/strict';
import { mkdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { applyEnvironment, declareEnvironment, normaliseArgv } from '../../src/cli/env-options.js';
import { buildProgram, toCliOptions, type CliOptions } from '../../src/cli/program.js';
import { applyProjectDefaults, projectDefaultKeys } from '../../src/cli/project-options.js';
import { projectDefaultsOf, readProjectDefaults } from '../../src/config/project-defaults.js';
import { PrefetchError } from '../../src/errors.js';
import { DistServer } from '../helpers/dist-server.js';
import { makeZip } from '../helpers/archives.js';
import { isolatedEnv, runCli, tempDir } from '../helpers/run.js';

/** argv + env + a composer.json in `dir`, resolved as run.ts resolves them. */
async function resolve(dir: string, argv: string[], env: Record<string, string> = {}): Promise<CliOptions> {
  // The environment is given, not read from process.env, as `run` gets it from its io.
  const program = buildProgram(env, '0.0.0')
    .exitOverride()
    .configureOutput({ writeErr: () => undefined });
  declareEnvironment(program);
  program.parse(normaliseArgv(argv), { from: 'user' });
  applyEnvironment(program, env);
  await applyProjectDefaults(program, { cwd: dir, env });
  return toCliOptions(program, env, dir);
}

describe('project defaults: composer.json extra.composer-prefetch', () => {
  let root: string;
  let cleanup: () => Promise<void>;
  let n = 0;
  const project = async (composerJson: unknown, name = 'composer.json'): Promise<string> => {
    const dir = path.join(root, `p${n++}`);
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, name), typeof composerJson === 'string' ? composerJson : JSON.stringify(composerJson));
    return dir;
  };
  const withDefaults = (values: unknown) => project({ name: 'acme/app', extra: { 'composer-prefetch': values } });

  before(async () => ({ dir: root, cleanup } = await tempDir('cp-projdef-')));
  after(async () => cleanup());

  it('finds the block, or none', () => {
    assert.equal(projectDefaultsOf({ name: 'x' }, 'composer.json'), undefined);
    assert.equal(projectDefaultsOf({ extra: { other: 1 } }, 'composer.json'), undefined);
    assert.equal(projectDefaultsOf([], 'composer.json'), undefined);
    assert.deepEqual(projectDefaultsOf({ extra: { 'composer-prefetch': { backend: 'aria2' } } }, 'composer.json'), {
      file: 'composer.json',
      values: { backend: 'aria2' },
    });
    assert.throws(
      () => projectDefaultsOf({ extra: { 'composer-prefetch': ['--no-dev'] } }, 'composer.json'),
      (e: unknown) => e instanceof PrefetchError && e.code === 'E_USAGE' && /composer\.json: extra\.composer-prefetch must be an object/.test(e.message),
    );
  });

  it('applies mirror, backend, no-dev and value options as the flags would', async () => {
    const dir = await withDefaults({
      mirror: ['https://m1.example/%package%/%reference%.%type%', 'https://m2.example/%package%.%type%'],
      backend: 'aria2',
      'no-dev': true,
      concurrency: 8,
      'stall-timeout': 5,
      'split-size': '4M',
      quiet: true,
    });
    const o = await resolve(dir, []);
    assert.deepEqual(o.prefetch.mirrors, ['https://m1.example/%package%/%reference%.%type%', 'https://m2.example/%package%.%type%']);
    assert.equal(o.prefetch.backend, 'aria2');
    assert.equal(o.prefetch.noDev, true);
    assert.equal(o.prefetch.download.concurrency, 8);
    assert.equal(o.prefetch.download.stallTimeoutMs, 5000);
    assert.equal(o.prefetch.download.splitMinBytes, 4 * 1024 * 1024);
    assert.equal(o.quiet, true);
    const single = await resolve(await withDefaults({ mirror: 'https://m.example/%package%.%type%' }), []);
    assert.deepEqual(single.prefetch.mirrors, ['https://m.example/%package%.%type%']);
  });

  it('has the lowest precedence: environment variables and flags win', async () => {
    const dir = await withDefaults({ backend: 'aria2', concurrency: 8, 'no-dev': true, mirror: ['https://project.example/%package%.%type%'] });
    const env = await resolve(dir, [], { COMPOSER_PREFETCH_CONCURRENCY: '3', COMPOSER_PREFETCH_NO_DEV: '0' });
    assert.equal(env.prefetch.download.concurrency, 3);
    assert.equal(env.prefetch.noDev, false, 'COMPOSER_PREFETCH_NO_DEV=0 turns the project default off');
    assert.equal(env.prefetch.backend, 'aria2');
    const flags = await resolve(dir, ['--backend', 'native', '-j', '2', '--mirror', 'https://flag.example/%package%.%type%'], {
      COMPOSER_PREFETCH_CONCURRENCY: '3',
    });
    assert.equal(flags.prefetch.backend, 'native');
    assert.equal(flags.prefetch.download.concurrency, 2);
    assert.deepEqual(flags.prefetch.mirrors, ['https://flag.example/%package%.%type%'], 'a flag replaces the project mirrors, it does not add to them');
    const none = await resolve(await project({ name: 'acme/plain' }), []);
    assert.equal(none.prefetch.backend, 'native');
    assert.equal(none.prefetch.noDev, false);
  });

  it('reads the composer.json that COMPOSER names, and none when there is none', async () => {
    const dir = await project({ extra: { 'composer-prefetch': { backend: 'aria2' } } }, 'composer-dev.json');
    assert.equal((await resolve(dir, [], { COMPOSER: 'composer-dev.json' })).prefetch.backend, 'aria2');
    assert.equal((await resolve(dir, [])).prefetch.backend, 'native');
    assert.equal(await readProjectDefaults({ cwd: path.join(root, 'missing'), env: {} }), undefined);
  });

  it('rejects bad values with the flag’s own message, naming the file and key', async () => {
    const cases: [unknown, RegExp][] = [
      [
        { concurrency: 'many' },
        /^composer\.json: extra\.composer-prefetch\.concurrency = "many" is not valid for --concurrency: --concurrency must be a whole number ≥ 1\.$/,
      ],
      [{ backend: 'curl' }, /^composer\.json: extra\.composer-prefetch\.backend = "curl" is not valid for --backend: Allowed choices are native, aria2\.$/],
      [{ 'no-dev': 'yes' }, /^composer\.json: extra\.composer-prefetch\.no-dev = "yes" is not valid for --no-dev: use true or false\.$/],
      [{ mirror: [{}] }, /extra\.composer-prefetch\.mirror = \[\{\}\] is not valid for --mirror: use a string or an array of strings\./],
      [{ nodev: true }, /^composer\.json: extra\.composer-prefetch\.nodev is not an option a project can set; use one of: no-dev, /],
      [{ json: true }, /extra\.composer-prefetch\.json is not an option a project can set/],
      [{ 'cache-dir': '/c' }, /extra\.composer-prefetch\.cache-dir is not an option a project can set/],
      [
        { aria2c: './evil.sh' },
        /^composer\.json: extra\.composer-prefetch\.aria2c is not an option a project can set: it names a program to run, .*use --aria2c or COMPOSER_PREFETCH_ARIA2C\.$/,
      ],
      [{ 'working-dir': '..' }, /extra\.composer-prefetch\.working-dir is not an option a project can set: it chooses which project is read/],
    ];
    for (const [values, message] of cases) {
      const dir = await withDefaults(values);
      await assert.rejects(resolve(dir, []), (e: Error & { exitCode?: number }) => {
        assert.match(e.message, message);
        assert.equal(e.exitCode, 2);
        return true;
      });
    }
    // Even when a flag overrides it, a bad project value is reported (the file is wrong either way).
    await assert.rejects(resolve(await withDefaults({ retries: -1 }), ['--retries', '2']), /extra\.composer-prefetch\.retries = -1 is not valid for --retries/);
  });

  it('never quotes a malformed composer.json (it can hold credentials), and redacts quoted values', async () => {
    const broken = await project('{\n  "config": {"http-basic": {"h": {"password": SECRET_CJ}}}\n}');
    // Left to the config loader, which reports it by position with the --json error document
    // (test/cli/hostile-lock.test.ts); here it only contributes no defaults.
    const options = await resolve(broken, []);
    assert.equal(options.prefetch.backend, 'native');
    const secret = await withDefaults({ mirror: ['https://user:hunter2@m.example/%package%.%type%', false] });
    await assert.rejects(resolve(secret, []), (e: Error) => {
      assert.match(e.message, /is not valid for --mirror/);
      assert.doesNotMatch(e.message, /hunter2/);
      return true;
    });
  });

  it('accepts every option a project can set (keys listed in the README)', async () => {
    const program = buildProgram({}, '0.0.0');
    const keys = projectDefaultKeys(program);
    for (const key of ['no-dev', 'concurrency', 'per-origin', 'retries', 'backend', 'mirror', 'mirror-private', 'progress']) assert.ok(keys.includes(key), key);
    for (const key of ['json', 'dry-run', 'check', 'cache-dir', 'version', 'help', 'aria2c', 'working-dir']) assert.ok(!keys.includes(key), key);
  });

  it('a project file never chooses a program to run: aria2c in composer.json is refused before anything runs', async () => {
    const dir = await withDefaults({ backend: 'aria2', aria2c: './evil.sh' });
    const marker = path.join(dir, 'ran');
    await writeFile(path.join(dir, 'evil.sh'), `#!/bin/sh\ntouch '${marker}'\necho 'aria2 version 1.37.0'\n`, { mode: 0o755 });
    await writeFile(path.join(dir, 'composer.lock'), JSON.stringify({ packages: [], 'packages-dev': [] }));
    const run = await runCli([], { cwd: dir, env: isolatedEnv(root) });
    assert.equal(run.exitCode, 2);
    assert.match(run.stderr, /extra\.composer-prefetch\.aria2c is not an option a project can set: it names a program to run/);
    await assert.rejects(stat(marker), { code: 'ENOENT' });
  });

  it("a lock in another project: options from the working directory's composer.json, secure-http from the lock's; its own block is named as unused", async () => {
    const server = await new DistServer().start();
    try {
      const zip = (name: string) => makeZip([{ name: `${name}/README.md`, content: name }]);
      const entry = (name: string) => ({
        name,
        version: '1.0.0',
        dist: { type: 'zip', url: server.add(`/${name.replace('/', '-')}.zip`, zip(name)), reference: 'c'.repeat(40) },
      });
      const cwd = await project({ extra: { 'composer-prefetch': { 'no-dev': true } } });
      const app = path.join(cwd, 'apps', 'a');
      await mkdir(app, { recursive: true });
      // The app's own composer.json: plain http allowed (the loopback server), and a block of its own.
      await writeFile(
        path.join(app, 'composer.json'),
        JSON.stringify({ config: { 'secure-http': false }, extra: { 'composer-prefetch': { 'no-dev': false, retries: 0 } } }),
      );
      await writeFile(path.join(app, 'composer.lock'), JSON.stringify({ packages: [entry('acme/prod')], 'packages-dev': [entry('acme/devtool')] }));
      const run = await runCli(['apps/a/composer.lock', '--json'], { cwd, env: isolatedEnv(root) });
      assert.equal(run.exitCode, 0, run.stderr);
      const report = JSON.parse(run.stdout) as { packages: { name: string; status: string }[] };
      // secure-http off came from apps/a/composer.json: the http URL was fetched.
      assert.deepEqual(
        report.packages.map((p) => [p.name, p.status]),
        [['acme/prod', 'downloaded']],
      );
      // no-dev came from the working directory's composer.json, not from the app's "no-dev": false.
      assert.equal(
        server.hits((p) => p.includes('devtool')),
        0,
      );
      assert.match(
        run.stderr,
        /apps\/a\/composer\.json: extra\.composer-prefetch is not applied: options come from the working directory's composer\.json only .*run with -d apps\/a to use them/,
      );
    } finally {
      await server.stop();
    }
  });

  it('the CLI stops with exit 2 and one message naming composer.json and the key', async () => {
    const dir = await withDefaults({ 'per-origin': 0 });
    await writeFile(path.join(dir, 'composer.lock'), JSON.stringify({ packages: [], 'packages-dev': [] }));
    const run = await runCli([], { cwd: dir, env: isolatedEnv(root) });
    assert.equal(run.exitCode, 2);
    assert.match(
      run.stderr,
      /composer\.json: extra\.composer-prefetch\.per-origin = 0 is not valid for --per-origin: --per-origin must be a whole number ≥ 1\./,
    );
    assert.doesNotMatch(run.stderr, /\n\s+at /);
  });
});
