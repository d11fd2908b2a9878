import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import type { LockedDist, LockedPackage } from '../../src/lockfile/types.js';
import { expandMirrorUrl, getDistUrls, processDistUrl, updateDistReference } from '../../src/plan/dist-urls.js';
import { phpUrlHost } from '../../src/php.js';

const DOMAINS = { githubDomains: ['github.com', 'ghe.example.com'], gitlabDomains: ['gitlab.com', 'git.example.org'] };
const A40 = 'a'.repeat(40);

function pkg(overrides: Omit<Partial<LockedPackage>, 'dist'> & { dist?: Partial<LockedDist> }): LockedPackage {
  const { dist, ...rest } = overrides;
  return {
    name: 'acme/pkg',
    version: '1.0.0',
    versionNormalized: undefined,
    type: 'library',
    hasSource: true,
    dev: false,
    origin: 'composer.lock',
    modifiesDownloads: false,
    ...rest,
    dist: { type: 'zip', url: 'https://example.com/a.zip', reference: undefined, shasum: undefined, mirrors: [], ...dist },
  };
}

describe('expandMirrorUrl (ComposerMirror::processUrl)', () => {
  it('expands every placeholder', () => {
    const p = pkg({ name: 'Acme/Pkg', version: 'v2.0.0', dist: { type: 'tar', reference: A40 } });
    assert.equal(expandMirrorUrl('%package%|%version%|%reference%|%type%|%prettyVersion%', p), `acme/pkg|2.0.0.0|${A40}|tar|v2.0.0`);
  });
  it('md5s a non-hex reference and a version containing "/"; null reference is empty', () => {
    const p = pkg({ version: 'dev-feature/x', dist: { reference: 'feature/x' } });
    assert.equal(expandMirrorUrl('%reference%', p), '0cdd7fc771196f70861ba85532b36085');
    assert.equal(expandMirrorUrl('%version%', p), createHash('md5').update('dev-feature/x').digest('hex'));
    assert.equal(expandMirrorUrl('x%reference%y', pkg({ dist: { reference: undefined } })), 'xy');
    assert.equal(expandMirrorUrl('%reference%', pkg({ dist: { reference: 'ABC' } })), '902fbdd2b1df0c4f70b4a5d23525e932');
  });
  it('uses version_normalized when the input carries it, except the legacy 9999999-dev', () => {
    assert.equal(expandMirrorUrl('%version%', pkg({ version: 'v1.0', versionNormalized: '1.0.0.0' })), '1.0.0.0');
    assert.equal(expandMirrorUrl('%version%', pkg({ version: 'dev-master', versionNormalized: '9999999-dev' })), 'dev-master');
  });
});

describe('getDistUrls (Package::getUrls, Composer ≥ 2.1)', () => {
  it('puts preferred mirrors first (last preferred wins), pushes others, skips duplicates', () => {
    const p = pkg({
      dist: {
        url: 'https://repo/a.zip',
        reference: A40,
        mirrors: [
          { url: 'https://m1/%package%.zip', preferred: true },
          { url: 'https://m2/%package%.zip', preferred: true },
          { url: 'https://m3/%package%.zip', preferred: false },
          { url: 'https://m1/%package%.zip', preferred: false },
        ],
      },
    });
    assert.deepEqual(getDistUrls(p), ['https://m2/acme/pkg.zip', 'https://m1/acme/pkg.zip', 'https://repo/a.zip', 'https://m3/acme/pkg.zip']);
  });
  it('expands placeholders in dist.url only when it contains "%"', () => {
    assert.deepEqual(getDistUrls(pkg({ dist: { url: 'https://r/%package%/%type%' } })), ['https://r/acme/pkg/zip']);
    assert.deepEqual(getDistUrls(pkg({ dist: { url: 'https://gitlab.com/api/v4/projects/acme%2Fgl/x' } })), ['https://gitlab.com/api/v4/projects/acme%2Fgl/x']);
  });
  it('is empty without a dist url', () => {
    assert.deepEqual(getDistUrls({ ...pkg({}), dist: undefined }), []);
    assert.deepEqual(getDistUrls(pkg({ dist: { url: '' } })), []);
  });
});

describe('updateDistReference (Url::updateDistReference)', () => {
  const ref = 'f'.repeat(40);
  const cases: [string, string][] = [
    ['https://github.com/o/r/zipball/v1', `https://api.github.com/repos/o/r/zipball/${ref}`],
    ['http://www.github.com/o/r/tarball/v1', `https://api.github.com/repos/o/r/tarball/${ref}`],
    ['https://github.com/o/r/archive/v1.0.0.zip', `https://api.github.com/repos/o/r/zipball/${ref}`],
    ['https://github.com/o/r/archive/refs/tags/v1.tar.gz', `https://api.github.com/repos/o/r/tarball/${ref}`],
    ['https://api.github.com/repos/o/r/zipball', `https://api.github.com/repos/o/r/zipball/${ref}`],
    ['https://api.github.com/repos/o/r/zipball/abc', `https://api.github.com/repos/o/r/zipball/${ref}`],
    ['https://api.github.com/repos/o/r/releases', 'https://api.github.com/repos/o/r/releases'],
    ['https://bitbucket.org/o/r/get/v1.tar.bz2', `https://bitbucket.org/o/r/get/${ref}.tar.bz2`],
    [
      'https://gitlab.com/api/v3/projects/o%2Fr/repository/archive.tar.gz?sha=v1',
      `https://gitlab.com/api/v4/projects/o%2Fr/repository/archive.tar.gz?sha=${ref}`,
    ],
    ['https://ghe.example.com/api/v3/repos/o/r/zipball/v1', `https://ghe.example.com/api/v3/repos/o/r/zipball/${ref}`],
    ['https://git.example.org/api/v4/projects/7/repository/archive.zip?sha=v1', `https://git.example.org/api/v4/projects/7/repository/archive.zip?sha=${ref}`],
    ['https://other.example.com/o/r/zipball/v1', 'https://other.example.com/o/r/zipball/v1'],
    // PHP compares hosts case-sensitively and the regexes want the host right after "//"
    ['https://GitHub.com/o/r/zipball/v1', 'https://GitHub.com/o/r/zipball/v1'],
    ['https://u:p@github.com/o/r/zipball/v1', 'https://u:p@github.com/o/r/zipball/v1'],
  ];
  for (const [url, expected] of cases) {
    it(url, () => assert.equal(updateDistReference(url, ref, DOMAINS), expected));
  }
  it('leaves github-domains hosts alone when not configured', () => {
    const url = 'https://ghe.example.com/api/v3/repos/o/r/zipball/v1';
    assert.equal(updateDistReference(url, ref, { githubDomains: ['github.com'], gitlabDomains: ['gitlab.com'] }), url);
  });
  it('processDistUrl rewrites with any non-null reference, "" and "0" included (Composer ≥ 2.7.3)', () => {
    const url = 'https://github.com/o/r/zipball/v1';
    assert.equal(processDistUrl(url, pkg({ dist: { reference: undefined } }), DOMAINS), url);
    assert.equal(processDistUrl(url, pkg({ dist: { reference: 'abc' } }), DOMAINS), 'https://api.github.com/repos/o/r/zipball/abc');
    // Golden values of the newest Composer (2.5.5, truthy test, would keep `url` for both).
    assert.equal(processDistUrl(url, pkg({ dist: { reference: '0' } }), DOMAINS), 'https://api.github.com/repos/o/r/zipball/0');
    assert.equal(processDistUrl(url, pkg({ dist: { reference: '' } }), DOMAINS), 'https://api.github.com/repos/o/r/zipball/');
    const gitlab = 'https://gitlab.com/api/v4/projects/1/repository/archive.zip?sha=v1';
    assert.equal(processDistUrl(gitlab, pkg({ dist: { reference: '0' } }), DOMAINS), 'https://gitlab.com/api/v4/projects/1/repository/archive.zip?sha=0');
    const bitbucket = 'https://bitbucket.org/o/r/get/v1.zip';
    assert.equal(processDistUrl(bitbucket, pkg({ dist: { reference: '' } }), DOMAINS), 'https://bitbucket.org/o/r/get/.zip');
    // Other hosts never change.
    assert.equal(processDistUrl('https://repo.example.com/p.zip', pkg({ dist: { reference: '' } }), DOMAINS), 'https://repo.example.com/p.zip');
  });
});

describe('phpUrlHost (parse_url host)', () => {
  it('keeps case, drops userinfo and port', () => {
    assert.equal(phpUrlHost('https://GitHub.com/x'), 'GitHub.com');
    assert.equal(phpUrlHost('https://u:p@host.example:8080/x'), 'host.example');
    assert.equal(phpUrlHost('https://host?x=1'), 'host');
    assert.equal(phpUrlHost('https://[::1]:80/x'), '[::1]');
    assert.equal(phpUrlHost('packages/local'), undefined);
    assert.equal(phpUrlHost('https://host:abc/x'), undefined);
  });
});
