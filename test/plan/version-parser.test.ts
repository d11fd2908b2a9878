import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { normalizeBranch, normalizeVersion, tryNormalizeVersion } from '../../src/plan/version-parser.js';
import { phpTrim } from '../../src/php.js';
import { VERSION_CASES } from '../helpers/version-cases.js';

describe('normalizeVersion (VersionParser::normalize)', () => {
  for (const [input, expected] of VERSION_CASES) {
    it(`${JSON.stringify(input)} → ${expected === undefined ? 'throws in PHP' : expected}`, () => {
      assert.equal(tryNormalizeVersion(input), expected);
      // the documented fallback: the trimmed input
      assert.equal(normalizeVersion(input), expected ?? phpTrim(input));
    });
  }

  it('covers the examples of composer-cache.md §3.2', () => {
    assert.equal(normalizeVersion('v1.0.0'), '1.0.0.0');
    assert.equal(normalizeVersion('2.x-dev'), '2.9999999.9999999.9999999-dev');
    assert.equal(normalizeVersion('1.0.0-p1'), '1.0.0.0-patch1');
    assert.equal(normalizeVersion('dev-main'), 'dev-main');
  });

  it('normalizeBranch maps numeric branches and prefixes the rest', () => {
    assert.equal(normalizeBranch('1.x'), '1.9999999.9999999.9999999-dev');
    assert.equal(normalizeBranch('v1.2'), '1.2.9999999.9999999-dev');
    assert.equal(normalizeBranch('feature'), 'dev-feature');
  });
});
