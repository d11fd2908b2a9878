import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { applyEnvironment, declareEnvironment } from '../../src/cli/env-options.js';
import { buildProgram, mistypedCommand, toCliOptions } from '../../src/cli/program.js';
import { isolatedEnv, tempDir, writeHttpProject } from '../helpers/run.js';
import { runInProcess as cli } from '../helpers/in-process.js';

/** Every sentence of a message starts upper-case: after ". " comes no lower-case letter. */
function assertSentencesCapitalised(text: string): void {
  for (const line of text.split('\n')) assert.doesNotMatch(line, /\.\s+[a-z]/, `a sentence starts lower-case: ${line}`);
}

describe('what a person reads when a command line is wrong', () => {
  let root: string;
  let cleanup: () => Promise<void>;
  let project: string;
  let env: Record<string, string>;

  before(async () => {
    ({ dir: root, cleanup } = await tempDir('cp-messages-'));
    project = path.join(root, 'project');
    await writeHttpProject(project, [
      { name: 'acme/one', version: '1.0.0', dist: { type: 'zip', url: 'http://127.0.0.1:9/acme-one.zip', reference: 'a'.repeat(40) } },
    ]);
    env = isolatedEnv(root, { NO_COLOR: '1' });
  });
  after(() => cleanup());

  it('a mistyped verify is an unknown command with "did you mean verify"', async () => {
    const r = await cli(['verfy'], { cwd: project, env });
    assert.equal(r.exitCode, 2);
    assert.match(r.stderr, /unknown command 'verfy' \(Did you mean verify\?\)/);
    assert.match(r.stderr, /\.\/verfy/, 'says how to name a file of that name');
    assert.equal(mistypedCommand('verifiy'), 'verify');
    assert.equal(mistypedCommand('vrefiy'), 'verify');
    for (const word of ['verify', 'composer.lock', 'apps/verfy', 'install', 'ver', '-']) assert.equal(mistypedCommand(word), undefined, word);
  });

  it('no lock: beside a composer.json it suggests `composer update --lock`; in a folder without one it says so, and suggests -d', async () => {
    const withJson = path.join(root, 'json-only');
    await mkdir(withJson, { recursive: true });
    await writeFile(path.join(withJson, 'composer.json'), '{}');
    const a = await cli([], { cwd: withJson, env });
    assert.equal(a.exitCode, 2);
    assert.match(a.stderr, /No composer\.lock in .*json-only\n/);
    assert.match(a.stderr, /composer update --lock/);
    const empty = path.join(root, 'empty');
    await mkdir(empty, { recursive: true });
    const b = await cli([], { cwd: empty, env });
    assert.equal(b.exitCode, 2);
    assert.match(b.stderr, /No composer\.lock in .*empty, and no composer\.json either: this is not a Composer project/);
    assert.match(b.stderr, /composer-prefetch -d path\/to\/project/);
    assert.doesNotMatch(b.stderr, /composer update/, 'Composer cannot update without a composer.json');
  });

  it('a folder given as the lock suggests -d', async () => {
    const r = await cli(['project'], { cwd: root, env });
    assert.equal(r.exitCode, 2);
    assert.match(r.stderr, /project is a directory/);
    assert.match(r.stderr, /use -d: composer-prefetch -d project \(or pass project\/composer\.lock\)/);
  });

  it('--verify composer.lock points at the verify command', async () => {
    const r = await cli(['--verify', 'composer.lock'], { cwd: project, env });
    assert.equal(r.exitCode, 2);
    assert.match(r.stderr, /Allowed choices are deep, structure/);
    assert.match(r.stderr, /use the verify command: composer-prefetch verify composer\.lock/);
    const level = await cli(['--verify', 'fast'], { cwd: project, env });
    assert.doesNotMatch(level.stderr, /verify command/, 'a wrong level is only a wrong level');
  });

  it('--mirror with a space is named whole, not by its first word', async () => {
    const r = await cli(['--dry-run', '--mirror', 'not a url'], { cwd: project, env });
    assert.equal(r.exitCode, 2);
    assert.match(r.stderr, /--mirror "not a url" is not a URL/);
    // The variable still lists several templates, separated by whitespace.
    const parse = (argv: string[], vars: Record<string, string>) => {
      const program = buildProgram(vars, '0.0.0').exitOverride();
      declareEnvironment(program);
      program.parse(argv, { from: 'user' });
      applyEnvironment(program, vars);
      return toCliOptions(program, vars, '/project').prefetch.mirrors;
    };
    assert.deepEqual(parse([], { COMPOSER_PREFETCH_MIRROR: ' https://a.example/%package%.zip\n https://b.example/%package%.zip ' }), [
      'https://a.example/%package%.zip',
      'https://b.example/%package%.zip',
    ]);
    assert.deepEqual(parse(['--mirror', 'not a url', '--mirror', 'https://c.example/%package%'], {}), ['not a url', 'https://c.example/%package%']);
  });

  it('a relative path that does not exist says where it looked', async () => {
    const r = await cli(['apps/shop/composer.lock'], { cwd: project, env });
    assert.equal(r.exitCode, 2);
    assert.match(
      r.stderr,
      new RegExp(`apps/shop/composer\\.lock does not exist \\(looked for ${path.join(project, 'apps/shop/composer.lock').replace(/[.]/g, '\\.')}\\)`),
    );
  });

  it('--aria2c without --backend aria2 is an error (exit 2) that says how to use it', async () => {
    const r = await cli(['--aria2c', '/usr/bin/aria2c'], { cwd: project, env });
    assert.equal(r.exitCode, 2);
    assert.match(r.stderr, /--aria2c is only used with --backend aria2; this run's backend is native/);
    assert.match(r.stderr, /Add --backend aria2/);
    const fromEnv = await cli(['--dry-run'], { cwd: project, env: { ...env, COMPOSER_PREFETCH_ARIA2C: '/usr/bin/aria2c' } });
    assert.equal(fromEnv.exitCode, 2);
  });

  it('error messages start their sentences upper-case', async () => {
    for (const argv of [['--json=xx'], ['--verify', 'composer.lock'], ['--verify', 'x'], ['-j', 'lots'], ['--progress', 'loud']]) {
      const r = await cli(argv, { cwd: project, env });
      assert.equal(r.exitCode, 2, argv.join(' '));
      assertSentencesCapitalised(r.stderr);
    }
    assert.match((await cli(['--json=xx'], { cwd: project, env })).stderr, /is invalid\. Use --json/);
    // A message that stops the run starts upper-case (or with a path or a flag).
    const nul = await cli(['--dry-run'], { cwd: project, env: { ...env, COMPOSER_CACHE_DIR: '/dev/null' } });
    assert.equal(nul.exitCode, 2);
    assert.match(nul.stderr, /^composer-prefetch: The cache directory \/dev\/null\/files is a null device/m);
  });

  it('COMPOSER_CACHE_DIR=./x is shown without its ./', async () => {
    const r = await cli(['--dry-run'], { cwd: project, env: { ...env, COMPOSER_CACHE_DIR: './x' } });
    assert.equal(r.exitCode, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^Cache: ${path.join(project, 'x', 'files').replace(/[.]/g, '\\.')}$`, 'm'));
    assert.doesNotMatch(r.stdout, /\/\.\//);
  });

  it('"Prefetching N archives into X" only once X is known to take files', async () => {
    const file = path.join(root, 'not-a-dir');
    await writeFile(file, 'x');
    const bad = await cli(['--progress=plain', '--cache-dir', file], { cwd: project, env });
    assert.equal(bad.exitCode, 2, bad.stderr);
    assert.match(bad.stderr, /is not usable/);
    assert.doesNotMatch(bad.stderr, /Prefetching/);
    // A usable one is announced before the downloads (the one here fails: nothing listens on port 9).
    const good = path.join(root, 'good-cache');
    await mkdir(good);
    const ok = await cli(['--progress=plain', '--retries=0', '--cache-dir', good], { cwd: project, env });
    assert.match(ok.stderr, new RegExp(`^Prefetching 1 archives into ${path.join(good, 'files')}$`, 'm'));
  });
});
