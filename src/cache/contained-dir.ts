import { lstat, mkdir, realpath } from 'node:fs/promises';
import path from 'node:path';
import { PrefetchError } from '../errors.js';
import type { DownloadTask } from '../types.js';

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

/**
 * Makes the directory that holds `cachePath`, one level at a time below `root`, and proves that
 * it resolves inside `root` (`realpath`). A symlink planted at `<cache>/files/<vendor>` would
 * otherwise send the temp file and the rename anywhere the link points; one that stays inside the
 * cache is fine, and so is a root that is itself a link (the user chose it). Call it before a temp
 * file is created there and again before the rename into place.
 *
 * @returns the directory's real path.
 * @throws PrefetchError E_CACHE naming the directory and where it leads.
 */
export async function ensureContainedDir(cachePath: string, root: string): Promise<string> {
  const target = path.dirname(cachePath);
  const relative = path.relative(root, target);
  if (relative.startsWith('..') || path.isAbsolute(relative)) throw outside(target, target, root);
  let current = root;
  try {
    await mkdir(root, { recursive: true });
    const realRoot = await realpath(root);
    let real = realRoot;
    for (const segment of relative === '' ? [] : relative.split(path.sep)) {
      current = path.join(current, segment);
      const stats = await lstat(current).catch((error: unknown) => {
        if (errnoCode(error) === 'ENOENT') return undefined;
        throw error;
      });
      if (stats === undefined) {
        // Not recursive: each level is created, then checked, by us.
        await mkdir(current).catch((error: unknown) => {
          if (errnoCode(error) !== 'EEXIST') throw error;
        });
      } else if (!stats.isDirectory() && !stats.isSymbolicLink()) {
        throw new PrefetchError('E_CACHE', `cannot write into ${current}: it is not a directory`, { hint: 'Something other than Composer wrote into its cache; remove that file.' });
      }
      real = await realpath(current);
      if (!isInside(real, realRoot)) throw outside(current, real, root);
    }
    return real;
  } catch (error) {
    if (error instanceof PrefetchError) throw error;
    // A link to nowhere, a file in the way, no permission: a cache problem, named by its path.
    const detail = error instanceof Error ? error.message : String(error);
    throw new PrefetchError('E_CACHE', `cannot prepare ${current} in the cache: ${detail}`, { cause: error });
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
