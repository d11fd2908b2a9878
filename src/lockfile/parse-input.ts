import { PrefetchError } from '../errors.js';
import { isRecord } from '../json.js';
import { phpToString } from '../php.js';
import type { DistMirror, InputKind, LockedDist, LockedPackage, LockedSource, PackageProblem, ParsedInput } from './types.js';

/**
 * Turns the parsed JSON of one input into packages. Accepts what Composer itself reads:
 * - composer.lock, from Composer 1 and 2 (`Locker::getLockData`; `packages-dev` may be null),
 * - vendor/composer/installed.json v1 (a top-level array) and v2 (`{packages, dev, dev-package-names}`;
 *   `FilesystemRepository::initialize` reads both),
 * - a resolved package set: an array of package objects, or `{"packages": [...]}`.
 * A bad entry becomes a `PackageProblem`; the others are kept. A document of the wrong shape
 * (not a package list at all, a composer.json, a lock without `packages`) throws `E_INPUT`.
 */
export function parseInput(json: unknown, origin: string): ParsedInput {
  const problems: PackageProblem[] = [];
  const packages: LockedPackage[] = [];
  const add = (list: unknown, dev: (name: string) => boolean, listName: string): void => {
    if (list === null || list === undefined) return;
    if (!Array.isArray(list)) throw shapeError(origin, `"${listName}" is not a list of packages`);
    list.forEach((entry, index) => {
      const result = normalizePackage(entry, origin, dev);
      if ('message' in result) problems.push({ ...result, index });
      else packages.push(result);
    });
  };

  let kind: InputKind;
  if (Array.isArray(json)) {
    kind = /installed\.json$/i.test(origin) ? 'installed.json (v1)' : 'resolved set';
    add(json, () => false, 'packages');
  } else if (isRecord(json) && isLock(json)) {
    kind = 'composer.lock';
    if (!Array.isArray(json['packages'])) throw shapeError(origin, 'a composer.lock without a "packages" list');
    add(json['packages'], () => false, 'packages');
    add(json['packages-dev'], () => true, 'packages-dev');
  } else if (isRecord(json) && Array.isArray(json['packages'])) {
    const devNames = json['dev-package-names'];
    if (Array.isArray(devNames)) {
      kind = 'installed.json (v2)';
      const dev = new Set(devNames.filter((n): n is string => typeof n === 'string').map((n) => n.toLowerCase()));
      add(json['packages'], (name) => dev.has(name.toLowerCase()), 'packages');
    } else {
      kind = 'resolved set';
      add(json['packages'], () => false, 'packages');
    }
  } else if (isRecord(json) && isComposerJson(json)) {
    const lock = origin.endsWith('.json') ? `${origin.slice(0, -'.json'.length)}.lock` : `${origin}.lock`;
    throw new PrefetchError('E_INPUT', `${origin} is a composer.json, not a lock file: did you mean ${lock}?`, {
      hint: 'composer-prefetch reads what `composer install` installs: the lock (run `composer update --lock` to create it).',
    });
  } else {
    throw shapeError(
      origin,
      !isRecord(json)
        ? `the document is ${json === null ? 'null' : `a ${typeof json}`}`
        : 'packages' in json
          ? '"packages" is not a list of packages'
          : 'no "packages" list',
    );
  }
  return { origin, kind, packages, problems };
}

function shapeError(origin: string, what: string): PrefetchError {
  return new PrefetchError('E_INPUT', `${origin} is not a composer.lock, installed.json or package list: ${what}`, {
    hint: 'Pass a composer.lock (or vendor/composer/installed.json, or a JSON list of packages).',
  });
}

/** The keys of a composer.json schema that a lock or installed.json never has at its top level. */
function isComposerJson(json: Record<string, unknown>): boolean {
  return (
    ['require', 'require-dev', 'autoload', 'autoload-dev', 'config', 'repositories', 'minimum-stability', 'name'].some((key) => key in json) &&
    !('packages' in json)
  );
}

function isLock(json: Record<string, unknown>): boolean {
  return 'content-hash' in json || 'hash' in json || 'packages-dev' in json || '_readme' in json || 'plugin-api-version' in json;
}

type EntryResult = LockedPackage | Omit<PackageProblem, 'index'>;

/**
 * `ArrayLoader::load`: a scalar version is cast to a string (`1.5` → "1.5", as PHP's `(string)`);
 * a missing one stays "" (planning says so), an array or object is refused.
 */
function lockedVersion(value: unknown): string | { problem: string } {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  if (typeof value === 'boolean') return value ? '1' : '';
  if (value === undefined || value === null) return '';
  return { problem: `"version" is ${Array.isArray(value) ? 'an array' : 'an object'} where a string such as "1.5.0" belongs` };
}

function normalizePackage(entry: unknown, origin: string, isDev: (name: string) => boolean): EntryResult {
  if (!isRecord(entry)) return { origin, packageName: undefined, message: 'package entry is not an object' };
  const name = entry['name'];
  if (typeof name !== 'string' || name === '') return { origin, packageName: undefined, message: 'package entry has no "name"' };
  const version = lockedVersion(entry['version']);
  if (typeof version !== 'string') return { origin, packageName: name, message: version.problem };
  const versionNormalized = typeof entry['version_normalized'] === 'string' ? entry['version_normalized'] : undefined;
  const type = typeof entry['type'] === 'string' && entry['type'] !== '' ? entry['type'] : 'library';
  const extra = entry['extra'];
  const modifiesDownloads = type === 'composer-plugin' && isRecord(extra) && extra['plugin-modifies-downloads'] === true;

  let dist: LockedDist | undefined;
  const rawDist = entry['dist'];
  if (rawDist !== undefined && rawDist !== null) {
    const parsed = normalizeDist(rawDist);
    if (typeof parsed === 'string') return { origin, packageName: name, message: parsed };
    dist = parsed;
  }
  return {
    name,
    version,
    versionNormalized,
    type,
    dist,
    hasSource: isRecord(entry['source']),
    ...sourceOf(entry['source']),
    dev: isDev(name),
    origin,
    modifiesDownloads,
    ...(typeof entry['notification-url'] === 'string' ? { notificationUrl: entry['notification-url'] } : {}),
    ...transportHeaders(entry['transport-options']),
  };
}

/** `source` as `ArrayLoader::configureObject` reads it: type, url and reference, cast to strings. */
function sourceOf(raw: unknown): { source?: LockedSource } {
  if (!isRecord(raw)) return {};
  const { type, url, reference, mirrors } = raw;
  if (typeof type !== 'string' || type === '' || typeof url !== 'string' || url === '') return {};
  const list = (Array.isArray(mirrors) ? mirrors : [])
    .filter(isRecord)
    .flatMap((m) => (typeof m['url'] === 'string' ? [{ url: m['url'], preferred: m['preferred'] === true }] : []));
  return {
    source: {
      type,
      url,
      reference: typeof reference === 'string' || typeof reference === 'number' || typeof reference === 'boolean' ? phpToString(reference) : '',
      mirrors: list,
    },
  };
}

/** `transport-options.http.header` as Composer accepts it: one line or a list of lines. */
function transportHeaders(options: unknown): { transportHeaders?: readonly string[] } {
  if (!isRecord(options) || !isRecord(options['http'])) return {};
  const header = options['http']['header'];
  const lines = (typeof header === 'string' ? [header] : Array.isArray(header) ? header : []).filter(
    (h): h is string => typeof h === 'string' && h.includes(':'),
  );
  return lines.length > 0 ? { transportHeaders: lines } : {};
}

function normalizeDist(raw: unknown): LockedDist | string {
  if (!isRecord(raw)) return '"dist" is not an object';
  const { type, url, reference, shasum, mirrors } = raw;
  if (typeof type !== 'string' || type === '') return '"dist.type" is missing';
  if (typeof url !== 'string' || url === '') return '"dist.url" is missing';
  // `ArrayLoader::configureObject`: `(string) $config['dist']['reference']` when set: a number or a
  // boolean is cast, and an array would stop Composer with "Array to string conversion".
  if (reference !== undefined && reference !== null && (typeof reference === 'object' || (typeof reference === 'number' && !Number.isFinite(reference))))
    return '"dist.reference" is not a string';
  if (shasum !== undefined && shasum !== null && typeof shasum !== 'string') return '"dist.shasum" is not a string';
  const list: DistMirror[] = [];
  if (mirrors !== undefined && mirrors !== null) {
    if (!Array.isArray(mirrors)) return '"dist.mirrors" is not a list';
    for (const mirror of mirrors) {
      if (!isRecord(mirror) || typeof mirror['url'] !== 'string') return '"dist.mirrors" has an entry without "url"';
      list.push({ url: mirror['url'], preferred: mirror['preferred'] === true });
    }
  }
  return {
    type,
    url,
    // "" stays "": Composer ≥ 2.7.3 pins a GitHub/GitLab/Bitbucket URL to it (`…/zipball/`), so the cache key differs from undefined's.
    reference: reference === undefined || reference === null ? undefined : phpToString(reference),
    shasum: typeof shasum === 'string' && shasum !== '' ? shasum : undefined,
    mirrors: list,
  };
}
