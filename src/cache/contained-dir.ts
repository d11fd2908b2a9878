import { lstatSync, mkdirSync, realpathSync } from 'node:fs';
import { realpath, rmdir } from 'node:fs/promises';
import path from 'node:path';
import { PrefetchError } from '../errors.js';
import type { DownloadTask } from '../types.js';
import { makeDirectories } from './make-dirs.js';

/** The cache-files-dir a task's `cachePath` was built from (`cachePathFor`: `<root>/<cacheKey>`). */
export function cacheRootOf(task: Pick<DownloadTask, 'cachePath' | 'cacheKey'>): string {
  const suffix = `/${task.cacheKey}`;
  return task.cachePath.endsWith(suffix) ? task.cachePath.slice(0, -suffix.length) : path.dirname(path.dirname(task.cachePath));
}

function isInside(child: string, parent: string): boolean {
  const relative = path.relative(parent, child);
  return relative === '' || (!relative.startsWith('..') && !path.isAbsolute(relative));
}

function errnoCode(error: unknown): string | undefined {
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  return typeof code === 'string' ? code : undefined;
}

/** Root → its real path, as the last full walk found it (see the fast path below). */
const realRoots = new Map<string, string>();
/** Directories a walk proved inside their root in this process (see the fast path below). */
const walked = new Set<string>();

/**
 * Makes the directory that holds `cachePath`, one level at a time below `root`, and proves that
 * it resolves inside `root` (`realpath`). A symlink planted at `<cache>/files/<vendor>` would
 * otherwise send the temp file and the rename anywhere the link points; one that stays inside the
 * cache is fine, and so is a root that is itself a link (the user chose it). Call it before a temp
 * file is created there and again before the rename into place.
 *
 * The calls are synchronous: a handful of metadata syscalls on the cache's own filesystem cost
 * microseconds, less than one trip through libuv's thread pool and its promise each.
 *
 * @returns the directory's real path.
 * @throws PrefetchError E_CACHE naming the directory and where it leads.
 */
export async function ensureContainedDir(cachePath: string, root: string): Promise<string> {
  const target = path.dirname(cachePath);
  const relative = path.relative(root, target);
  if (relative.startsWith('..') || path.isAbsolute(relative)) throw outside(target, target, root);
  // Fast path, one call instead of 2 + 2 per level: when the directory already exists and its
  // real path is inside the root's, there is nothing to create and the walk below would prove
  // the same (a link at any level is resolved by `realpath`). Anything else — missing, a file in
  // the way, a link leading out — takes the walk, which creates, checks and names the culprit.
  // Twice per archive (before the temp file, before the rename), so this halves the fs calls.
  // The root's real path is remembered from this process's last walk of it (glibc's realpath
  // is one readlink per component, so this saves a dozen calls per archive).
  // Only for directories this process has walked before: on a cold cache the first call for a
  // package finds no directory, and a failing realpath (an error object) before the walk cost
  // more than the walk saves.
  const realRoot = realRoots.get(root);
  if (realRoot !== undefined && walked.has(target)) {
    let real: string | undefined;
    try {
      real = realpathSync.native(target);
    } catch {
      // Gone, a loop, no permission: the walk below finds out which, and says so.
    }
    if (real !== undefined && isInside(real, realRoot)) return real;
  }
  let current = root;
  try {
    // The root usually exists: resolve it first, make it only when missing.
    let realRoot = realpathOrUndefined(root);
    if (realRoot === undefined) {
      makeDirectories(root);
      realRoot = realpathSync.native(root);
    }
    realRoots.set(root, realRoot);
    let real = realRoot;
    for (const segment of relative === '' ? [] : relative.split(path.sep)) {
      current = path.join(current, segment);
      const stats = lstatSync(current, { throwIfNoEntry: false });
      // A plain directory (found, or made by us just now) inside a level already proven is
      // inside too, and its real path is the parent's plus its name: only links (and a level
      // another process made first) need `realpath`, one readlink per component.
      let plain = stats?.isDirectory() === true;
      if (stats === undefined) {
        // Not recursive: each level is created, then checked, by us.
        plain = makeDir(current);
      } else if (!stats.isDirectory() && !stats.isSymbolicLink()) {
        throw new PrefetchError('E_CACHE', `cannot write into ${current}: it is not a directory`, {
          hint: 'Something other than Composer wrote into its cache; remove that file.',
        });
      }
      real = plain ? path.join(real, segment) : realpathSync.native(current);
      if (!isInside(real, realRoot)) throw outside(current, real, root);
    }
    walked.add(target);
    return real;
  } catch (error) {
    if (error instanceof PrefetchError) throw error;
    // A link to nowhere, a file in the way, no permission: a cache problem, named by its path.
    const detail = error instanceof Error ? error.message : String(error);
    throw new PrefetchError('E_CACHE', `cannot prepare ${current} in the cache: ${detail}`, { cause: error });
  }
}

/** The real path of `p`, or undefined when it does not exist (any other error is thrown). */
function realpathOrUndefined(p: string): string | undefined {
  try {
    return realpathSync.native(p);
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return undefined;
    throw error;
  }
}

/** `mkdir` of one level: true when this call made it, false when it already existed. */
function makeDir(dir: string): boolean {
  try {
    mkdirSync(dir);
    return true;
  } catch (error) {
    if (errnoCode(error) !== 'EEXIST') throw error;
    return false;
  }
}

/**
 * Removes the folders `ensureContainedDir` made for `cachePath` when they are empty, deepest
 * first, never `root` itself: an interrupted download must not leave `<vendor>/<name>/` behind.
 * `rmdir` only removes an empty folder, so one holding another archive (or a temp file of a
 * concurrent run) stays; every error just ends the walk.
 */
export async function removeEmptyDirs(cachePath: string, root: string): Promise<void> {
  for (let dir = path.dirname(cachePath); isInside(dir, root) && path.relative(root, dir) !== ''; dir = path.dirname(dir)) {
    try {
      await rmdir(dir);
    } catch {
      return;
    }
    walked.delete(dir);
  }
}

/** Whether `dir` exists and resolves inside `root` (read-only; false when either is missing). */
export async function resolvesInside(dir: string, root: string): Promise<boolean> {
  try {
    return isInside(await realpath(dir), await realpath(root));
  } catch {
    return false;
  }
}

function outside(dir: string, real: string, root: string): PrefetchError {
  return new PrefetchError('E_CACHE', `refusing to write through ${dir}: it leads to ${real}, outside the cache ${root}`, {
    hint: 'A symlink inside the cache points elsewhere; remove it (Composer would follow it too), or set --cache-dir / COMPOSER_CACHE_DIR to the real location.',
  });
}
