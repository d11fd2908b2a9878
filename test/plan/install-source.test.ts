import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { LockedPackage } from '../../src/lockfile/types.js';
import { installsFromSource } from '../../src/plan/install-source.js';
import { planDownloads } from '../../src/plan/plan-downloads.js';

const pkg = (name: string, version: string, hasSource = true) => ({ name, version, versionNormalized: undefined, hasSource });

describe('installsFromSource (DownloadManager::getAvailableSources)', () => {
  const table: [string, Parameters<typeof installsFromSource>[1], ReturnType<typeof pkg>, boolean][] = [
    ['default dist', 'dist', pkg('a/b', 'dev-main'), false],
    ['source clones everything', 'source', pkg('a/b', 'v1.0.0'), true],
    ['no source: always dist', 'source', pkg('a/b', 'v1.0.0', false), false],
    ['auto: stable from dist', 'auto', pkg('a/b', 'v1.0.0'), false],
    ['auto: dev-* from source', 'auto', pkg('a/b', 'dev-main'), true],
    ['auto: x-dev from source', 'auto', pkg('a/b', '2.x-dev'), true],
    ['pattern source, name case-insensitive', { 'Acme/*': 'source', '*': 'dist' }, pkg('acme/lib', 'v1.0.0'), true],
    ['pattern falls through to *', { 'acme/*': 'source', '*': 'dist' }, pkg('other/lib', 'v1.0.0'), false],
    ['pattern auto on stable', { 'acme/*': 'auto' }, pkg('acme/lib', '1.2.3'), false],
    ['pattern auto on dev', { 'acme/*': 'auto' }, pkg('acme/lib', 'dev-feature'), true],
    ['no pattern matches: dev from source', { 'acme/*': 'dist' }, pkg('other/lib', 'dev-main'), true],
    ['regex characters in a pattern are literal', { 'a.c/*': 'source', '*': 'dist' }, pkg('abc/x', '1.0.0'), false],
  ];
  for (const [what, preferred, p, expected] of table) {
    it(what, () => assert.equal(installsFromSource(p, preferred), expected));
  }

  it('planning names the packages whose archives composer install would not use', () => {
    const packages: LockedPackage[] = ['dev-main', '1.0.0'].map((version, i) => ({
      name: `acme/p${i}`,
      version,
      versionNormalized: undefined,
      type: 'library',
      dist: { type: 'zip', url: `https://example.com/p${i}.zip`, reference: 'abc', shasum: undefined, mirrors: [] },
      hasSource: true,
      dev: false,
      origin: 'composer.lock',
      modifiesDownloads: false,
    }));
    const base = { cacheFilesDir: '/c', noDev: false, githubDomains: ['github.com'], gitlabDomains: ['gitlab.com'] };
    const plan = planDownloads([{ origin: 'composer.lock', kind: 'composer.lock', packages, problems: [] }], { ...base, preferredInstall: 'auto' });
    assert.equal(plan.tasks.length, 2, 'still prefetched: `composer install --prefer-dist` uses them');
    assert.equal(plan.warnings.length, 1);
    assert.match(plan.warnings[0]!, /^1 package will be cloned from source .*acme\/p0\. Run `composer install --prefer-dist`/);
    assert.deepEqual(
      planDownloads([{ origin: 'composer.lock', kind: 'composer.lock', packages, problems: [] }], { ...base, preferredInstall: 'dist' }).warnings,
      [],
    );
  });
});
