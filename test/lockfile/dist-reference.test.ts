/**
 * Issue 28 item 10: `dist.reference` reaches planning as `ArrayLoader::configureObject` hands it
 * to `Package::setDistReference`: `(string)` when set, so `""` stays `""` and a number becomes its
 * decimal string. Tested from the lock's JSON through planning (processDistUrl alone missed it).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { parseInput } from '../../src/lockfile/parse-input.js';
import { planDownloads } from '../../src/plan/plan-downloads.js';

const sha1 = (s: string): string => createHash('sha1').update(s).digest('hex');
const lock = (reference: unknown) => ({
  'content-hash': 'x',
  packages: [{ name: 'acme/lib', version: '1.0.0', dist: { type: 'zip', url: 'https://api.github.com/repos/acme/lib/zipball/v1.0.0', reference } }],
  'packages-dev': [],
});
const plan = (reference: unknown) =>
  planDownloads([parseInput(lock(reference), 'composer.lock')], {
    cacheFilesDir: '/c',
    noDev: false,
    githubDomains: ['github.com'],
    gitlabDomains: ['gitlab.com'],
  });

describe('dist.reference as Composer loads it', () => {
  it('"" stays "": the GitHub URL is pinned to it (…/zipball/), and so is the cache key (Composer ≥ 2.7.3)', () => {
    assert.equal(parseInput(lock(''), 'x').packages[0]!.dist!.reference, '');
    const p = plan('');
    assert.deepEqual(p.invalid, []);
    assert.equal(p.tasks[0]!.urls[0], 'https://api.github.com/repos/acme/lib/zipball/');
    assert.equal(p.tasks[0]!.cacheKey, `acme/lib/${sha1('https://api.github.com/repos/acme/lib/zipball/')}.zip`);
  });

  it('a number is cast to its string (0 → "0", 12345 → "12345"), not refused', () => {
    assert.equal(parseInput(lock(0), 'x').packages[0]!.dist!.reference, '0');
    for (const [raw, text] of [
      [12345, '12345'],
      [0, '0'],
      [1.5, '1.5'],
    ] as const) {
      const p = plan(raw);
      assert.deepEqual(p.invalid, [], String(raw));
      assert.equal(p.tasks[0]!.urls[0], `https://api.github.com/repos/acme/lib/zipball/${text}`);
    }
    assert.equal(parseInput(lock(true), 'x').packages[0]!.dist!.reference, '1');
  });

  it('null or no reference leaves the URL as written; an array or object is still an invalid entry', () => {
    assert.equal(plan(null).tasks[0]!.urls[0], 'https://api.github.com/repos/acme/lib/zipball/v1.0.0');
    assert.equal(plan(undefined).tasks[0]!.urls[0], 'https://api.github.com/repos/acme/lib/zipball/v1.0.0');
    assert.match(parseInput(lock(['a']), 'x').problems[0]!.message, /dist\.reference/);
    assert.match(parseInput(lock({}), 'x').problems[0]!.message, /dist\.reference/);
  });
});
