import { createHash } from 'node:crypto';
import path from 'node:path';
import { PrefetchError } from '../errors.js';

/**
 * Composer's package name rule (`ValidatingArrayLoader::hasPackageNamingError`, the `name` pattern
 * of composer-schema.json): `vendor/name`, words of [a-z0-9] joined by `_`, `.` or `-` (`--` allowed
 * in the name part), case-insensitive. By construction it cannot contain `..`, a leading `/` or `.`,
 * backslashes, NUL or any other byte that could steer a path. Upper case is accepted because Composer
 * lowercases names (`BasePackage::__construct`).
 */
const PACKAGE_NAME_RE = /^[a-z0-9](?:[_.-]?[a-z0-9]+)*\/[a-z0-9](?:(?:[_.]|-{1,2})?[a-z0-9]+)*$/i;

export function isValidPackageName(name: string): boolean {
  return PACKAGE_NAME_RE.test(name);
}

/** One code point (the `u` flag: a surrogate pair is one match, as `for…of` iterates) outside the allowlist. */
const OUTSIDE_ALLOWLIST = /[^a-z0-9_./]/giu;

/**
 * `Cache` sanitising (`Cache::copyFrom/copyTo/sha1`, allowlist `a-z0-9_./` from
 * `Factory::createDownloadManager`): every byte outside the allowlist becomes `-`. PCRE runs without
 * the `u` modifier there, so a multi-byte UTF-8 character becomes one `-` per byte.
 */
export function sanitizeCacheKey(key: string): string {
  // One regex pass (was one regex test per character: 50,000 keys took ~0.1 s).
  return key.replace(OUTSIDE_ALLOWLIST, (ch) => (ch.length === 1 && ch.charCodeAt(0) < 0x80 ? '-' : '-'.repeat(Buffer.byteLength(ch, 'utf8'))));
}

/** A dist type that, after sanitising, could not act as a path component on its own. */
function checkDistType(distType: string): void {
  const sanitized = sanitizeCacheKey(distType);
  if (distType === '' || sanitized.includes('/') || sanitized === '.' || sanitized === '..') {
    throw new PrefetchError('E_PACKAGE', `unusable dist type ${JSON.stringify(distType)}: it would change the cache path`);
  }
}

/**
 * The cache key `FileDownloader::download` builds (its `$cacheKeyGenerator`):
 * `<lowercase name>/<sha1(processed url)>.<dist.type>`, then sanitised as `Cache` does. The name
 * must pass {@link isValidPackageName} and the type must not contain a path separator.
 */
export function cacheKeyFor(packageName: string, processedUrl: string, distType: string): string {
  if (!isValidPackageName(packageName)) {
    throw new PrefetchError('E_PACKAGE', `invalid package name ${JSON.stringify(packageName)}`, { packageName });
  }
  checkDistType(distType);
  const sha1 = createHash('sha1').update(processedUrl, 'utf8').digest('hex');
  return sanitizeCacheKey(`${packageName.toLowerCase()}/${sha1}.${distType}`);
}

/**
 * `rtrim(cacheDir, '/\\') . '/' . key` (`Cache::__construct` + `copyFrom`), after checking (defence
 * in depth, keys are already safe by construction) that the result stays strictly inside
 * `cacheFilesDir`. The directory must be absolute.
 */
export function cachePathFor(cacheFilesDir: string, cacheKey: string): string {
  if (!path.isAbsolute(cacheFilesDir)) {
    throw new PrefetchError('E_CACHE', `cache directory must be absolute: ${cacheFilesDir}`);
  }
  if (cacheKey === '' || cacheKey.includes('\0') || cacheKey.includes('\\') || path.isAbsolute(cacheKey)) {
    throw new PrefetchError('E_CACHE', `unsafe cache key ${JSON.stringify(cacheKey)}`);
  }
  if (cacheKey.split('/').some((segment) => segment === '' || segment === '.' || segment === '..')) {
    throw new PrefetchError('E_CACHE', `unsafe cache key ${JSON.stringify(cacheKey)}`);
  }
  const trimmed = cacheFilesDir.replace(/[/\\]+$/, '');
  const full = `${trimmed}/${cacheKey}`;
  const relative = path.relative(path.resolve(cacheFilesDir), path.resolve(full));
  if (relative === '' || relative.startsWith('..') || path.isAbsolute(relative)) {
    throw new PrefetchError('E_CACHE', `cache key ${JSON.stringify(cacheKey)} escapes ${cacheFilesDir}`);
  }
  return full;
}
