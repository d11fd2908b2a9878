import type { LockedPackage, LockedSource, ParsedInput } from '../lockfile/types.js';
import { installsFromSource } from '../plan/install-source.js';
import type { PreferredInstall } from '../types.js';
import { hasQueryToken, mirrorDirName } from './git-url.js';

/** One locked package whose source `composer install` would take from a mirror. */
export interface MirrorRef {
  /** Lowercase, as Composer names it. */
  readonly packageName: string;
  /** Pretty version as locked: `GitUtil::fetchRefOrSyncMirror` derives the branch/tag check from it. */
  readonly version: string;
  /** `source.reference`: must resolve to a commit in the mirror (`Git::checkRefIsInMirror`). */
  readonly reference: string;
  readonly dev: boolean;
  readonly origin: string;
}

/** One bare mirror to create or update: several packages may share one repository URL. */
export interface MirrorTask {
  /** The URL Composer clones (`getSourceUrls()[0]`, as written in the lock). */
  readonly url: string;
  /** Absolute: `<cache-vcs-dir>/<mirrorDirName(url)>` (credentials masked, as Composer ≥ 2.10.2 names it), without Composer's trailing `/`. */
  readonly dir: string;
  readonly refs: readonly MirrorRef[];
}

export type MirrorSkipReason = 'not-git' | 'local-path' | 'no-reference' | 'unsafe-url';

export interface SkippedSource {
  readonly packageName: string;
  readonly version: string;
  readonly reason: MirrorSkipReason;
  /** `source.type` for `not-git` (hg, svn, fossil, perforce). */
  readonly sourceType: string;
}

/** The pure output of source planning; serialisable (`--dry-run --json`). */
export interface MirrorPlan {
  readonly cacheVcsDir: string;
  readonly tasks: readonly MirrorTask[];
  readonly skipped: readonly SkippedSource[];
}

export interface MirrorPlanOptions {
  /** Absolute `cache-vcs-dir`. */
  readonly cacheVcsDir: string;
  readonly noDev: boolean;
  readonly preferredInstall: PreferredInstall;
}

export { mirrorDirName };

/**
 * `Cache::isUsable` on the mirror folder, as `GitDownloader::doDownload` calls it: a `$null`, `nul`,
 * `NUL` or `/dev/null` segment means Composer keeps no mirrors and clones straight from the server.
 */
export function vcsCacheUsable(cacheVcsDir: string): boolean {
  return !/(?:^|[\\/])(?:\$null|nul|NUL|\/dev\/null)(?:[\\/]|$)/.test(`${cacheVcsDir}/`);
}

/** `Filesystem::isLocalPath`: `doDownload` makes no mirror of a repository already on disk. */
export function isLocalPath(url: string): boolean {
  return /^(?:file:\/\/(?!\/\/)|\/(?!\/)|\/?[a-z]:[\\/]|\.\.[\\/]|[a-z0-9_.-]+[\\/])/i.test(url);
}

/**
 * `Package::getSourceUrls` (`getUrls` with `$urlType = 'source'`): the URL, then each git mirror
 * from `ComposerMirror::processGitUrl`; a preferred mirror goes first. `VcsDownloader::download`
 * tries them in this order and stops at the first that works, so the first decides the folder.
 */
export function sourceUrls(name: string, source: LockedSource): string[] {
  const urls = [source.url];
  if (source.type.toLowerCase() !== 'git') return urls;
  for (const mirror of source.mirrors) {
    const url = processGitMirrorUrl(mirror.url, name, source.url, source.type);
    if (urls.includes(url)) continue;
    if (mirror.preferred) urls.unshift(url);
    else urls.push(url);
  }
  return urls;
}

/** `ComposerMirror::processGitUrl`. */
function processGitMirrorUrl(template: string, name: string, url: string, type: string): string {
  let normalized: string;
  const github = /^(?:(?:https?|git):\/\/github\.com\/|git@github\.com:)([^/]+)\/(.+?)(?:\.git)?$/.exec(url);
  const bitbucket = /^https:\/\/bitbucket\.org\/([^/]+)\/(.+?)(?:\.git)?\/?$/.exec(url);
  if (github) normalized = `gh-${github[1]}/${github[2]}`;
  else if (bitbucket) normalized = `bb-${bitbucket[1]}/${bitbucket[2]}`;
  else normalized = url.replace(/^\/+|\/+$/g, '').replace(/[^a-z0-9_.-]/gi, '-');
  return template.split('%package%').join(name).split('%normalizedUrl%').join(normalized).split('%type%').join(type);
}

/**
 * True when `composer install` takes this package from its source: it has no dist at all
 * (`DownloadManager::getAvailableSources` lists only `source`), or `preferred-install` picks the
 * source (`installsFromSource`). Metapackages are never downloaded (`getDownloaderForPackage`).
 */
export function installsFromMirror(pkg: LockedPackage, preferred: PreferredInstall): boolean {
  if (pkg.source === undefined || pkg.type.toLowerCase() === 'metapackage') return false;
  if (pkg.dist === undefined) return true;
  return installsFromSource(pkg, preferred);
}

/**
 * The git mirrors a later `composer install` would clone, one task per folder, in lock order.
 * Other VCS types, local repositories and sources without a reference are listed as skipped. Pure.
 */
export function planMirrors(inputs: readonly ParsedInput[], options: MirrorPlanOptions): MirrorPlan {
  const tasks = new Map<string, { url: string; dir: string; refs: MirrorRef[] }>();
  const skipped: SkippedSource[] = [];
  const seen = new Set<string>();
  for (const input of inputs) {
    for (const pkg of input.packages) {
      if (pkg.dev && options.noDev) continue;
      if (!installsFromMirror(pkg, options.preferredInstall)) continue;
      const source = pkg.source!;
      const packageName = pkg.name.toLowerCase();
      const key = `${packageName}\0${source.reference}\0${source.url}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const skip = (reason: MirrorSkipReason): void => void skipped.push({ packageName, version: pkg.version, reason, sourceType: source.type });
      // `DownloadManager::getDownloader` lowercases the type; only `GitDownloader` keeps a mirror we can fill.
      if (source.type.toLowerCase() !== 'git') {
        skip('not-git');
        continue;
      }
      // `VcsDownloader::download` throws "missing reference information" before any clone.
      if (source.reference === '') {
        skip('no-reference');
        continue;
      }
      const url = sourceUrls(pkg.name, source)[0]!;
      if (isLocalPath(url)) {
        skip('local-path');
        continue;
      }
      // A lock is untrusted input: a URL whose folder would be `.` or `..` (outside the mirrors), one git
      // would read as an option, or a helper transport (`ext::`, `fd::`) is never handed to git; nor
      // is a token in the query (`?access_token=`), which would sit on git's command line and which
      // git cannot clone anyway (it appends `/info/refs` after the query).
      if (/^\.*$/.test(mirrorDirName(url)) || url.startsWith('-') || /^[a-z][a-z0-9+.-]*::/i.test(url) || hasQueryToken(url)) {
        skip('unsafe-url');
        continue;
      }
      const dir = `${options.cacheVcsDir.replace(/[/\\]+$/, '')}/${mirrorDirName(url)}`;
      const task = tasks.get(dir) ?? { url, dir, refs: [] };
      tasks.set(dir, task);
      task.refs.push({ packageName, version: pkg.version, reference: source.reference, dev: pkg.dev, origin: pkg.origin });
    }
  }
  return { cacheVcsDir: options.cacheVcsDir, tasks: [...tasks.values()], skipped };
}

/**
 * The branch (or tag) name `Git::fetchRefOrSyncMirror` looks for once the reference is in the
 * mirror, or `undefined` when it checks none (the reference is not a 40-hex commit id). Composer
 * syncs the mirror (network) when neither `git branch` nor `git tag` lists it.
 */
export function checkedBranch(ref: Pick<MirrorRef, 'reference' | 'version'>): string | undefined {
  if (!/^[a-f0-9]{40}$/.test(ref.reference)) return undefined;
  return ref.version.replace(/^dev-|(?:\.x)?-dev$/gi, '');
}

/**
 * `Git::fetchRefOrSyncMirror`'s test on the output of `git branch` and `git tag`: true when
 * Composer would NOT sync again. A branch may carry a `v` the pretty version lost; a tag may not.
 */
export function branchOrTagListed(branch: string, branches: string, tags: string): boolean {
  const quoted = branch.replace(/[.*+?^${}()|[\]\\/#-]/g, '\\$&');
  return new RegExp(`^[\\s*]*v?${quoted}$`, 'm').test(branches) || new RegExp(`^[\\s*]*${quoted}$`, 'm').test(tags);
}
