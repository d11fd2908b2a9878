import { createHash } from 'node:crypto';
import type { LockedPackage } from '../lockfile/types.js';
import { normalizeVersion } from './version-parser.js';
import { phpLooseEqualStrings, phpPregReplacement, phpTruthy, phpUrlHost } from '../php.js';

/**
 * Composer's dist URL list and URL processing, ported from Composer 2.x:
 * `Package::getUrls`, `ComposerMirror::processUrl`, `Url::updateDistReference`,
 * `FileDownloader::processUrl`. Pure: no I/O, no environment.
 */

export interface DistDomains {
  readonly githubDomains: readonly string[];
  readonly gitlabDomains: readonly string[];
}

/** The package facts a dist URL template can use. */
export interface MirrorPackage {
  readonly name: string;
  readonly version: string;
  readonly versionNormalized: string | undefined;
  readonly dist: { readonly type: string; readonly reference: string | undefined } | undefined;
}

function md5(text: string): string {
  return createHash('md5').update(text, 'utf8').digest('hex');
}

/** PHP `str_replace` with arrays: each pair is applied in turn to the result of the previous one. */
function strReplaceSequential(subject: string, pairs: readonly (readonly [string, string])[]): string {
  let out = subject;
  for (const [from, to] of pairs) out = out.split(from).join(to);
  return out;
}

/**
 * The normalised version Composer gives a package: `version_normalized` when the input carries it
 * (installed.json), except the legacy `9999999-dev` which is recomputed; otherwise
 * `VersionParser::normalize(version)` (`ArrayLoader::createObject`).
 */
export function packageVersionNormalized(pkg: Pick<MirrorPackage, 'version' | 'versionNormalized'>): string {
  const given = pkg.versionNormalized;
  if (given !== undefined && given !== '9999999-dev') return given;
  return normalizeVersion(pkg.version);
}

/**
 * `ComposerMirror::processUrl` (2.1+, with `%prettyVersion%`): expands `%package%` (lowercase
 * name), `%version%` (normalised; md5 when it contains `/`), `%reference%` (kept when lowercase hex,
 * else md5; '' when null), `%type%` and `%prettyVersion%`.
 */
export function expandMirrorUrl(template: string, pkg: MirrorPackage): string {
  let reference = pkg.dist?.reference;
  // PHP: `if ($reference)` — '' and '0' are passed through unchanged; the hex test has no `i` flag
  // and its `$` also matches before a trailing newline.
  if (phpTruthy(reference) && !/^(?:[a-f0-9]*|%reference%)\n?$/.test(reference)) reference = md5(reference);
  const normalized = packageVersionNormalized(pkg);
  const version = normalized.includes('/') ? md5(normalized) : normalized;
  return strReplaceSequential(template, [
    ['%package%', pkg.name.toLowerCase()],
    ['%version%', version],
    ['%reference%', reference ?? ''],
    ['%type%', pkg.dist?.type ?? ''],
    ['%prettyVersion%', pkg.version],
  ]);
}

/**
 * `Package::getDistUrls()` → `Package::getUrls()` for Composer ≥ 2.1: `dist.url` (placeholders
 * expanded when it contains `%`), then each mirror in order, a preferred one unshifted to the front,
 * others pushed, duplicates skipped. Empty when the package has no dist URL.
 */
export function getDistUrls(pkg: LockedPackage): string[] {
  const dist = pkg.dist;
  if (dist === undefined || !phpTruthy(dist.url)) return [];
  const first = dist.url.includes('%') ? expandMirrorUrl(dist.url, pkg) : dist.url;
  const urls = [first];
  for (const mirror of dist.mirrors) {
    const url = expandMirrorUrl(mirror.url, pkg);
    // `in_array` is loose in Composer; only numeric-looking strings differ from ===
    if (urls.some((existing) => phpLooseEqualStrings(existing, url))) continue;
    if (mirror.preferred) urls.unshift(url);
    else urls.push(url);
  }
  return urls;
}

// PCRE `.` excludes only "\n", and `$` (no D modifier) also matches before a final "\n".
const END = '(?=\\n?$)';
const GITHUB_LEGACY_RE = new RegExp(`^https?://(?:www\\.)?github\\.com/([^/]+)/([^/]+)/(zip|tar)ball/[^\\n]+${END}`, 'i');
const GITHUB_WEB_ARCHIVE_RE = new RegExp(`^https?://(?:www\\.)?github\\.com/([^/]+)/([^/]+)/archive/[^\\n]+\\.(zip|tar)(?:\\.gz)?${END}`, 'i');
const GITHUB_API_RE = new RegExp(`^https?://api\\.github\\.com/repos/([^/]+)/([^/]+)/(zip|tar)ball(?:/[^\\n]+)?${END}`, 'i');
const BITBUCKET_RE = new RegExp(`^https?://(?:www\\.)?bitbucket\\.org/([^/]+)/([^/]+)/get/[^\\n]+\\.(zip|tar\\.gz|tar\\.bz2)${END}`, 'i');
const GITLAB_RE = new RegExp(
  `^https?://(?:www\\.)?gitlab\\.com/api/v[34]/projects/([^/]+)/repository/archive\\.(zip|tar\\.gz|tar\\.bz2|tar)\\?sha=[^\\n]+${END}`,
  'i',
);
const GITHUB_DOMAIN_RE = new RegExp(`(/repos/[^/]+/[^/]+/(zip|tar)ball)(?:/[^\\n]+)?${END}`, 'i');
const GITLAB_DOMAIN_RE = new RegExp(`(/api/v[34]/projects/[^/]+/repository/archive\\.(?:zip|tar\\.gz|tar\\.bz2|tar)\\?sha=)[^\\n]+${END}`, 'i');

/**
 * `Url::updateDistReference`: points GitHub, GitLab and Bitbucket archive URLs (and hosts listed
 * in github-domains / gitlab-domains) at `reference`. Every other URL is returned unchanged. Host
 * comparisons are exact and case-sensitive, as in PHP (`===` / strict `in_array`).
 */
export function updateDistReference(url: string, reference: string, domains: DistDomains): string {
  const host = phpUrlHost(url);
  if (host === 'api.github.com' || host === 'github.com' || host === 'www.github.com') {
    const m = GITHUB_LEGACY_RE.exec(url) ?? GITHUB_WEB_ARCHIVE_RE.exec(url) ?? GITHUB_API_RE.exec(url);
    if (m) return `https://api.github.com/repos/${m[1]}/${m[2]}/${m[3]}ball/${reference}`;
    return url;
  }
  if (host === 'bitbucket.org' || host === 'www.bitbucket.org') {
    const m = BITBUCKET_RE.exec(url);
    return m ? `https://bitbucket.org/${m[1]}/${m[2]}/get/${reference}.${m[3]}` : url;
  }
  if (host === 'gitlab.com' || host === 'www.gitlab.com') {
    const m = GITLAB_RE.exec(url);
    return m ? `https://gitlab.com/api/v4/projects/${m[1]}/repository/archive.${m[2]}?sha=${reference}` : url;
  }
  if (host !== undefined && domains.githubDomains.includes(host)) {
    return url.replace(GITHUB_DOMAIN_RE, (...m: unknown[]) => phpPregReplacement(`$1/${reference}`, m));
  }
  if (host !== undefined && domains.gitlabDomains.includes(host)) {
    return url.replace(GITLAB_DOMAIN_RE, (...m: unknown[]) => phpPregReplacement(`\${1}${reference}`, m));
  }
  return url;
}

/**
 * `FileDownloader::processUrl`: `updateDistReference` whenever `dist.reference` is not null. We
 * follow Composer ≥ 2.7.3 (`$package->getDistReference() !== null`); up to 2.7.2 (Debian ships
 * 2.5.5) the test was PHP-truthy, so a reference of "" or "0" left the URL alone there. Only
 * GitHub/GitLab/Bitbucket-style archive URLs change, and only for such a reference: a lock with
 * `"reference": ""` on a zipball URL gets `…/zipball/`, hence another cache key, than on 2.5.
 */
export function processDistUrl(url: string, pkg: Pick<LockedPackage, 'dist'>, domains: DistDomains): string {
  const reference = pkg.dist?.reference;
  return reference !== undefined ? updateDistReference(url, reference, domains) : url;
}
