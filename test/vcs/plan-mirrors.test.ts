import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { parseInput } from '../../src/lockfile/parse-input.js';
import type { ParsedInput } from '../../src/lockfile/types.js';
import { branchOrTagListed, checkedBranch, isLocalPath, mirrorDirName, planMirrors, sourceUrls, vcsCacheUsable } from '../../src/vcs/plan-mirrors.js';
import { LOCKS_DIR } from '../helpers/lock-fixtures.js';

const load = (file: string): ParsedInput => parseInput(JSON.parse(readFileSync(path.join(LOCKS_DIR, file), 'utf8')), file);
const VCS = '/c/vcs';
const plan = (file: string, preferredInstall: Parameters<typeof planMirrors>[1]['preferredInstall'] = 'dist', noDev = false) =>
  planMirrors([load(file)], { cacheVcsDir: VCS, noDev, preferredInstall });

describe('planMirrors on real locks (packages without dist)', () => {
  // The folders are the ones `GitDownloader::doDownload` names; test/e2e/vcs-mirrors proves the rule with real Composer.
  const cases: [string, [string, string, string][]][] = [
    [
      'mautic.composer.lock',
      [
        ['friendsofsymfony/oauth-server-bundle', 'dc8ff343363cf794d30eb1a123610d186a43f162', 'https---github.com-mautic-FOSOAuthServerBundle.git'],
        ['lightsaml/sp-bundle', '083bf6d62cb03443372068e0ea1b1c3183eed05a', 'https---github.com-mautic-SpBundle.git'],
        ['lightsaml/symfony-bridge', '26f58d33a52b357dea90f6361d29d7321987be77', 'https---github.com-mautic-SymfonyBridgeBundle.git'],
      ],
    ],
    [
      'crmeb-aliyun-mirror.composer.lock',
      [
        ['fastknife/ajcaptcha', '9e8eb95c444d2ff4d78d1d1d4d5cb1d29c084609', 'https---gitee.com-fastknife-aj-captcha.git'],
        ['xin/container', '97bb67f87dd851545938a1f2fe0ffbd379e3ff81', 'https---gitee.com-liuxiaojinla-php-container'],
        ['xin/helper', '02a58132dae2aea2d1c0b8e66f55125969224747', 'https---gitee.com-liuxiaojinla-php-helper'],
      ],
    ],
    ['nextcloud-3rdparty.composer.lock', [['icewind/smb', '97063a63b44edc6554966f6121679506b8d85103', 'https---codeberg.org-icewind-SMB']]],
  ];
  for (const [file, expected] of cases) {
    it(`${file}: exactly the source-only packages, in Composer's folders`, () => {
      const p = plan(file);
      assert.deepEqual(
        p.tasks.map((t) => [t.refs[0]!.packageName, t.refs[0]!.reference, t.dir]),
        expected.map(([name, ref, dir]) => [name, ref, `${VCS}/${dir}`]),
      );
      assert.deepEqual(p.skipped, []);
    });
  }

  it('preferred-install source: every git package of the lock is mirrored', () => {
    const input = load('nextcloud-3rdparty.composer.lock');
    const p = planMirrors([input], { cacheVcsDir: VCS, noDev: false, preferredInstall: 'source' });
    assert.equal(
      p.tasks.reduce((n, t) => n + t.refs.length, 0),
      input.packages.filter((x) => x.source?.type === 'git').length,
    );
  });

  it('preferred-install auto: dev versions only', () => {
    const p = plan('mautic.composer.lock', 'auto');
    assert.ok(p.tasks.length > 3);
    for (const t of p.tasks) for (const r of t.refs) assert.match(r.version, /^dev-|-dev$/);
  });

  it('--no-dev leaves out packages-dev', () => {
    const input: ParsedInput = { ...load('nextcloud-3rdparty.composer.lock') };
    const devOnly = { ...input, packages: input.packages.map((p) => ({ ...p, dev: true })) };
    assert.equal(planMirrors([devOnly], { cacheVcsDir: VCS, noDev: true, preferredInstall: 'dist' }).tasks.length, 0);
    assert.equal(planMirrors([devOnly], { cacheVcsDir: VCS, noDev: false, preferredInstall: 'dist' }).tasks.length, 1);
  });
});

describe('planMirrors edge cases', () => {
  const lock = (packages: unknown[]): ParsedInput => parseInput({ 'content-hash': 'x', packages, 'packages-dev': [] }, 'composer.lock');
  const src = (type: string, url: string, reference = 'a'.repeat(40), mirrors?: unknown[]) => ({ type, url, reference, ...(mirrors ? { mirrors } : {}) });

  it('hg/svn are skipped and named; local paths and reference-less sources too', () => {
    const p = planMirrors(
      [
        lock([
          { name: 'a/hg', version: '1.0.0', source: src('hg', 'https://hg.example/a') },
          { name: 'a/svn', version: '1.0.0', source: src('svn', 'https://svn.example/a', '123') },
          { name: 'a/local', version: 'dev-main', source: src('git', '/srv/git/a.git') },
          { name: 'a/noref', version: 'dev-main', source: src('git', 'https://git.example/a.git', '') },
          { name: 'a/meta', version: '1.0.0', type: 'metapackage', source: src('git', 'https://git.example/m.git') },
        ]),
      ],
      { cacheVcsDir: VCS, noDev: false, preferredInstall: 'dist' },
    );
    assert.deepEqual(p.tasks, []);
    assert.deepEqual(
      p.skipped.map((s) => [s.packageName, s.reason]),
      [
        ['a/hg', 'not-git'],
        ['a/svn', 'not-git'],
        ['a/local', 'local-path'],
        ['a/noref', 'no-reference'],
      ],
    );
  });

  it('a hostile URL never reaches git and never names a folder outside the mirrors', () => {
    const p = planMirrors(
      [
        lock([
          { name: 'x/dots', version: 'dev-main', source: src('git', '..') },
          { name: 'x/dot', version: 'dev-main', source: src('git', '.') },
          { name: 'x/opt', version: 'dev-main', source: src('git', '--upload-pack=touch /tmp/pwned') },
          { name: 'x/ext', version: 'dev-main', source: src('git', 'ext::sh -c touch% /tmp/pwned') },
        ]),
      ],
      { cacheVcsDir: VCS, noDev: false, preferredInstall: 'dist' },
    );
    assert.deepEqual(p.tasks, []);
    assert.deepEqual(
      p.skipped.map((s) => s.reason),
      ['unsafe-url', 'unsafe-url', 'unsafe-url', 'unsafe-url'],
    );
  });

  it('two packages from one repository share one mirror, each reference checked', () => {
    const p = planMirrors(
      [
        lock([
          { name: 'Acme/One', version: 'dev-main', source: src('git', 'https://git.example/mono.git', 'a'.repeat(40)) },
          { name: 'acme/two', version: 'dev-next', source: src('git', 'https://git.example/mono.git', 'b'.repeat(40)) },
        ]),
      ],
      { cacheVcsDir: `${VCS}/`, noDev: false, preferredInstall: 'dist' },
    );
    assert.equal(p.tasks.length, 1);
    assert.equal(p.tasks[0]!.dir, `${VCS}/https---git.example-mono.git`);
    assert.deepEqual(
      p.tasks[0]!.refs.map((r) => r.packageName),
      ['acme/one', 'acme/two'],
    );
  });

  it('a preferred source mirror decides the folder (Package::getSourceUrls)', () => {
    const source = src('git', 'https://github.com/acme/lib.git', 'a'.repeat(40), [
      { url: 'https://m1.example/%package%.git', preferred: false },
      { url: 'https://m2.example/%normalizedUrl%/%type%', preferred: true },
    ]);
    assert.deepEqual(sourceUrls('acme/lib', { ...source, mirrors: source.mirrors! as { url: string; preferred: boolean }[] }), [
      'https://m2.example/gh-acme/lib/git',
      'https://github.com/acme/lib.git',
      'https://m1.example/acme/lib.git',
    ]);
  });

  it('mirrorDirName keeps case and dots, replaces everything else', () => {
    assert.equal(mirrorDirName('git@github.com:Acme/Lib_x.git'), 'git-github.com-Acme-Lib-x.git');
    assert.equal(mirrorDirName('ssh://git@host:2222/a/b'), 'ssh---git-host-2222-a-b');
    assert.equal(mirrorDirName('https://h.example/ä'), 'https---h.example---');
  });

  it('mirrorDirName masks credentials as Url::sanitize (Composer ≥ 2.10.2) does: no secret in a folder name', () => {
    assert.equal(mirrorDirName('https://u:p@h.example/ä'), 'https---u-----h.example---');
    assert.equal(mirrorDirName('https://deploy:TopSecret123@h.example/acme/private.git'), 'https---deploy-----h.example-acme-private.git');
    assert.equal(mirrorDirName('https://ghp_abcdefghij0123@github.com/a/b.git'), 'https---ghp----github.com-a-b.git');
    assert.equal(mirrorDirName('https://x-token-auth:tok@bitbucket.org/a/b.git'), 'https---x-token-auth-----bitbucket.org-a-b.git');
    assert.equal(mirrorDirName('https://h.example/a.git?access_token=abc'), 'https---h.example-a.git-access-token----');
    for (const url of [
      'https://deploy:TopSecret123@h.example/x.git',
      'https://a-long-token-user-name@h.example/x.git',
      'https://gitlab-ci-token:glcbt-64_secret@h.example/x.git',
    ]) {
      assert.doesNotMatch(mirrorDirName(url), /TopSecret|long-token|glcbt|secret/, url);
    }
  });

  it('vcsCacheUsable (Cache::isUsable)', () => {
    for (const bad of ['/dev/null/vcs', '/dev/null', 'C:\\x\\nul\\vcs', '$null/vcs']) assert.equal(vcsCacheUsable(bad), false, bad);
    for (const ok of ['/home/u/.cache/composer/vcs', '/tmp/null/vcs', '/srv/nullish']) assert.equal(vcsCacheUsable(ok), true, ok);
  });

  it('isLocalPath (Filesystem::isLocalPath)', () => {
    for (const local of ['/srv/a.git', 'file:///srv/a', '../a', 'C:\\repo', 'repos/a']) assert.equal(isLocalPath(local), true, local);
    for (const remote of ['https://h/a.git', 'git@h:a.git', 'ssh://h/a', 'file:////share/a']) assert.equal(isLocalPath(remote), false, remote);
  });
});

describe('the branch/tag check of Git::fetchRefOrSyncMirror', () => {
  const hex = 'c'.repeat(40);
  it('derives the name from the pretty version', () => {
    assert.equal(checkedBranch({ reference: hex, version: 'dev-main' }), 'main');
    assert.equal(checkedBranch({ reference: hex, version: '2.x-dev' }), '2');
    assert.equal(checkedBranch({ reference: hex, version: '2.1-dev' }), '2.1');
    assert.equal(checkedBranch({ reference: hex, version: 'v1.2.3' }), 'v1.2.3');
    assert.equal(checkedBranch({ reference: 'main', version: 'dev-main' }), undefined);
  });
  it('matches `git branch` (optional v) and `git tag` output', () => {
    assert.equal(branchOrTagListed('main', '  feature\n* main\n', ''), true);
    assert.equal(branchOrTagListed('2', '  v2\n', ''), true);
    assert.equal(branchOrTagListed('1.2.3', '  main\n', 'v1.2.3\n'), false);
    assert.equal(branchOrTagListed('v1.2.3', '  main\n', 'v1.2.3\n'), true);
    assert.equal(branchOrTagListed('upgrade-2', '  upgrade-20\n', ''), false);
    assert.equal(branchOrTagListed('a.b', '  axb\n', ''), false);
  });
});
