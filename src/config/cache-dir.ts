import { PrefetchError } from '../errors.js';
import { type Environment, envTruthy, getEnv, getUserDir, getUserDirectory, resolveComposerHomeWithSource, useXdg } from './composer-home.js';
import { phpToString } from '../php.js';

/**
 * Where Composer keeps dist archives (`Config::get('cache-files-dir')`), resolved the way Composer 2.x does:
 * `Factory::createConfig` seeds `home`/`cache-dir`/`data-dir` from `Factory::getHomeDir/getCacheDir/
 * getDataDir`, global config.json then project composer.json are merged over it (`Config::merge`),
 * and `Config::get` applies `COMPOSER_*` env overrides, `{$key}` placeholders, trailing-slash trim,
 * `Platform::expandPath` and `Config::realpath`. Pure: every fact comes from `Environment`.
 */

/** The `config` object of a composer.json or config.json, as parsed. */
export type ComposerConfigSection = Readonly<Record<string, unknown>>;

export interface CacheDirs {
  readonly cacheDir: string;
  readonly cacheFilesDir: string;
  /** `cache-vcs-dir`: where `GitDownloader::doDownload` keeps its `git clone --mirror` copies. */
  readonly cacheVcsDir: string;
  /** Human-readable: which rule decided `cacheFilesDir` (and `cache-dir` when that mattered). */
  readonly source: string;
}

type Origin = 'default' | 'global' | 'project';

const ORIGIN_TEXT: Record<Exclude<Origin, 'default'>, string> = {
  global: 'global config.json',
  project: 'project composer.json',
};

/** `Config::get` keys that read `COMPOSER_<KEY>` first and go through the path pipeline. */
const ENV_PATH_KEYS = new Set([
  'vendor-dir',
  'bin-dir',
  'process-timeout',
  'data-dir',
  'cache-dir',
  'cache-files-dir',
  'cache-repo-dir',
  'cache-vcs-dir',
  'cafile',
  'capath',
]);

function rtrimSlashes(value: string): string {
  return value.replace(/[/\\]+$/, '');
}

/** Windows drive, UNC, absolute unix path or scheme URL: left alone by `Config::realpath`. */
const ABSOLUTE_RE = /^(?:\/|[a-z]:|[a-z0-9.]+:\/\/|\\\\)/i;

interface RawValue {
  readonly value: unknown;
  readonly origin: Origin;
  /** For defaults: which `Factory` rule produced it. */
  readonly rule?: string;
}

/** A minimal model of `Composer\Config` for the directory keys. */
class DirConfig {
  private readonly raw = new Map<string, RawValue | (() => RawValue)>();
  private depth = 0;
  private readonly e: Environment;
  private readonly envOverrides: ReadonlyMap<string, string>;

  constructor(e: Environment, envOverrides: ReadonlyMap<string, string>) {
    this.e = e;
    this.envOverrides = envOverrides;
  }

  set(key: string, value: RawValue | (() => RawValue)): void {
    this.raw.set(key, value);
  }

  rawValue(key: string): RawValue | undefined {
    const entry = this.raw.get(key);
    if (typeof entry === 'function') {
      const computed = entry();
      this.raw.set(key, computed);
      return computed;
    }
    return entry;
  }

  env(name: string): string | undefined {
    return this.envOverrides.get(name) ?? getEnv(this.e, name);
  }

  /** `Config::get` for the keys that matter here. */
  get(key: string): string | undefined {
    if (++this.depth > 32) throw new PrefetchError('E_CACHE', `The config placeholder {$${key}} refers to itself`);
    try {
      if (ENV_PATH_KEYS.has(key)) {
        const envName = `COMPOSER_${key.toUpperCase().replace(/-/g, '_')}`;
        const fromEnv = this.env(envName);
        const value = rtrimSlashes(phpToString(this.process(fromEnv !== undefined ? fromEnv : this.rawValue(key)?.value)));
        const expanded = this.expandPath(value);
        if (!key.endsWith('-dir')) return expanded;
        return this.realpath(expanded);
      }
      if (key === 'home') {
        return rtrimSlashes(phpToString(this.process(this.expandPath(phpToString(this.rawValue('home')?.value)))));
      }
      const raw = this.rawValue(key);
      if (raw === undefined || raw.value === null || raw.value === undefined) return undefined;
      return phpToString(this.process(raw.value));
    } finally {
      this.depth--;
    }
  }

  /** `Config::process`: `{$key}` placeholders (greedy, as the PHP pattern is). */
  private process(value: unknown): unknown {
    if (typeof value !== 'string') return value;
    return value.replace(/\{\$([^\n]+)\}/g, (_all, key: string) => this.get(key) ?? '');
  }

  /** `Platform::expandPath`: leading `~/`, then a leading `$VAR` or `%VAR%`. */
  expandPath(value: string): string {
    if (value.startsWith('~/')) return getUserDirectory(this.e) + value.slice(1);
    const match = /^(?:\$(\w+)|%(\w+)%)([^\n]*)/.exec(value);
    if (!match) return value;
    const name = match[1] ?? match[2] ?? '';
    let replacement: string | undefined;
    if (this.e.platform === 'win32' && name === 'HOME') {
      // legacy alias: HOME falls back to USERPROFILE on Windows
      const home = this.env('HOME');
      replacement = envTruthy(home) ? home : this.env('USERPROFILE');
    } else {
      replacement = this.env(name);
    }
    return (replacement ?? '') + (match[3] ?? '') + value.slice(match[0].length);
  }

  /** `Config::realpath`: relative paths are relative to the working directory (the project). */
  realpath(value: string): string {
    if (ABSOLUTE_RE.test(value)) return value;
    return this.e.cwd !== '' ? `${this.e.cwd}/${value}` : value;
  }
}

/** `Factory::getCacheDir($home)` (Composer 2.1+), with the rule that won. */
function platformCacheDir(e: Environment, home: string): { dir: string; rule: string } {
  const cacheEnv = getEnv(e, 'COMPOSER_CACHE_DIR');
  if (envTruthy(cacheEnv)) return { dir: cacheEnv, rule: 'env COMPOSER_CACHE_DIR' };
  const homeEnv = getEnv(e, 'COMPOSER_HOME');
  if (envTruthy(homeEnv)) return { dir: `${homeEnv}/cache`, rule: '$COMPOSER_HOME/cache' };

  if (e.platform === 'win32') {
    const localAppData = getEnv(e, 'LOCALAPPDATA');
    const dir = envTruthy(localAppData) ? `${localAppData}/Composer` : `${home}/cache`;
    return {
      dir: dir.replace(/\\/g, '/').replace(/\/+$/, ''),
      rule: envTruthy(localAppData) ? '%LOCALAPPDATA%/Composer (Windows)' : '<home>/cache (Windows, no LOCALAPPDATA)',
    };
  }

  const userDir = getUserDir(e);
  if (e.platform === 'darwin') {
    // Composer would also move an old <home>/cache here on its next run (commit 759897e7e)
    const moved = e.isDir(`${home}/cache`) && !e.isDir(`${userDir}/Library/Caches/composer`);
    // `Factory::getCacheDir` moves <home>/cache only while ~/Library/Caches/composer does not exist;
    // once this run creates it, Composer leaves the old folder where it is.
    return {
      dir: `${userDir}/Library/Caches/composer`,
      rule: `~/Library/Caches/composer (macOS)${moved ? `; the old cache at ${home}/cache stays where it is (Composer moves it only while this folder does not exist)` : ''}`,
    };
  }
  if (home === `${userDir}/.composer` && e.isDir(`${home}/cache`)) {
    return { dir: `${home}/cache`, rule: '~/.composer/cache (exists)' };
  }
  if (useXdg(e)) {
    const xdgCache = getEnv(e, 'XDG_CACHE_HOME');
    return envTruthy(xdgCache)
      ? { dir: `${xdgCache}/composer`, rule: '$XDG_CACHE_HOME/composer' }
      : { dir: `${userDir}/.cache/composer`, rule: '~/.cache/composer (XDG)' };
  }
  return { dir: `${home}/cache`, rule: '<home>/cache' };
}

/** `Factory::getDataDir($home)`, only needed for a `{$data-dir}` placeholder. */
function platformDataDir(e: Environment, home: string): string {
  const homeEnv = getEnv(e, 'COMPOSER_HOME');
  if (envTruthy(homeEnv)) return homeEnv;
  if (e.platform === 'win32') return home.replace(/\\/g, '/');
  const userDir = getUserDir(e);
  if (home !== `${userDir}/.composer` && useXdg(e)) {
    const xdgData = getEnv(e, 'XDG_DATA_HOME');
    return `${envTruthy(xdgData) ? xdgData : `${userDir}/.local/share`}/composer`;
  }
  return home;
}

const DIR_DEFAULTS: Readonly<Record<string, string>> = {
  'vendor-dir': 'vendor',
  'bin-dir': '{$vendor-dir}/bin',
  'cache-files-dir': '{$cache-dir}/files',
  'cache-repo-dir': '{$cache-dir}/repo',
  'cache-vcs-dir': '{$cache-dir}/vcs',
};

/**
 * Composer 2.x's `cache-dir` and `cache-files-dir` (`Config::get`: env, then project, then global config, then the defaults).
 * `override.cacheDir` (`--cache-dir`) stands in for env `COMPOSER_CACHE_DIR`, so an explicit
 * `COMPOSER_CACHE_FILES_DIR` or `cache-files-dir` config still wins for the archives.
 */
export function resolveCacheDirs(
  e: Environment,
  config: { readonly project?: ComposerConfigSection | undefined; readonly global?: ComposerConfigSection | undefined },
  override: { readonly cacheDir?: string | undefined } = {},
): CacheDirs {
  const overrides = new Map<string, string>();
  if (override.cacheDir !== undefined) overrides.set('COMPOSER_CACHE_DIR', override.cacheDir);
  const cfg = new DirConfig(e, overrides);

  // Factory::createConfig seeds these (SOURCE_DEFAULT); computed lazily so a HOME-less
  // environment only fails when a rule actually needs the home directory.
  let homeResolved: { home: string; source: string } | undefined;
  const home = (): { home: string; source: string } => (homeResolved ??= resolveComposerHomeWithSource(e));
  for (const [key, value] of Object.entries(DIR_DEFAULTS)) cfg.set(key, { value, origin: 'default' });
  cfg.set('home', () => ({ value: home().home, origin: 'default', rule: home().source }));
  cfg.set('cache-dir', () => {
    const { dir, rule } = platformCacheDir(e, home().home);
    return { value: dir, origin: 'default', rule };
  });
  cfg.set('data-dir', () => ({ value: platformDataDir(e, home().home), origin: 'default' }));

  // Config::merge: global config.json first, then the project's composer.json (Factory::createComposer)
  for (const origin of ['global', 'project'] as const) {
    const section = config[origin];
    if (section === undefined) continue;
    for (const [key, value] of Object.entries(section)) cfg.set(key, { value, origin });
  }

  const describe = (key: 'cache-dir' | 'cache-files-dir'): string => {
    const envName = key === 'cache-dir' ? 'COMPOSER_CACHE_DIR' : 'COMPOSER_CACHE_FILES_DIR';
    if (key === 'cache-dir' && override.cacheDir !== undefined) return '--cache-dir';
    const fromEnv = getEnv(e, envName);
    if (fromEnv === '') return `env ${envName} (set but empty: Composer reads it as the working directory)`;
    if (fromEnv !== undefined) return `env ${envName}`;
    const raw = cfg.rawValue(key);
    if (raw === undefined || raw.origin === 'default') return raw?.rule !== undefined ? `default: ${raw.rule}` : 'default';
    return `${ORIGIN_TEXT[raw.origin]} config.${key}`;
  };

  const cacheFilesDir = cfg.get('cache-files-dir') ?? '';
  const cacheDir = cfg.get('cache-dir') ?? '';
  const cacheVcsDir = cfg.get('cache-vcs-dir') ?? '';
  const filesFromDefault = getEnv(e, 'COMPOSER_CACHE_FILES_DIR') === undefined && cfg.rawValue('cache-files-dir')?.origin === 'default';
  const source = filesFromDefault ? `{$cache-dir}/files, cache-dir from ${describe('cache-dir')}` : describe('cache-files-dir');
  return { cacheDir, cacheFilesDir, cacheVcsDir, source };
}

/**
 * `dir` without its `.` segments (`/project/./x/files` → `/project/x/files`), for every message and
 * report: `Config::realpath` joins a relative `COMPOSER_CACHE_DIR=./x` to the working directory as
 * written. The same directory on disk; `..` segments stay, since through a symlink they would not be.
 */
export function withoutDotSegments(dir: string): string {
  const tidy = dir.replace(/\/\.(?=\/|$)/g, '');
  return tidy === '' && dir.startsWith('/') ? '/' : tidy;
}

/** `Cache::isUsable`: a `/dev/null`, `nul`, `NUL` or `$null` path segment disables the cache. */
const UNUSABLE_RE = /(?:^|[\\/])(?:\$null|nul|NUL|\/dev\/null)(?:[\\/]|$|(?=\n$))/;

/**
 * Why Composer would not use a files cache at all (`Cache::isUsable`, `cache-files-ttl` 0), or `undefined`.
 * Prefetching is pointless then.
 */
export function cacheDisabledReason(cacheFilesDir: string, config: { readonly cacheFilesTtl: number }): string | undefined {
  if (UNUSABLE_RE.test(cacheFilesDir)) {
    return `The cache directory ${cacheFilesDir} is a null device (set by --no-cache or COMPOSER_CACHE_DIR=/dev/null): Composer does not use its cache`;
  }
  if (config.cacheFilesTtl <= 0) {
    return "Composer's cache-files-ttl (or cache-ttl) is 0: Composer creates no files cache, so prefetched archives would never be read";
  }
  return undefined;
}
