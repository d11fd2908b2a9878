import type { PreferredInstall } from '../types.js';
import type { LockedPackage } from '../lockfile/types.js';
import { tryNormalizeVersion } from './version-parser.js';

/**
 * True when `composer install` would clone this package from its source instead of extracting
 * its dist archive, so a prefetched archive would not be used. Ports
 * `DownloadManager::getAvailableSources` + `resolvePackageInstallPreference` (2.x): a package
 * without source always uses dist; `preferred-install` `source` clones everything, `dist` nothing,
 * `auto` (and no matching pattern) clones dev versions; a pattern map is matched in order, `*`
 * last (`Config::merge`), names case-insensitively. Pure.
 */
export function installsFromSource(pkg: Pick<LockedPackage, 'name' | 'version' | 'versionNormalized' | 'hasSource'>, preferred: PreferredInstall): boolean {
  if (!pkg.hasSource) return false;
  const dev = isDevVersion(pkg.versionNormalized ?? tryNormalizeVersion(pkg.version) ?? pkg.version);
  if (typeof preferred === 'string') {
    if (preferred === 'source') return true;
    if (preferred === 'dist') return false;
    return dev;
  }
  for (const [pattern, preference] of Object.entries(preferred)) {
    const regexp = new RegExp(`^${pattern.split('*').map(escapeRegExp).join('.*')}$`, 'i');
    if (regexp.test(pkg.name)) return !(preference === 'dist' || (!dev && preference === 'auto'));
  }
  return dev;
}

/** `VersionParser::parseStability(...) === 'dev'` on a normalised version. */
function isDevVersion(version: string): boolean {
  const bare = version.replace(/#.+$/, '');
  return bare.startsWith('dev-') || bare.endsWith('-dev');
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
