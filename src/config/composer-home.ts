import { PrefetchError } from '../errors.js';

/**
 * The facts Composer's directory resolution depends on, injected so that the resolution itself is
 * pure and testable (`defaultEnvironment()` in composer-config.ts builds it from `process`).
 */
export interface Environment {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly platform: NodeJS.Platform;
  /** The account's home from the password database (PHP `posix_getpwuid`), used only when `HOME` is unset. */
  readonly homedir: string;
  readonly cwd: string;
  isDir(path: string): boolean;
}

/**
 * `Platform::getEnv`: the value, `''` when set but empty, `undefined` (PHP `false`) when unset.
 * Windows environment names are case-insensitive.
 */
export function getEnv(e: Environment, name: string): string | undefined {
  const direct = e.env[name];
  if (direct !== undefined || e.platform !== 'win32') return direct;
  const upper = name.toUpperCase();
  for (const [key, value] of Object.entries(e.env)) {
    if (key.toUpperCase() === upper && value !== undefined) return value;
  }
  return undefined;
}

/** PHP truthiness of an env value (`if ($x)`): unset, '' and '0' are false. */
export function envTruthy(value: string | undefined): value is string {
  return value !== undefined && value !== '' && value !== '0';
}

/** `Factory::useXdg` (2.x): any `XDG_*` variable, or an existing `/etc/xdg`. */
export function useXdg(e: Environment): boolean {
  if (Object.keys(e.env).some((key) => key.startsWith('XDG_') && e.env[key] !== undefined)) return true;
  return e.isDir('/etc/xdg');
}

/** `Factory::getUserDir`: `HOME` with backslashes turned into `/` and trailing `/` removed; required. */
export function getUserDir(e: Environment): string {
  const home = getEnv(e, 'HOME');
  if (!envTruthy(home)) {
    throw new PrefetchError('E_CACHE', 'The HOME or COMPOSER_HOME environment variable must be set for Composer to locate its cache', {
      hint: 'Set HOME or COMPOSER_HOME as the later `composer install` will see them, or pass --cache-dir.',
    });
  }
  return home.replace(/\\/g, '/').replace(/\/+$/, '');
}

/** `Platform::getUserDirectory` (used for `~/` expansion): `HOME` even if empty, then `USERPROFILE` on Windows, then the passwd entry. */
export function getUserDirectory(e: Environment): string {
  const home = getEnv(e, 'HOME');
  if (home !== undefined) return home;
  if (e.platform === 'win32') {
    const profile = getEnv(e, 'USERPROFILE');
    if (profile !== undefined) return profile;
  }
  return e.homedir;
}

export interface ResolvedHome {
  readonly home: string;
  /** Which rule of `Factory::getHomeDir` gave it. */
  readonly source: string;
}

/** `Factory::getHomeDir` (Composer 2.x), with the rule that won. */
export function resolveComposerHomeWithSource(e: Environment): ResolvedHome {
  const composerHome = getEnv(e, 'COMPOSER_HOME');
  if (envTruthy(composerHome)) return { home: composerHome, source: 'env COMPOSER_HOME' };

  if (e.platform === 'win32') {
    const appData = getEnv(e, 'APPDATA');
    if (!envTruthy(appData)) {
      throw new PrefetchError('E_CACHE', 'The APPDATA or COMPOSER_HOME environment variable must be set for Composer to run correctly');
    }
    return { home: `${appData.replace(/\\/g, '/').replace(/\/+$/, '')}/Composer`, source: '%APPDATA%/Composer (Windows)' };
  }

  const userDir = getUserDir(e);
  const dirs: { dir: string; source: string }[] = [];
  if (useXdg(e)) {
    const xdgConfig = getEnv(e, 'XDG_CONFIG_HOME');
    const base = envTruthy(xdgConfig) ? xdgConfig : `${userDir}/.config`;
    dirs.push({ dir: `${base}/composer`, source: envTruthy(xdgConfig) ? '$XDG_CONFIG_HOME/composer' : '~/.config/composer (XDG)' });
  }
  dirs.push({ dir: `${userDir}/.composer`, source: '~/.composer' });
  // the first that exists; otherwise the first candidate (the XDG one when XDG is in use)
  const found = dirs.find((candidate) => e.isDir(candidate.dir)) ?? dirs[0];
  if (found === undefined) throw new Error('unreachable: no home candidates');
  return { home: found.dir, source: found.source };
}

/** `Factory::getHomeDir` (Composer 2.x): `$COMPOSER_HOME`, the directory holding global config.json and auth.json. */
export function resolveComposerHome(e: Environment): string {
  return resolveComposerHomeWithSource(e).home;
}
