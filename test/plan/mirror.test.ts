import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { LockedPackage } from '../../src/lockfile/types.js';
import { urlsToTry } from '../../src/backends/fetch-loop.js';
import { mirrorEligible, mirrorFields, parseMirrorEnv, validateMirrorTemplate } from '../../src/plan/mirror-urls.js';
import { planDownloads } from '../../src/plan/plan-downloads.js';
import { checkPackageIdentity } from '../../src/verify/package-identity.js';
import { composerPackageTarGz, composerPackageZip, makeTarGz, makeZip } from '../helpers/archives.js';
import { tempDir } from '../helpers/run.js';

const pkg = (over: Partial<LockedPackage> = {}): LockedPackage => ({
  name: 'Acme/Lib',
  version: 'v1.2.0',
  versionNormalized: undefined,
  type: 'library',
  dist: { type: 'zip', url: 'https://api.github.com/repos/acme/lib/zipball/abc123', reference: 'abc123', shasum: undefined, mirrors: [] },
  hasSource: true,
  dev: false,
  origin: 'composer.lock',
  modifiesDownloads: false,
  notificationUrl: 'https://packagist.org/downloads/',
  ...over,
});
const T = 'https://mirror.example/dists/%package%/%reference%.%type%';

describe('--mirror planning', () => {
  it("mirror URLs come first; the cache key stays the lock URL's", () => {
    const input = { origin: 'composer.lock', kind: 'composer.lock' as const, packages: [pkg()], problems: [] };
    const base = planDownloads([input], { cacheFilesDir: '/c', noDev: false, githubDomains: ['github.com'], gitlabDomains: ['gitlab.com'] });
    const mirrored = planDownloads([input], {
      cacheFilesDir: '/c',
      noDev: false,
      githubDomains: ['github.com'],
      gitlabDomains: ['gitlab.com'],
      mirrors: { templates: [T], includePrivate: false },
    });
    const [a, b] = [base.tasks[0]!, mirrored.tasks[0]!];
    assert.equal(b.cacheKey, a.cacheKey);
    assert.deepEqual(b.urls, a.urls);
    assert.deepEqual(urlsToTry(b), ['https://mirror.example/dists/acme/lib/abc123.zip', ...a.urls]);
    assert.deepEqual(b.mirrorUrls, ['https://mirror.example/dists/acme/lib/abc123.zip']);
    assert.equal(a.downloadUrls, undefined);
  });
  it('only packagist.org packages go to mirrors unless private ones are allowed', () => {
    assert.equal(mirrorEligible(pkg(), { templates: [T], includePrivate: false }), true);
    assert.equal(mirrorEligible(pkg({ notificationUrl: 'https://repo.packagist.com/acme/downloads/' }), { templates: [T], includePrivate: false }), false);
    assert.equal(mirrorEligible(pkg({ notificationUrl: undefined }), { templates: [T], includePrivate: false }), false);
    assert.equal(mirrorEligible(pkg({ notificationUrl: undefined }), { templates: [T], includePrivate: true }), true);
    assert.deepEqual(mirrorFields(pkg({ notificationUrl: undefined }), ['u'], { templates: [T], includePrivate: false }), {});
  });
  it('env values split on whitespace; templates are validated', () => {
    assert.deepEqual(parseMirrorEnv(` ${T}\n https://b.example/%package%.zip `), [T, 'https://b.example/%package%.zip']);
    assert.throws(() => validateMirrorTemplate('mirror.example/x'), /not a URL/);
    assert.throws(() => validateMirrorTemplate('https://mirror.example/static.zip'), /no %placeholder%/);
    assert.equal(validateMirrorTemplate(T), T);
  });
});

describe('package identity of a mirror archive', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  before(async () => ({ dir, cleanup } = await tempDir('cp-ident-')));
  after(async () => cleanup());
  const check = async (name: string, bytes: Buffer, pkgName = 'acme/lib') => {
    const file = path.join(dir, name);
    await writeFile(file, bytes);
    return checkPackageIdentity(file, pkgName);
  };
  it('zip and tar.gz with the right root composer.json pass (case-insensitive)', async () => {
    assert.deepEqual(await check('a.zip', composerPackageZip('acme/lib', '1.0.0'), 'ACME/Lib'), { ok: true, name: 'acme/lib' });
    assert.equal((await check('a.tgz', composerPackageTarGz('acme/lib', '1.0.0'))).ok, true);
  });
  it('another package is rejected, zip and tar', async () => {
    assert.equal((await check('b.zip', composerPackageZip('evil/x', '1.0.0'))).ok, false);
    const tar = await check('b.tgz', composerPackageTarGz('evil/x', '1.0.0'));
    assert.equal(tar.ok, false);
    assert.match((tar as { reason: string }).reason, /evil\/x/);
  });
  it('no root composer.json passes; a nested one is not the root; broken JSON fails', async () => {
    assert.equal((await check('c.zip', makeZip([{ name: 'README', content: 'x' }]))).ok, true);
    assert.equal(
      (
        await check(
          'd.zip',
          makeZip([
            { name: 'a/b/composer.json', content: '{"name":"evil/x"}' },
            { name: 'a/README', content: '' },
          ]),
        )
      ).ok,
      true,
    );
    assert.equal((await check('e.zip', makeZip([{ name: 'composer.json', content: '{nope' }]))).ok, false);
    assert.equal((await check('f.tgz', makeTarGz([{ name: 'top/' }, { name: 'top/composer.json', content: '{"name":"acme/lib"}' }]))).ok, true);
  });
});
