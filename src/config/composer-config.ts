import { readFile, stat } from 'node:fs/promises';
import { statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PrefetchError } from '../errors.js';
import { isRecord, parseSecretJson } from '../json.js';
import { DEFAULT_GITHUB_DOMAINS, DEFAULT_GITLAB_DOMAINS } from '../plan/plan-downloads.js';
import type { ComposerConfigSection } from './cache-dir.js';
import type { Environment } from './composer-home.js';
import type { PreferredInstall } from '../types.js';
import { phpBool, phpFloat, phpInt, phpTrim } from '../php.js';

export type { ComposerConfigSection } from './cache-dir.js';

/**
 * The Composer settings the prefetcher needs, read from the project composer.json and the global
 * `$COMPOSER_HOME/config.json`, merged the way `Factory::createComposer` does (global first, then
 * project over it).
 */
export interface ComposerConfig {
  /** Absolute path of the project composer.json that was read, when it exists. */
  readonly projectFile: string | undefined;
  /** Absolute path of the global config.json that was read, when it exists. */
  readonly globalFile: string | undefined;
  /** The raw `config` sections (for `resolveCacheDirs`). */
  readonly project: ComposerConfigSection | undefined;
  readonly global: ComposerConfigSection | undefined;
  /** `Config::get('cache-read-only')`: env `COMPOSER_CACHE_READ_ONLY` beats the config. */
  readonly cacheReadOnly: boolean;
  /** `Config::get('cache-files-ttl')` in seconds, falling back to `cache-ttl` (default 180 days). */
  readonly cacheFilesTtl: number;
  /** `Config::get('cache-files-maxsize')` in bytes (default 300 MiB). */
  readonly cacheFilesMaxsize: number;
  /** Where that value comes from: the project composer.json wins over the global config.json. */
  readonly cacheFilesMaxsizeScope: 'project' | 'global' | 'default';
  /** Defaults ∪ global ∪ project ∪ hosts with github-oauth in these sections (2.5+ `BaseIO::loadConfiguration`). */
  readonly githubDomains: readonly string[];
  /** Defaults ∪ global ∪ project ∪ hosts with gitlab-oauth / gitlab-token in these sections. */
  readonly gitlabDomains: readonly string[];
  readonly secureHttp: boolean;
  readonly preferredInstall: PreferredInstall;
  /** Values Composer could not use as written (e.g. an unparsable cache-files-maxsize). */
  readonly warnings: readonly string[];
}

export interface LoadComposerConfigOptions {
  readonly cwd: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** `Factory::getHomeDir()` (see `resolveComposerHome`). */
  readonly composerHome: string;
}

const CACHE_TTL_DEFAULT = 15552000; // Config::$defaultConfig['cache-ttl'], 180 days
const MAXSIZE_DEFAULT = 300 * 1024 * 1024; // '300MiB'

/** `Environment` for the real process. */
export function defaultEnvironment(): Environment {
  return {
    env: process.env,
    platform: process.platform,
    homedir: os.homedir(),
    cwd: process.cwd(),
    isDir(dir: string): boolean {
      try {
        return statSync(dir).isDirectory();
      } catch {
        return false;
      }
    },
  };
}

/** The `config` object of a JSON file, or `undefined` when the file does not exist (`JsonFile::exists` is `is_file`). */
async function readConfigSection(file: string, warnings: string[]): Promise<{ found: boolean; section: ComposerConfigSection | undefined }> {
  let text: string;
  try {
    if (!(await stat(file)).isFile()) return { found: false, section: undefined };
    text = await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return { found: false, section: undefined };
    throw new PrefetchError('E_INPUT', `Cannot read ${file}: ${(error as Error).message}`, { cause: error });
  }
  // composer.json and config.json may hold credentials (`config.http-basic`, …): never quote them.
  const data = parseSecretJson(text, file);
  if (!isRecord(data)) throw new PrefetchError('E_INPUT', `${file}: expected a JSON object at the top level`);
  const section = data['config'];
  if (section === undefined) return { found: true, section: undefined };
  if (!isRecord(section)) {
    warnings.push(`${file}: "config" is not an object; ignored`);
    return { found: true, section: undefined };
  }
  return { found: true, section };
}

/** `$v !== 'false' && (bool) $v`: how `Config::get` reads its booleans. */
function configBool(value: unknown): boolean {
  return value !== 'false' && phpBool(value);
}

/** `Config::get('cache-files-maxsize')`: `300MiB`, `1.5G`, `2048k`, plain bytes; K/M/G are ×1024. */
export function parseCacheMaxsize(value: unknown): number | undefined {
  const text = typeof value === 'string' ? value : typeof value === 'number' ? String(value) : typeof value === 'boolean' ? (value ? '1' : '') : '';
  const match = /^[ \t\n\r\v\f]*([0-9.]+)[ \t\n\r\v\f]*(?:([kmg])(?:i?b)?)?[ \t\n\r\v\f]*$/i.exec(text);
  if (!match) return undefined;
  let size = phpFloat(match[1]);
  const unit = match[2]?.toLowerCase();
  if (unit === 'g') size *= 1024 ** 3;
  else if (unit === 'm') size *= 1024 ** 2;
  else if (unit === 'k') size *= 1024;
  return Math.max(0, Math.trunc(size));
}

/** `array_unique(array_merge(...))` of string lists, first occurrence kept. */
function unionDomains(base: readonly string[], ...more: unknown[]): string[] {
  const out = [...base];
  for (const list of more) {
    if (!Array.isArray(list)) continue;
    for (const item of list) if (typeof item === 'string' && !out.includes(item)) out.push(item);
  }
  return out;
}

/** Keys of an auth map (`github-oauth`, …) in a config section. */
function authHosts(section: ComposerConfigSection | undefined, key: string): string[] {
  const map = section?.[key];
  return isRecord(map) ? Object.keys(map) : [];
}

/**
 * Reads the project composer.json (env `COMPOSER`, default `composer.json`, relative to `cwd`;
 * missing is fine) and `$COMPOSER_HOME/config.json`, and computes the effective settings.
 */
export async function loadComposerConfig(options: LoadComposerConfigOptions): Promise<ComposerConfig> {
  const warnings: string[] = [];
  // Factory::getComposerFile: trim(COMPOSER) ?: './composer.json'
  const composerEnv = phpTrim(options.env['COMPOSER'] ?? '');
  const projectFile = path.resolve(options.cwd, composerEnv !== '' && composerEnv !== '0' ? composerEnv : 'composer.json');
  const globalFile = path.resolve(options.cwd, options.composerHome, 'config.json');

  const globalRead = await readConfigSection(globalFile, warnings);
  const projectRead = await readConfigSection(projectFile, warnings);
  const global = globalRead.section;
  const project = projectRead.section;

  // Config::merge: the later source (project) replaces scalar keys.
  const effective = (key: string): unknown => (project && key in project ? project[key] : global && key in global ? global[key] : undefined);

  const readOnlyEnv = options.env['COMPOSER_CACHE_READ_ONLY'];
  const cacheReadOnly = configBool(readOnlyEnv !== undefined ? readOnlyEnv : (effective('cache-read-only') ?? false));

  const filesTtl = effective('cache-files-ttl');
  const ttl = effective('cache-ttl');
  const cacheFilesTtl = filesTtl !== undefined && filesTtl !== null ? Math.max(0, phpInt(filesTtl)) : Math.max(0, phpInt(ttl ?? CACHE_TTL_DEFAULT));

  const maxsizeRaw = effective('cache-files-maxsize') ?? '300MiB';
  let cacheFilesMaxsize = parseCacheMaxsize(maxsizeRaw);
  if (cacheFilesMaxsize === undefined) {
    warnings.push(`Could not parse the value of 'cache-files-maxsize': ${JSON.stringify(maxsizeRaw)} (Composer fails when its cache GC runs); assuming 300MiB`);
    cacheFilesMaxsize = MAXSIZE_DEFAULT;
  }

  for (const [key, section] of [
    ['github-domains', global],
    ['github-domains', project],
    ['gitlab-domains', global],
    ['gitlab-domains', project],
  ] as const) {
    const value = section?.[key];
    if (value !== undefined && !Array.isArray(value)) warnings.push(`config.${key} must be an array of host names; ignored`);
  }
  const githubDomains = unionDomains(
    DEFAULT_GITHUB_DOMAINS,
    global?.['github-domains'],
    project?.['github-domains'],
    // BaseIO::loadConfiguration (2.5+): hosts with auth configured join the lists implicitly
    authHosts(global, 'github-oauth'),
    authHosts(project, 'github-oauth'),
  );
  const gitlabDomains = unionDomains(
    DEFAULT_GITLAB_DOMAINS,
    global?.['gitlab-domains'],
    project?.['gitlab-domains'],
    authHosts(global, 'gitlab-oauth'),
    authHosts(project, 'gitlab-oauth'),
    authHosts(global, 'gitlab-token'),
    authHosts(project, 'gitlab-token'),
  );

  // Config::get('secure-http'): disable-tls=true forces it off
  const secureHttp = configBool(effective('disable-tls') ?? false) ? false : configBool(effective('secure-http') ?? true);

  return {
    projectFile: projectRead.found ? projectFile : undefined,
    globalFile: globalRead.found ? globalFile : undefined,
    project,
    global,
    cacheReadOnly,
    cacheFilesTtl,
    cacheFilesMaxsize,
    cacheFilesMaxsizeScope: project && 'cache-files-maxsize' in project ? 'project' : global && 'cache-files-maxsize' in global ? 'global' : 'default',
    githubDomains,
    gitlabDomains,
    secureHttp,
    preferredInstall: mergePreferredInstall([global?.['preferred-install'], project?.['preferred-install']]),
    warnings,
  };
}

/** `Config::merge` for `preferred-install` (default `dist` since 2.1): maps merge, `*` stays last. */
function mergePreferredInstall(values: readonly unknown[]): PreferredInstall {
  let current: PreferredInstall = 'dist';
  for (const value of values) {
    if (value === undefined) continue;
    if (typeof value === 'string' && typeof current === 'string') {
      current = value;
      continue;
    }
    if (typeof value !== 'string' && !isRecord(value)) continue;
    const base: Record<string, string> = typeof current === 'string' ? { '*': current } : { ...current };
    const add: Record<string, string> = {};
    if (typeof value === 'string') add['*'] = value;
    else for (const [pattern, mode] of Object.entries(value)) if (typeof mode === 'string') add[pattern] = mode;
    const merged: Record<string, string> = { ...base, ...add };
    const wildcard = merged['*'];
    if (wildcard !== undefined) {
      delete merged['*'];
      merged['*'] = wildcard;
    }
    current = merged;
  }
  return current;
}
