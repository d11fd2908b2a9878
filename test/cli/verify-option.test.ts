import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { applyEnvironment, declareEnvironment, normaliseArgv } from '../../src/cli/env-options.js';
import { buildProgram, toCliOptions } from '../../src/cli/program.js';

function parse(argv: string[], env: Record<string, string> = {}) {
  // The environment is given, not read from process.env, as `run` gets it from its io.
  const program = buildProgram(env, '0.0.0')
    .exitOverride()
    .configureOutput({ writeErr: () => undefined });
  declareEnvironment(program);
  program.parse(normaliseArgv(argv), { from: 'user' });
  applyEnvironment(program, env);
  return toCliOptions(program, env, '/project').prefetch;
}

describe('--verify <level> and COMPOSER_PREFETCH_VERIFY', () => {
  it('defaults to deep for downloads, structure for archives already cached', () => {
    const o = parse([]);
    assert.equal(o.verifyLevel, 'deep');
    assert.equal(o.cachedVerifyLevel, 'structure');
  });

  it('given explicitly, by flag or variable, also applies to archives already cached', () => {
    assert.deepEqual([parse(['--verify', 'deep']).verifyLevel, parse(['--verify', 'deep']).cachedVerifyLevel], ['deep', 'deep']);
    assert.deepEqual([parse(['--verify=structure']).verifyLevel, parse(['--verify=structure']).cachedVerifyLevel], ['structure', 'structure']);
    const env = parse([], { COMPOSER_PREFETCH_VERIFY: 'deep' });
    assert.deepEqual([env.verifyLevel, env.cachedVerifyLevel], ['deep', 'deep']);
    // The flag wins over the variable.
    assert.equal(parse(['--verify', 'structure'], { COMPOSER_PREFETCH_VERIFY: 'deep' }).verifyLevel, 'structure');
  });

  it('refuses another level', () => {
    assert.throws(() => parse(['--verify', 'full']), { code: 'commander.invalidArgument' });
  });
});
