import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cacheDisabledReason, resolveCacheDirs, type ComposerConfigSection } from '../../src/config/cache-dir.js';
import { type Environment, resolveComposerHome } from '../../src/config/composer-home.js';

function envOf(vars: Record<string, string>, dirs: readonly string[] = ['/etc/xdg'], platform: NodeJS.Platform = 'linux'): Environment {
  return { env: vars, platform, homedir: '/home/pw', cwd: '/proj', isDir: (p) => dirs.includes(p) };
}

interface Row {
  readonly name: string;
  readonly e: Environment;
  readonly project?: ComposerConfigSection;
  readonly global?: ComposerConfigSection;
  readonly override?: string;
  readonly files: string;
  readonly source: RegExp;
}

const H = { HOME: '/home/u' };
const ROWS: readonly Row[] = [
  { name: 'linux default with /etc/xdg', e: envOf(H), files: '/home/u/.cache/composer/files', source: /~\/\.cache\/composer \(XDG\)/ },
  { name: 'no XDG at all', e: envOf(H, []), files: '/home/u/.composer/cache/files', source: /<home>\/cache/ },
  {
    name: 'legacy ~/.composer/cache',
    e: envOf(H, ['/etc/xdg', '/home/u/.composer', '/home/u/.composer/cache']),
    files: '/home/u/.composer/cache/files',
    source: /~\/\.composer\/cache/,
  },
  { name: 'XDG_CACHE_HOME', e: envOf({ ...H, XDG_CACHE_HOME: '/xc' }, []), files: '/xc/composer/files', source: /XDG_CACHE_HOME/ },
  { name: 'COMPOSER_HOME', e: envOf({ ...H, COMPOSER_HOME: '/ch' }), files: '/ch/cache/files', source: /COMPOSER_HOME/ },
  { name: 'COMPOSER_CACHE_DIR', e: envOf({ ...H, COMPOSER_HOME: '/ch', COMPOSER_CACHE_DIR: '/cc' }), files: '/cc/files', source: /env COMPOSER_CACHE_DIR/ },
  { name: 'COMPOSER_CACHE_DIR=""', e: envOf({ ...H, COMPOSER_CACHE_DIR: '' }), files: '/proj//files', source: /set but empty/ },
  {
    name: 'COMPOSER_CACHE_FILES_DIR',
    e: envOf({ ...H, COMPOSER_CACHE_DIR: '/cc', COMPOSER_CACHE_FILES_DIR: '/cfd' }),
    project: { 'cache-files-dir': '/x' },
    files: '/cfd',
    source: /env COMPOSER_CACHE_FILES_DIR/,
  },
  {
    name: 'project cache-files-dir',
    e: envOf(H),
    project: { 'cache-files-dir': 'arch' },
    global: { 'cache-files-dir': '/g' },
    files: '/proj/arch',
    source: /project composer\.json config\.cache-files-dir/,
  },
  { name: 'global cache-files-dir', e: envOf(H), global: { 'cache-files-dir': '/g/' }, files: '/g', source: /global config\.json/ },
  {
    name: 'project cache-dir beats global',
    e: envOf(H),
    project: { 'cache-dir': 'rel' },
    global: { 'cache-dir': '/g' },
    files: '/proj/rel/files',
    source: /project composer\.json config\.cache-dir/,
  },
  {
    name: 'env beats project cache-dir',
    e: envOf({ ...H, COMPOSER_CACHE_DIR: '/cc' }),
    project: { 'cache-dir': 'rel' },
    files: '/cc/files',
    source: /env COMPOSER_CACHE_DIR/,
  },
  { name: '~/ expands from HOME', e: envOf(H), project: { 'cache-dir': '~/t' }, files: '/home/u/t/files', source: /project/ },
  { name: '$VAR and %VAR%', e: envOf({ ...H, X: '/x' }), project: { 'cache-dir': '$X/a', 'cache-files-dir': '%X%/b' }, files: '/x/b', source: /project/ },
  { name: 'unset $VAR expands to nothing', e: envOf(H), project: { 'cache-dir': '$NOPE/a' }, files: '/a/files', source: /project/ },
  { name: '{$home} placeholder', e: envOf({ ...H, COMPOSER_HOME: '/ch' }), project: { 'cache-files-dir': '{$home}/f' }, files: '/ch/f', source: /project/ },
  {
    name: '--cache-dir acts like COMPOSER_CACHE_DIR',
    e: envOf({ ...H, COMPOSER_CACHE_DIR: '/cc' }),
    project: { 'cache-dir': '/p' },
    override: 'mine',
    files: '/proj/mine/files',
    source: /--cache-dir/,
  },
  {
    name: '--cache-dir loses to configured cache-files-dir',
    e: envOf(H),
    project: { 'cache-files-dir': '/pf' },
    override: '/mine',
    files: '/pf',
    source: /project/,
  },
  { name: 'macOS', e: envOf(H, [], 'darwin'), files: '/home/u/Library/Caches/composer/files', source: /macOS/ },
  {
    name: 'Windows LOCALAPPDATA',
    e: { ...envOf({ APPDATA: 'C:\\Users\\u\\AppData\\Roaming', LOCALAPPDATA: 'C:\\Users\\u\\AppData\\Local' }, [], 'win32'), cwd: 'C:/proj' },
    files: 'C:/Users/u/AppData/Local/Composer/files',
    source: /LOCALAPPDATA/,
  },
  {
    name: 'Windows without LOCALAPPDATA',
    e: { ...envOf({ APPDATA: 'C:\\Users\\u\\AppData\\Roaming' }, [], 'win32'), cwd: 'C:/proj' },
    files: 'C:/Users/u/AppData/Roaming/Composer/cache/files',
    source: /Windows/,
  },
];

describe('resolveCacheDirs precedence (§1.1)', () => {
  for (const row of ROWS) {
    it(row.name, () => {
      const config: { project?: ComposerConfigSection; global?: ComposerConfigSection } = {};
      if (row.project) config.project = row.project;
      if (row.global) config.global = row.global;
      const result = resolveCacheDirs(row.e, config, row.override === undefined ? {} : { cacheDir: row.override });
      assert.equal(result.cacheFilesDir, row.files);
      assert.match(result.source, row.source);
    });
  }

  it('without HOME or COMPOSER_HOME, fails with a hint unless the answer does not need them', () => {
    assert.throws(() => resolveCacheDirs(envOf({}), {}), { code: 'E_CACHE' });
    assert.equal(resolveCacheDirs(envOf({}), {}, { cacheDir: '/x' }).cacheFilesDir, '/x/files');
  });
});

describe('resolveComposerHome (Factory::getHomeDir)', () => {
  it('follows the 2.x order', () => {
    assert.equal(resolveComposerHome(envOf({ ...H, COMPOSER_HOME: '/ch' })), '/ch');
    assert.equal(resolveComposerHome(envOf(H)), '/home/u/.config/composer');
    assert.equal(resolveComposerHome(envOf(H, ['/etc/xdg', '/home/u/.composer'])), '/home/u/.composer');
    assert.equal(resolveComposerHome(envOf(H, [])), '/home/u/.composer');
    assert.equal(resolveComposerHome(envOf({ ...H, XDG_CONFIG_HOME: '/xdg' }, [])), '/xdg/composer');
    assert.equal(resolveComposerHome(envOf({ APPDATA: 'C:\\A\\' }, [], 'win32')), 'C:/A/Composer');
    assert.equal(resolveComposerHome(envOf({ HOME: '/home/u//' }, [])), '/home/u/.composer');
  });
  it('on Windows without APPDATA or COMPOSER_HOME, refuses as Composer does instead of guessing', () => {
    assert.throws(
      () => resolveComposerHome(envOf({ USERPROFILE: 'C:\\Users\\u' }, [], 'win32')),
      /The APPDATA or COMPOSER_HOME environment variable must be set for Composer to run correctly/,
    );
    assert.equal(resolveComposerHome(envOf({ COMPOSER_HOME: 'C:\\ch' }, [], 'win32')), 'C:\\ch');
  });
});

describe('cacheDisabledReason (Cache::isUsable, cache-files-ttl)', () => {
  it('flags null devices and a zero ttl', () => {
    for (const dir of ['/dev/null/files', 'C:/x/nul/files', 'NUL', '$null/files', 'C:\\NUL\\files']) {
      assert.match(cacheDisabledReason(dir, { cacheFilesTtl: 100 }) ?? '', /null device/, dir);
    }
    assert.match(cacheDisabledReason('/c/files', { cacheFilesTtl: 0 }) ?? '', /cache-files-ttl/);
    assert.equal(cacheDisabledReason('/c/files', { cacheFilesTtl: 100 }), undefined);
    assert.equal(cacheDisabledReason('/home/nullable/Nul/files', { cacheFilesTtl: 100 }), undefined);
  });
});
