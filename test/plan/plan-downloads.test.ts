import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import type { LockedPackage, ParsedInput } from '../../src/lockfile/types.js';
import {
  DEFAULT_GITHUB_DOMAINS,
  DEFAULT_GITLAB_DOMAINS,
  defaultDistDomains,
  mergePlans,
  planDownloads,
  type PlanOptions,
} from '../../src/plan/plan-downloads.js';
import { resolveCacheDirs } from '../../src/config/cache-dir.js';
import { FIXTURE_FILES, HANDMADE_LOCK, loadFixture, toLockedPackage } from '../helpers/lock-fixtures.js';

const CACHE = '/home/u/.cache/composer/files';
const OPTIONS: PlanOptions = {
  cacheFilesDir: CACHE,
  noDev: false,
  githubDomains: ['github.com', 'ghe.example.com'],
  gitlabDomains: ['gitlab.com', 'git.example.org'],
};

function input(packages: readonly LockedPackage[], origin = 'composer.lock'): ParsedInput {
  return { origin, kind: 'composer.lock', packages, problems: [] };
}

function lockPkg(raw: Record<string, unknown>, dev = false, origin = 'composer.lock'): LockedPackage {
  return toLockedPackage({ type: 'library', ...raw }, dev, origin);
}

function keyOf(raw: Record<string, unknown>, options: PlanOptions = OPTIONS): string {
  const plan = planDownloads([input([lockPkg(raw)])], options);
  assert.deepEqual(plan.invalid, []);
  const task = plan.tasks[0];
  assert.ok(task, 'one task');
  assert.equal(task.cachePath, `${options.cacheFilesDir}/${task.cacheKey}`);
  return task.cacheKey;
}

const a40 = (c: string): string => c.repeat(40);

describe('composer-cache.md §9 worked examples', () => {
  it('A. Packagist/GitHub', () => {
    assert.equal(
      keyOf({
        name: 'monolog/monolog',
        version: '3.3.1',
        dist: {
          type: 'zip',
          url: 'https://api.github.com/repos/Seldaek/monolog/zipball/1cb1cde8e8dd0f70cc0fe51354a59acad9302084',
          reference: '1cb1cde8e8dd0f70cc0fe51354a59acad9302084',
          shasum: '',
        },
      }),
      'monolog/monolog/1ea03bfb7b8a89de2fcecb0cc0b1204ac14411e0.zip',
    );
  });
  it('B. URL reference ≠ dist.reference, mixed-case name', () => {
    assert.equal(
      keyOf({
        name: 'Acme/Mixed-Case',
        version: '1.0.0',
        dist: { type: 'zip', url: `https://api.github.com/repos/acme/mixed/zipball/${a40('a')}`, reference: a40('b') },
      }),
      'acme/mixed-case/4b8109f0baf0e99d2c84284170a48e30d95bb18c.zip',
    );
  });
  it('C. legacy GitHub web archive', () => {
    assert.equal(
      keyOf({ name: 'acme/legacy', version: '1.0.0', dist: { type: 'zip', url: 'https://github.com/acme/legacy/archive/v1.0.0.zip', reference: a40('c') } }),
      'acme/legacy/7a157aff86136d471834e1687716d06d9a89269a.zip',
    );
  });
  it('D. GitLab', () => {
    assert.equal(
      keyOf({
        name: 'acme/gl',
        version: '2.1.0',
        dist: { type: 'zip', url: 'https://gitlab.com/api/v4/projects/acme%2Fgl/repository/archive.zip?sha=v2.1.0', reference: a40('d') },
      }),
      'acme/gl/b11e76e0b81e7f05e8088262f9f13ea3d33913e5.zip',
    );
  });
  it('E. Bitbucket', () => {
    assert.equal(
      keyOf({ name: 'acme/bb', version: '1.2.0', dist: { type: 'zip', url: 'https://bitbucket.org/acme/bb/get/v1.2.0.zip', reference: 'eeeeeeeeeeee' } }),
      'acme/bb/882e48d22701f9961e5f36b9c95b7a125da08c19.zip',
    );
  });
  it('F. GitHub Enterprise host in github-domains (and not without it)', () => {
    const raw = {
      name: 'acme/ghe',
      version: '1.0.0',
      dist: { type: 'zip', url: 'https://ghe.example.com/api/v3/repos/acme/ghe/zipball/v1.0.0', reference: a40('f') },
    };
    assert.equal(keyOf(raw), 'acme/ghe/c023bb6516f41fc6587a7e336c790980b0aa77fb.zip');
    assert.notEqual(keyOf(raw, { ...OPTIONS, ...defaultDistDomains() }), 'acme/ghe/c023bb6516f41fc6587a7e336c790980b0aa77fb.zip');
  });
  it('G. mirrors and a tar type: the preferred mirror decides the key', () => {
    const plan = planDownloads(
      [
        input([
          lockPkg({
            name: 'acme/private',
            version: 'v2.0.0',
            dist: {
              type: 'tar',
              url: 'https://repo.example.com/dists/acme/private/v2.0.0.tar.gz',
              reference: '1234567890123456789012345678901234567890',
              shasum: '',
              mirrors: [
                { url: 'https://mirror-a.example.com/%package%/%version%/r%reference%.%type%', preferred: false },
                { url: 'https://mirror-b.example.com/dists/%package%/%prettyVersion%/%reference%.%type%', preferred: true },
              ],
            },
          }),
        ]),
      ],
      OPTIONS,
    );
    const task = plan.tasks[0];
    assert.ok(task);
    assert.equal(task.cacheKey, 'acme/private/d90528ee3a2cc7f14614fd796c1a732d260976a8.tar');
    assert.deepEqual(task.urls, [
      'https://mirror-b.example.com/dists/acme/private/v2.0.0/1234567890123456789012345678901234567890.tar',
      'https://repo.example.com/dists/acme/private/v2.0.0.tar.gz',
      'https://mirror-a.example.com/acme/private/2.0.0.0/r1234567890123456789012345678901234567890.tar',
    ]);
  });
  it('H. placeholder dist URL with a non-hex reference', () => {
    const plan = planDownloads(
      [
        input([
          lockPkg({
            name: 'acme/dev',
            version: 'dev-main',
            dist: { type: 'zip', url: 'https://repo.example.com/%package%/%version%/%reference%.%type%', reference: 'feature/x' },
          }),
        ]),
      ],
      OPTIONS,
    );
    assert.deepEqual(plan.tasks[0]?.urls, ['https://repo.example.com/acme/dev/dev-main/0cdd7fc771196f70861ba85532b36085.zip']);
    assert.equal(plan.tasks[0]?.cacheKey, 'acme/dev/39efcd6699dfca8ee245b716b2109ca8fd1fea91.zip');
  });
  it('I. full path with default Linux settings', () => {
    const dirs = resolveCacheDirs({ env: { HOME: '/home/u' }, platform: 'linux', homedir: '/home/u', cwd: '/proj', isDir: (p) => p === '/etc/xdg' }, {});
    const plan = planDownloads(
      [
        input([
          lockPkg({
            name: 'monolog/monolog',
            version: '3.3.1',
            dist: {
              type: 'zip',
              url: 'https://api.github.com/repos/Seldaek/monolog/zipball/1cb1cde8e8dd0f70cc0fe51354a59acad9302084',
              reference: '1cb1cde8e8dd0f70cc0fe51354a59acad9302084',
            },
          }),
        ]),
      ],
      { ...OPTIONS, cacheFilesDir: dirs.cacheFilesDir },
    );
    assert.equal(plan.tasks[0]?.cachePath, '/home/u/.cache/composer/files/monolog/monolog/1ea03bfb7b8a89de2fcecb0cc0b1204ac14411e0.zip');
  });
});

// tasks / skipped per fixture: README "with dist" minus path dists minus metapackages (which have a dist
// but are never downloaded); skipped = the rest of packages + packages-dev.
const EXPECTED: Record<(typeof FIXTURE_FILES)[number], { tasks: number; skipped: number }> = {
  'crmeb-aliyun-mirror.composer.lock': { tasks: 89, skipped: 3 },
  'installed-v1.json': { tasks: 88, skipped: 0 },
  'installed-v2.json': { tasks: 92, skipped: 1 },
  'laravel-firefly-iii-composer1.composer.lock': { tasks: 160, skipped: 1 }, // roave/security-advisories metapackage
  'laravel-firefly-iii.composer.lock': { tasks: 184, skipped: 0 },
  'library-composer.composer.lock': { tasks: 36, skipped: 0 },
  'mautic.composer.lock': { tasks: 250, skipped: 6 }, // 3 no dist, 1 path, 2 metapackages
  'nextcloud-3rdparty.composer.lock': { tasks: 92, skipped: 1 },
  'symfony-demo.composer.lock': { tasks: 153, skipped: 0 },
  'tiny-composer-2012.composer.lock': { tasks: 5, skipped: 0 },
  'wordpress-bedrock.composer.lock': { tasks: 69, skipped: 1 }, // roots/wordpress metapackage
};

describe('planning every fixture lock', () => {
  for (const file of FIXTURE_FILES) {
    it(`${file}: ${EXPECTED[file].tasks} tasks, ${EXPECTED[file].skipped} skipped`, () => {
      const parsed = loadFixture(file);
      const plan = planDownloads([parsed], { ...OPTIONS, ...defaultDistDomains() });
      assert.equal(plan.tasks.length, EXPECTED[file].tasks);
      assert.equal(plan.skipped.length, EXPECTED[file].skipped);
      assert.deepEqual(plan.invalid, []);
      assert.deepEqual(plan.warnings, []);
      for (const task of plan.tasks) {
        assert.match(task.cacheKey, /^[a-z0-9_.-]+\/[a-z0-9_.-]+\/[0-9a-f]{40}\.zip$/);
        assert.ok(task.cachePath.startsWith(`${CACHE}/`));
        assert.deepEqual(task.origins, [file]);
      }
    });
  }

  it('mautic: the path dist is skipped as path-dist, metapackages as metapackage', () => {
    const plan = planDownloads([loadFixture('mautic.composer.lock')], { ...OPTIONS, ...defaultDistDomains() });
    const reasons = plan.skipped.map((s) => `${s.packageName}:${s.reason}`).sort();
    assert.deepEqual(reasons, [
      'friendsofsymfony/oauth-server-bundle:no-dist',
      'gaufrette/aws-s3-adapter:metapackage',
      'lightsaml/sp-bundle:no-dist',
      'lightsaml/symfony-bridge:no-dist',
      'mautic/core-lib:path-dist',
      'symfony/polyfill-php72:metapackage',
    ]);
  });

  it('crmeb: the preferred aliyun mirror is urls[0] and decides the key', () => {
    const plan = planDownloads([loadFixture('crmeb-aliyun-mirror.composer.lock')], { ...OPTIONS, ...defaultDistDomains() });
    for (const task of plan.tasks) {
      assert.match(task.urls[0], /^https:\/\/mirrors\.aliyun\.com\/composer\/dists\/[a-z0-9_.-]+\/[a-z0-9_.-]+\/[0-9a-f]{40}\.zip$/);
      assert.match(task.urls[1] ?? '', /^https:\/\/api\.github\.com\//);
      assert.equal(task.urls.length, 2);
    }
    const dot = plan.tasks.find((t) => t.packageName === 'adbario/php-dot-notation');
    assert.equal(dot?.urls[0], 'https://mirrors.aliyun.com/composer/dists/adbario/php-dot-notation/eee4fc81296531e6aafba4c2bbccfc5adab1676e.zip');
  });

  it('tiny-2012: github.com zipball URLs are rewritten to the API form before hashing', () => {
    const parsed = loadFixture('tiny-composer-2012.composer.lock');
    const plan = planDownloads([parsed], { ...OPTIONS, ...defaultDistDomains() });
    for (const pkg of parsed.packages) {
      assert.match(pkg.dist?.url ?? '', /^https:\/\/github\.com\//);
    }
    // Composer downloads the processed URL as well as hashing it (`addCopy($url['processed'], …)`)
    const first = plan.tasks[0];
    assert.ok(first);
    const pkg = parsed.packages.find((p) => p.name.toLowerCase() === first.packageName);
    assert.ok(pkg?.dist?.reference);
    const m = /^https:\/\/github\.com\/([^/]+)\/([^/]+)\/zipball\//.exec(pkg.dist.url);
    assert.ok(m);
    const processed = `https://api.github.com/repos/${m[1]}/${m[2]}/zipball/${pkg.dist.reference}`;
    assert.equal(first.urls[0], processed);
    assert.equal(first.cacheKey, `${first.packageName}/${createHash('sha1').update(processed).digest('hex')}.zip`);
  });

  it('--no-dev skips dev packages as dev-excluded', () => {
    const plan = planDownloads([loadFixture('symfony-demo.composer.lock')], { ...OPTIONS, noDev: true });
    assert.equal(plan.tasks.length, 99);
    assert.equal(plan.skipped.filter((s) => s.reason === 'dev-excluded').length, 54);
  });

  it('de-duplicates across inputs by cache path, merging origins and keeping non-dev', () => {
    const lock = loadFixture('nextcloud-3rdparty.composer.lock', 'composer.lock');
    const installed = loadFixture('installed-v2.json', 'vendor/composer/installed.json');
    const devCopy: ParsedInput = { ...lock, origin: 'other.lock', packages: lock.packages.map((p) => ({ ...p, dev: true, origin: 'other.lock' })) };
    const plan = planDownloads([devCopy, lock, installed], { ...OPTIONS, ...defaultDistDomains() });
    assert.equal(plan.tasks.length, 92);
    for (const task of plan.tasks) {
      assert.deepEqual(task.origins, ['other.lock', 'composer.lock', 'vendor/composer/installed.json']);
      assert.equal(task.dev, false);
    }
  });
});

describe('invalid entries and warnings', () => {
  const good = { name: 'acme/good', version: '1.0.0', dist: { type: 'zip', url: 'https://example.com/good.zip' } };
  it('a bad name or a dist without url/type is invalid; the others are still planned', () => {
    const plan = planDownloads(
      [
        input([
          lockPkg({ ...good, name: '../../etc/passwd' }),
          lockPkg({ ...good, name: 'acme/no-url', dist: { type: 'zip', url: '' } }),
          lockPkg({ ...good, name: 'acme/no-type', dist: { type: '', url: 'https://x/y.zip' } }),
          lockPkg({ ...good, name: 'acme/bad-version', version: 'not a version' }),
          lockPkg(good),
        ]),
      ],
      OPTIONS,
    );
    assert.deepEqual(
      plan.tasks.map((t) => t.packageName),
      ['acme/good'],
    );
    assert.deepEqual(
      plan.invalid.map((i) => i.packageName),
      ['../../etc/passwd', 'acme/no-url', 'acme/no-type', 'acme/bad-version'],
    );
  });
  it('a shasum that is not 40 lowercase hex digits is invalid with a clear message', () => {
    for (const shasum of ['8AE812BB54223EF859CD3DE37F1C6B1DB20E0E6F', 'abc', 'sha256:xyz']) {
      const plan = planDownloads([input([lockPkg({ ...good, dist: { ...good.dist, shasum } })])], OPTIONS);
      assert.equal(plan.tasks.length, 0);
      assert.match(plan.invalid[0]?.message ?? '', /40 lowercase hex/);
    }
    const ok = planDownloads([input([lockPkg({ ...good, dist: { ...good.dist, shasum: '8ae812bb54223ef859cd3de37f1c6b1db20e0e6f' } })])], OPTIONS);
    assert.equal(ok.tasks[0]?.expectedSha1, '8ae812bb54223ef859cd3de37f1c6b1db20e0e6f');
  });
  it('input problems are carried into plan.invalid', () => {
    const plan = planDownloads(
      [{ origin: 'x.lock', kind: 'composer.lock', packages: [], problems: [{ origin: 'x.lock', index: 3, packageName: undefined, message: 'no name' }] }],
      OPTIONS,
    );
    assert.deepEqual(plan.invalid, [{ packageName: undefined, origin: 'x.lock', message: 'no name' }]);
  });
  it('warns about plugin-modifies-downloads plugins (unless excluded by --no-dev)', () => {
    const parsed = loadFixture(HANDMADE_LOCK);
    const plan = planDownloads([parsed], OPTIONS);
    assert.equal(plan.warnings.length, 1);
    assert.match(plan.warnings[0] ?? '', /acme\/mods-downloads.*plugin-modifies-downloads/);
    assert.deepEqual(planDownloads([parsed], { ...OPTIONS, noDev: true }).warnings, []);
  });
  it('exports the default domains', () => {
    assert.deepEqual(DEFAULT_GITHUB_DOMAINS, ['github.com']);
    assert.deepEqual(DEFAULT_GITLAB_DOMAINS, ['gitlab.com']);
    assert.deepEqual(defaultDistDomains(), { githubDomains: ['github.com'], gitlabDomains: ['gitlab.com'] });
  });
});

describe('mergePlans (several projects)', () => {
  it('de-duplicates archives across projects and keeps every skip, invalid entry and warning', () => {
    const a = planDownloads([loadFixture('symfony-demo.composer.lock')], OPTIONS);
    const other = loadFixture('symfony-demo.composer.lock');
    const b = planDownloads(
      [{ ...other, origin: 'other/composer.lock', packages: other.packages.map((p) => ({ ...p, origin: 'other/composer.lock' })) }],
      OPTIONS,
    );
    const merged = mergePlans([a, b]);
    assert.equal(merged.tasks.length, a.tasks.length);
    assert.ok(merged.tasks.every((t) => t.origins.length === 2));
    assert.equal(merged.skipped.length, a.skipped.length + b.skipped.length);
    assert.equal(mergePlans([a]), a);
    const elsewhere = mergePlans([a, { ...b, cacheFilesDir: '/other/files' }]);
    assert.match(elsewhere.warnings.at(-1) ?? '', /different Composer caches/);
  });
});

describe('local dists (artifact repositories, file:// URLs)', () => {
  it('are skipped as local-file, never invalid: Composer reads them from disk', () => {
    const urls = ['artifacts/acme-art-1.0.0.zip', './artifacts/b.zip', '/srv/artifacts/c.zip', 'file:///srv/artifacts/d.zip', 'C:\\artifacts\\e.zip'];
    const plan = planDownloads(
      [input(urls.map((url, i) => lockPkg({ name: `acme/art${i}`, version: '1.0.0', dist: { type: 'zip', url, reference: null } })))],
      OPTIONS,
    );
    assert.deepEqual(plan.invalid, []);
    assert.deepEqual(plan.tasks, []);
    assert.deepEqual(
      plan.skipped.map((s) => `${s.packageName}:${s.reason}`),
      urls.map((_, i) => `acme/art${i}:local-file`),
    );
  });
  it('an http(s) URL is still planned, and a malformed one still invalid', () => {
    const plan = planDownloads(
      [
        input([
          lockPkg({ name: 'acme/web', version: '1.0.0', dist: { type: 'zip', url: 'https://repo.example.com/w.zip' } }),
          lockPkg({ name: 'acme/bad', version: '1.0.0', dist: { type: 'zip', url: 'https://exa mple.com/x.zip' } }),
        ]),
      ],
      OPTIONS,
    );
    assert.equal(plan.tasks.length, 1);
    assert.equal(plan.invalid.length, 1);
  });
});
