import { PrefetchError } from '../errors.js';
import { redactUrl } from '../net/redact-url.js';
import type { LockedPackage } from '../lockfile/types.js';
import { expandMirrorUrl } from './dist-urls.js';

/**
 * `--mirror TEMPLATE`: user dist mirrors in Composer's template form
 * (`https://mirrors.example.com/composer/dists/%package%/%reference%.%type%`, expanded by
 * `ComposerMirror::processUrl` rules through `expandMirrorUrl`). They only change where the
 * bytes come from: tried before the lock's URLs, with fallback to them, while the cache key stays
 * the one Composer computes from the lock as written (`urls[0]`).
 */
export interface MirrorOptions {
  readonly templates: readonly string[];
  /**
   * Also send packages that do not come from packagist.org to the mirrors. Off by default: a
   * public mirror would otherwise learn private package names and references (the GOPROXY
   * privacy rule, golang/go#37367), and could not serve them anyway.
   */
  readonly includePrivate: boolean;
}

/** Packagist's `notify-batch`, which Composer writes into the lock as `notification-url`. */
function isPackagistNotification(url: string | undefined): boolean {
  if (url === undefined) return false;
  try {
    const parsed = new URL(url);
    return parsed.hostname === 'packagist.org' || parsed.hostname === 'repo.packagist.org';
  } catch {
    return false;
  }
}

/**
 * Whether a package may be fetched from the user's mirrors: it must come from public
 * packagist.org (its lock entry's `notification-url`), unless private packages are allowed too.
 * The dist host alone cannot tell: private GitHub repositories also use api.github.com.
 */
export function mirrorEligible(pkg: Pick<LockedPackage, 'notificationUrl'>, options: MirrorOptions): boolean {
  return options.includePrivate || isPackagistNotification(pkg.notificationUrl);
}

/** The task fields for a package: mirror URLs first, then the lock's own URLs, no duplicates. */
export function mirrorFields(
  pkg: LockedPackage,
  lockUrls: readonly string[],
  options: MirrorOptions | undefined,
): { downloadUrls?: readonly string[]; mirrorUrls?: readonly string[] } {
  if (options === undefined || options.templates.length === 0 || !mirrorEligible(pkg, options)) return {};
  const mirrorUrls: string[] = [];
  for (const template of options.templates) {
    const url = expandMirrorUrl(template, pkg);
    if (!mirrorUrls.includes(url) && !lockUrls.includes(url)) mirrorUrls.push(url);
  }
  if (mirrorUrls.length === 0) return {};
  return { mirrorUrls, downloadUrls: [...mirrorUrls, ...lockUrls] };
}

/** Checks a `--mirror` value; a template that is not an http(s) URL is a usage error. */
export function validateMirrorTemplate(template: string): string {
  let url: URL;
  try {
    url = new URL(template);
  } catch {
    throw new PrefetchError('E_USAGE', `--mirror ${JSON.stringify(redactUrl(template))} is not a URL`, {
      hint: "Use Composer's dist mirror form, e.g. https://mirrors.example.com/dists/%package%/%reference%.%type%",
    });
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    throw new PrefetchError('E_USAGE', `--mirror must be an http(s) URL template (got ${url.protocol})`);
  if (!template.includes('%')) {
    throw new PrefetchError('E_USAGE', `--mirror ${url.host}: the template has no %placeholder%, so every package would get the same URL`, {
      hint: 'Use %package%, %version%, %reference%, %type% or %prettyVersion%.',
    });
  }
  return template;
}

/**
 * `COMPOSER_PREFETCH_MIRROR`: several templates separated by whitespace (spaces, tabs, newlines).
 * Not commas: a comma is a legal URL character, whitespace never appears unencoded in a URL.
 */
export function parseMirrorEnv(value: string | undefined): string[] {
  if (value === undefined) return [];
  return value.split(/\s+/).filter((t) => t !== '');
}
