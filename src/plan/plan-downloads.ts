import type { LockedPackage, ParsedInput } from '../lockfile/types.js';
import { isPrefetchError } from '../errors.js';
import { cacheKeyFor, cachePathFor, isValidPackageName } from './cache-key.js';
import { getDistUrls, processDistUrl } from './dist-urls.js';
import { phpTruthy } from '../php.js';
import { mirrorFields, type MirrorOptions } from './mirror-urls.js';
import { redactUrl } from '../net/redact-url.js';
import type { DownloadTask, InvalidPackage, Plan, SkippedPackage } from '../types.js';
import { tryNormalizeVersion } from './version-parser.js';
import type { PreferredInstall } from '../types.js';
import { installsFromSource } from './install-source.js';

export interface PlanOptions {
  /** Absolute `cache-files-dir`. */
  readonly cacheFilesDir: string;
  /** `--no-dev`: leave out `packages-dev` / `dev-package-names`. */
  readonly noDev: boolean;
  /** Effective `github-domains` (defaults included). */
  readonly githubDomains: readonly string[];
  /** Effective `gitlab-domains` (defaults included). */
  readonly gitlabDomains: readonly string[];
  /** `--mirror` templates: tried before the lock's URLs; the cache key is unaffected. */
  readonly mirrors?: MirrorOptions;
  /** Effective `preferred-install`: packages Composer would clone from source are named in a warning. */
  readonly preferredInstall?: PreferredInstall;
}

/** `Config::$defaultConfig['github-domains']`. */
export const DEFAULT_GITHUB_DOMAINS: readonly string[] = Object.freeze(['github.com']);
/** `Config::$defaultConfig['gitlab-domains']`. */
export const DEFAULT_GITLAB_DOMAINS: readonly string[] = Object.freeze(['gitlab.com']);

/** Fresh copies of Composer's default github/gitlab domain lists. */
export function defaultDistDomains(): { githubDomains: string[]; gitlabDomains: string[] } {
  return { githubDomains: [...DEFAULT_GITHUB_DOMAINS], gitlabDomains: [...DEFAULT_GITLAB_DOMAINS] };
}

type Decision =
  | { readonly kind: 'task'; readonly task: DownloadTask }
  | { readonly kind: 'skip'; readonly skipped: SkippedPackage }
  | { readonly kind: 'invalid'; readonly invalid: InvalidPackage };

function invalid(pkg: LockedPackage, message: string): Decision {
  return { kind: 'invalid', invalid: { packageName: pkg.name, origin: pkg.origin, message } };
}

/** A dist URL that names a file on this machine: `file://`, or no `scheme://` at all (a path, `C:\\…`). */
function isLocalDist(url: string): boolean {
  return /^file:\/\//i.test(url) || !/^[a-z][a-z0-9+.-]*:\/\//i.test(url);
}

function skip(pkg: LockedPackage, reason: SkippedPackage['reason']): Decision {
  return { kind: 'skip', skipped: { packageName: pkg.name.toLowerCase(), version: pkg.version, reason, origin: pkg.origin } };
}

function decide(pkg: LockedPackage, options: PlanOptions): Decision {
  if (pkg.dev && options.noDev) return skip(pkg, 'dev-excluded');
  if (!isValidPackageName(pkg.name)) {
    return invalid(pkg, `invalid package name ${JSON.stringify(pkg.name)} (expected vendor/name of a-z, 0-9, "_", ".", "-")`);
  }
  // `DownloadManager::getDownloaderForPackage` returns null for metapackages; the type is
  // lowercased by `ArrayLoader::configureObject`.
  if (pkg.type.toLowerCase() === 'metapackage') return skip(pkg, 'metapackage');
  const dist = pkg.dist;
  if (dist === undefined) return skip(pkg, 'no-dist');
  // `ArrayLoader` requires both keys; an empty URL gives no download URL at all (`Package::getUrls`).
  if (!phpTruthy(dist.url) || dist.type === '') {
    return invalid(pkg, 'dist has no url or no type');
  }
  // PathDownloader symlinks or copies; it never uses the files cache. DownloadManager lowercases the type.
  if (dist.type.toLowerCase() === 'path') return skip(pkg, 'path-dist');
  if (pkg.versionNormalized === undefined && tryNormalizeVersion(pkg.version) === undefined) {
    // `ArrayLoader::createObject` throws "Invalid version string" for the whole lock.
    return invalid(
      pkg,
      pkg.version === ''
        ? 'package entry has no "version" (Composer: "has no version defined")'
        : `Composer cannot parse version ${JSON.stringify(pkg.version)} (VersionParser::normalize)`,
    );
  }
  // `FileDownloader::download` compares `dist.shasum` with the lowercase hex of `sha1_file`
  // case-sensitively; anything else never matches, and Composer's own check would fail too.
  if (dist.shasum !== undefined && !/^[0-9a-f]{40}$/.test(dist.shasum)) {
    return invalid(pkg, `dist.shasum ${JSON.stringify(dist.shasum)} is not 40 lowercase hex digits; Composer would reject every download of it`);
  }
  // Composer downloads the *processed* URL too, not only hashes it (`FileDownloader::download`
  // hands `$url['processed']` to `addCopy`): a GitHub URL is pinned to the locked reference.
  const urls = getDistUrls(pkg).map((url) => processDistUrl(url, pkg, options));
  const first = urls[0];
  if (first === undefined) return invalid(pkg, 'dist has no url');
  // A path (an artifact repository writes `artifacts/x.zip`) or a file:// URL: Composer reads it
  // from disk through its remote filesystem; there is nothing to fetch ahead of it.
  if (isLocalDist(first)) return skip(pkg, 'local-file');
  // No request could be made (curl fails on it too); said here, with the URL, not as a network error later.
  if (!URL.canParse(first)) return invalid(pkg, `dist.url ${redactUrl(first)} is not a valid URL`);
  try {
    const cacheKey = cacheKeyFor(pkg.name, first, dist.type);
    const cachePath = cachePathFor(options.cacheFilesDir, cacheKey);
    return {
      kind: 'task',
      task: {
        packageName: pkg.name.toLowerCase(),
        version: pkg.version,
        distType: dist.type,
        urls: [first, ...urls.slice(1)],
        ...mirrorFields(pkg, urls, options.mirrors),
        ...(pkg.transportHeaders === undefined ? {} : { transportHeaders: pkg.transportHeaders }),
        cacheKey,
        cachePath,
        expectedSha1: dist.shasum,
        dev: pkg.dev,
        origins: [pkg.origin],
      },
    };
  } catch (error) {
    if (isPrefetchError(error) && error.code === 'E_PACKAGE') return invalid(pkg, error.message);
    throw error;
  }
}

/**
 * Adds a task to `tasks`, de-duplicated by cache path: the first one wins for URLs, `origins` are
 * merged and the task is non-dev if any occurrence is. Different shasums for one archive warn.
 */
export function addTask(tasks: Map<string, DownloadTask>, task: DownloadTask, warnings: string[]): void {
  const existing = tasks.get(task.cachePath);
  if (existing === undefined) {
    tasks.set(task.cachePath, task);
    return;
  }
  tasks.set(task.cachePath, {
    ...existing,
    dev: existing.dev && task.dev,
    expectedSha1: existing.expectedSha1 ?? task.expectedSha1,
    origins: [...existing.origins, ...task.origins.filter((o) => !existing.origins.includes(o))],
  });
  if (existing.expectedSha1 !== undefined && task.expectedSha1 !== undefined && existing.expectedSha1 !== task.expectedSha1) {
    warnings.push(
      `${task.packageName}: ${existing.origins.join(', ')} and ${task.origins.join(', ')} record different shasums for the same archive (${existing.expectedSha1} vs ${task.expectedSha1}); using the first`,
    );
  }
}

/** Several projects' plans as one: tasks de-duplicated by cache path across them (`addTask`). Pure. */
export function mergePlans(plans: readonly Plan[]): Plan {
  const [first] = plans;
  if (first === undefined) throw new Error('mergePlans needs at least one plan');
  if (plans.length === 1) return first;
  const tasks = new Map<string, DownloadTask>();
  const warnings: string[] = [];
  for (const plan of plans) {
    for (const task of plan.tasks) addTask(tasks, task, warnings);
    for (const warning of plan.warnings) if (!warnings.includes(warning)) warnings.push(warning);
  }
  const dirs = [...new Set(plans.map((p) => p.cacheFilesDir))];
  if (dirs.length > 1) warnings.push(`The projects use different Composer caches; each archive goes to its own project's: ${dirs.join(', ')}`);
  return {
    cacheFilesDir: first.cacheFilesDir,
    tasks: [...tasks.values()],
    skipped: plans.flatMap((p) => p.skipped),
    invalid: plans.flatMap((p) => p.invalid),
    warnings,
  };
}

/**
 * Decides, for every package of every input, whether and where its dist archive goes into the
 * cache (`FileDownloader::getCacheKey`: `<name>/<sha1(processed URL)>.<type>`). Pure. Tasks are de-duplicated by cache path across inputs: the
 * first one wins for URLs, `origins` are merged and the task is non-dev if any occurrence is.
 */
export function planDownloads(inputs: readonly ParsedInput[], options: PlanOptions): Plan {
  const tasks = new Map<string, DownloadTask>();
  const skipped: SkippedPackage[] = [];
  const invalidPackages: InvalidPackage[] = [];
  const warnings: string[] = [];
  const fromSource: string[] = [];
  // The Set keeps the check linear: `includes` on the list was quadratic (50,000 packages from source).
  const fromSourceSeen = new Set<string>();

  for (const input of inputs) {
    for (const problem of input.problems) {
      invalidPackages.push({ packageName: problem.packageName, origin: problem.origin, message: problem.message });
    }
    for (const pkg of input.packages) {
      // only a plugin that gets installed can change downloads
      if (pkg.modifiesDownloads && !(pkg.dev && options.noDev)) {
        warnings.push(
          `${pkg.name} (${pkg.origin}) is a plugin with extra.plugin-modifies-downloads: it may rewrite download URLs or cache keys, so Composer might not find some prefetched archives`,
        );
      }
      const decision = decide(pkg, options);
      if (decision.kind === 'skip') skipped.push(decision.skipped);
      else if (decision.kind === 'invalid') invalidPackages.push(decision.invalid);
      else {
        const task = decision.task;
        if (options.preferredInstall !== undefined && installsFromSource(pkg, options.preferredInstall) && !fromSourceSeen.has(task.packageName)) {
          fromSourceSeen.add(task.packageName);
          fromSource.push(task.packageName);
        }
        addTask(tasks, task, warnings);
      }
    }
  }

  if (fromSource.length > 0) {
    const shown = fromSource.slice(0, 5).join(', ') + (fromSource.length > 5 ? `, … (${fromSource.length - 5} more)` : '');
    warnings.push(
      `${fromSource.length} package${fromSource.length === 1 ? '' : 's'} will be cloned from source by \`composer install\` (preferred-install: ${JSON.stringify(options.preferredInstall)}), so their prefetched archives are not used: ${shown}. Run \`composer install --prefer-dist\`, or set "preferred-install": "dist".`,
    );
  }
  return { cacheFilesDir: options.cacheFilesDir, tasks: [...tasks.values()], skipped, invalid: invalidPackages, warnings };
}
