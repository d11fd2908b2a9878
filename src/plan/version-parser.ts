/**
 * Port of composer/semver `VersionParser::normalize` (semver 3.x, as shipped with Composer 2.x).
 *
 * Composer recomputes the normalised version of every locked package (`ArrayLoader::createObject`;
 * `Locker::lockPackages` drops `version_normalized`), and the result feeds the `%version%`
 * placeholder of dist URL templates and mirrors (`ComposerMirror::processUrl`). So this must give
 * byte-for-byte what PHP gives.
 *
 * PCRE details kept on purpose: `\s` is the ASCII set only (no Unicode spaces), `trim` strips PHP's
 * set (" \t\n\r\0\x0B"), and the `i` flag affects ASCII letters only.
 */
import { isEmptyGroup, phpTrim } from '../php.js';

/** PCRE `\s` without the `u` modifier: space, \t, \n, \v, \f, \r. */
const S = '\\t\\n\\x0B\\f\\r ';

/** `VersionParser::$modifierRegex`: stability word, its numeric suffix, then an optional dev marker. */
const MODIFIER = '[._-]?(?:(stable|beta|b|RC|alpha|a|patch|pl|p)((?:[.-]?\\d+)*)?)?([.-]?dev)?';
const STABILITIES = 'stable|RC|beta|alpha|dev';

const ALIAS_RE = new RegExp(`^([^,${S}]+)[ ]+as[ ]+([^,${S}]+)$`);
const STABILITY_FLAG_RE = new RegExp(`@(?:${STABILITIES})$`, 'i');
const BUILD_METADATA_RE = new RegExp(`^([^,${S}+]+)\\+[^${S}]+$`);
// JS has no possessive quantifiers; none of the possessive groups in the PHP pattern can give back
// characters that a later part could use (digits are only consumed by digit groups), so greedy is equivalent.
const CLASSICAL_RE = new RegExp(`^v?(\\d{1,5})(\\.\\d+)?(\\.\\d+)?(\\.\\d+)?${MODIFIER}$`, 'i');
const DATE_RE = new RegExp(`^v?(\\d{4}(?:[.:-]?\\d{2}){1,6}(?:[.:-]?\\d{1,3})?)${MODIFIER}$`, 'i');
// Unanchored at the start like the PHP pattern; PCRE `.` excludes only \n.
const DEV_BRANCH_RE = /([^\n]*?)[.-]?dev$/i;
const NUMERIC_BRANCH_RE = /^v?(\d+)(\.(?:\d+|[xX*]))?(\.(?:\d+|[xX*]))?(\.(?:\d+|[xX*]))?$/i;

/** `VersionParser::expandStability`. */
function expandStability(stability: string): string {
  const lower = stability.toLowerCase();
  switch (lower) {
    case 'a':
      return 'alpha';
    case 'b':
      return 'beta';
    case 'p':
    case 'pl':
      return 'patch';
    case 'rc':
      return 'RC';
    default:
      return lower;
  }
}

/** `VersionParser::normalizeBranch`: `2.x` → `2.9999999.9999999.9999999-dev`, anything else → `dev-<name>`. */
export function normalizeBranch(name: string): string {
  const trimmed = phpTrim(name);
  const match = NUMERIC_BRANCH_RE.exec(trimmed);
  if (match) {
    let version = '';
    for (let i = 1; i < 5; i++) {
      const part = match[i];
      version += part === undefined ? '.x' : part.replace(/[*X]/g, 'x');
    }
    return `${version.replace(/x/g, '9999999')}-dev`;
  }
  return `dev-${trimmed}`;
}

/**
 * `VersionParser::normalize`, or `undefined` where PHP throws `UnexpectedValueException`
 * ("Invalid version string"). Composer cannot load a lock containing such a version at all.
 */
export function tryNormalizeVersion(input: string): string | undefined {
  let version = phpTrim(input);

  // strip off aliasing ("1.0.x-dev as 1.0.0")
  const alias = ALIAS_RE.exec(version);
  if (alias?.[1] !== undefined) version = alias[1];

  // strip off a stability flag ("1.0.0@beta")
  const flag = STABILITY_FLAG_RE.exec(version);
  if (flag) version = version.slice(0, version.length - flag[0].length);

  // master/trunk/default were valid constraints in 1.x; they are branch names
  if (version === 'master' || version === 'trunk' || version === 'default') version = `dev-${version}`;

  // branch-like: keep the name as written, only the prefix case is normalised (stripos)
  if (version.slice(0, 4).toLowerCase() === 'dev-') return `dev-${version.slice(4)}`;

  // strip off build metadata ("1.0.0+build.5")
  const build = BUILD_METADATA_RE.exec(version);
  if (build?.[1] !== undefined) version = build[1];

  let matches: RegExpExecArray | null = CLASSICAL_RE.exec(version);
  let index: number | undefined;
  if (matches) {
    version =
      (matches[1] ?? '') +
      (isEmptyGroup(matches[2]) ? '.0' : matches[2]) +
      (isEmptyGroup(matches[3]) ? '.0' : matches[3]) +
      (isEmptyGroup(matches[4]) ? '.0' : matches[4]);
    index = 5;
  } else {
    matches = DATE_RE.exec(version);
    if (matches) {
      version = (matches[1] ?? '').replace(/\D/g, '.');
      index = 2;
    }
  }

  if (matches && index !== undefined) {
    const stability = matches[index];
    if (!isEmptyGroup(stability) && stability !== undefined) {
      // case-sensitive on purpose: "STABLE" is expanded to "-stable" by PHP too
      if (stability === 'stable') return version;
      const suffix = matches[index + 1];
      version += `-${expandStability(stability)}${suffix !== undefined && suffix !== '' ? suffix.replace(/^[.-]+/, '') : ''}`;
    }
    if (!isEmptyGroup(matches[index + 2])) version += '-dev';
    return version;
  }

  // numeric dev branches: "2.x-dev", "1.0.x-dev"
  const dev = DEV_BRANCH_RE.exec(version);
  if (dev) {
    const normalized = normalizeBranch(dev[1] ?? '');
    // a "-dev" suffix is only a version for numeric branches; others must be written "dev-name"
    if (!normalized.includes('dev-')) return normalized;
  }

  return undefined;
}

/**
 * `VersionParser::normalize` (composer/semver). Fallback when PHP would throw: the trimmed input,
 * unchanged. Callers that must know (planning) use {@link tryNormalizeVersion} instead, because
 * Composer itself refuses to load such a package.
 */
export function normalizeVersion(version: string): string {
  return tryNormalizeVersion(version) ?? phpTrim(version);
}
