import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { applyEnvironment, declareEnvironment, envFlag, normaliseArgv } from '../../src/cli/env-options.js';
import { buildProgram, toCliOptions } from '../../src/cli/program.js';
import { chooseProgress } from '../../src/cli/reporters.js';

function parse(argv: string[], env: Record<string, string> = {}) {
  // The environment is given, not read from process.env, as `run` gets it from its io.
  const program = buildProgram(env, '0.0.0')
    .exitOverride()
    .configureOutput({ writeErr: () => undefined });
  declareEnvironment(program);
  program.parse(normaliseArgv(argv), { from: 'user' });
  applyEnvironment(program, env);
  return toCliOptions(program, env, '/project');
}

describe('command line and environment', () => {
  it('reads --json, --json=ndjson and --json ndjson without eating an input', () => {
    assert.equal(parse(['--json', 'a.lock']).jsonFormat, 'report');
    assert.deepEqual(parse(['--json', 'a.lock']).prefetch.inputs, ['a.lock']);
    assert.equal(parse(['--json=ndjson']).jsonFormat, 'ndjson');
    assert.equal(parse(['--json', 'ndjson', 'a.lock']).jsonFormat, 'ndjson');
    assert.equal(parse([]).jsonFormat, undefined);
  });

  it('treats a leading verify word as the verify command, and --check as its alias', () => {
    const v = parse(['verify', 'apps/*/composer.lock']);
    assert.equal(v.prefetch.verifyOnly, true);
    assert.deepEqual(v.prefetch.inputs, ['apps/*/composer.lock']);
    assert.equal(parse(['--check']).prefetch.verifyOnly, true);
    assert.equal(parse(['composer.lock']).prefetch.verifyOnly, false);
  });

  it('takes every option from COMPOSER_PREFETCH_* and lets flags win', () => {
    const env = {
      COMPOSER_PREFETCH_CONCURRENCY: '7',
      COMPOSER_PREFETCH_PROGRESS: 'plain',
      COMPOSER_PREFETCH_JSON: 'ndjson',
      COMPOSER_PREFETCH_QUIET: '1',
      COMPOSER_PREFETCH_CACHE_DIR: '/c',
    };
    const fromEnv = parse([], env);
    assert.equal(fromEnv.prefetch.download.concurrency, 7);
    assert.equal(fromEnv.progress, 'plain');
    assert.equal(fromEnv.jsonFormat, 'ndjson');
    assert.equal(fromEnv.quiet, true);
    assert.equal(fromEnv.prefetch.cacheDir, '/c');
    const flagsWin = parse(['-j', '3', '--progress=none', '--cache-dir', '/d'], env);
    assert.equal(flagsWin.prefetch.download.concurrency, 3);
    assert.equal(flagsWin.progress, 'none');
    assert.equal(flagsWin.prefetch.cacheDir, '/d');
    assert.equal(parse([], { COMPOSER_PREFETCH_QUIET: '0' }).quiet, false);
    assert.equal(parse([], { COMPOSER_PREFETCH_NO_DEV: 'true' }).prefetch.noDev, true);
  });

  it("takes Composer's habits: -v/-vv/-vvv/--verbose, --no-progress, --ansi/--no-ansi, -d/--working-dir, -n", () => {
    assert.deepEqual(
      [[], ['-v'], ['-vv'], ['-vvv'], ['--verbose', '-v']].map((argv) => parse(argv).verbosity),
      [0, 1, 2, 3, 2],
    );
    assert.equal(parse([], { COMPOSER_PREFETCH_VERBOSE: '1' }).verbosity, 1);
    assert.equal(parse(['--no-progress']).progress, 'none');
    assert.equal(parse([]).progress, undefined);
    assert.deepEqual([parse([]).ansi, parse(['--ansi']).ansi, parse(['--no-ansi']).ansi], [undefined, true, false]);
    assert.equal(parse(['-d', 'apps/shop']).prefetch.cwd, '/project/apps/shop');
    assert.equal(parse(['--working-dir=/elsewhere']).prefetch.cwd, '/elsewhere');
    assert.equal(parse([]).prefetch.cwd, '/project');
    assert.deepEqual(parse(['-n', '--no-interaction', 'a.lock']).prefetch.inputs, ['a.lock']);
  });

  it('rejects a bad value from the environment with the variable named', () => {
    assert.throws(() => parse([], { COMPOSER_PREFETCH_CONCURRENCY: 'lots' }), /COMPOSER_PREFETCH_CONCURRENCY=lots is not valid for --concurrency/);
  });

  it('takes only the documented words for a flag variable, and names the variable otherwise', () => {
    for (const v of ['1', 'TRUE', 'yes', 'On']) assert.equal(parse([], { COMPOSER_PREFETCH_NO_DEV: v }).prefetch.noDev, true, v);
    for (const v of ['', '0', 'False', 'no', 'OFF']) assert.equal(parse([], { COMPOSER_PREFETCH_NO_DEV: v }).prefetch.noDev, false, v);
    for (const v of ['maybe', 'flase', '2', 'y']) {
      assert.throws(
        () => parse([], { COMPOSER_PREFETCH_NO_DEV: v }),
        (error: { exitCode?: number; message?: string }) =>
          error.exitCode === 2 && new RegExp(`COMPOSER_PREFETCH_NO_DEV=${v} is not valid for --no-dev`).test(error.message ?? ''),
        v,
      );
    }
    assert.throws(() => parse([], { COMPOSER_PREFETCH_DRY_RUN: 'maybe' }), /COMPOSER_PREFETCH_DRY_RUN=maybe .*0, false, no or off/);
    // A flag on the command line wins, so its variable is not read at all.
    assert.equal(parse(['--quiet'], { COMPOSER_PREFETCH_QUIET: 'maybe' }).quiet, true);
  });

  it('envFlag reads CI-style booleans', () => {
    for (const v of ['1', 'true', 'yes', 'on']) assert.equal(envFlag(v), true);
    for (const v of [undefined, '', '0', 'false', 'no', 'off']) assert.equal(envFlag(v), false);
  });

  it('chooses a bar only on a terminal outside CI', () => {
    const base = { requested: undefined, quiet: false, dryRun: false, isTTY: true, env: {} };
    assert.equal(chooseProgress(base), 'bar');
    assert.equal(chooseProgress({ ...base, isTTY: false }), 'plain');
    assert.equal(chooseProgress({ ...base, env: { CI: 'true' } }), 'plain');
    assert.equal(chooseProgress({ ...base, quiet: true }), 'none');
    assert.equal(chooseProgress({ ...base, isTTY: false, requested: 'bar' }), 'bar');
    // JSON on the same terminal, or through a pipe that may print there: whole lines, no redraws.
    assert.equal(chooseProgress({ ...base, stdoutOnScreen: true }), 'plain');
    assert.equal(chooseProgress({ ...base, stdoutOnScreen: false }), 'bar');
    assert.equal(chooseProgress({ ...base, stdoutOnScreen: true, requested: 'bar' }), 'bar');
  });
});
