import { randomBytes } from 'node:crypto';
import { lstat, readdir, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/**
 * Our temp files live next to their target (same directory, so `rename` is atomic and never
 * crosses a filesystem) and are named `.<target basename>.<pid>-<12 hex>.cp-tmp`.
 * The leading dot and the suffix mean the name can never equal a Composer cache key
 * (`<40 hex>.<dist type>`), and globbing tools (fast-glob, Symfony Finder) skip dotfiles by default.
 */
const TEMP_SUFFIX = '.cp-tmp';
const TEMP_NAME = /^\..+\.\d+-[0-9a-f]{12}\.cp-tmp$/;

/** A fresh, unique temp path in the same directory as `cachePath`. */
export function tempPathFor(cachePath: string): string {
  const name = `.${basename(cachePath)}.${process.pid}-${randomBytes(6).toString('hex')}${TEMP_SUFFIX}`;
  return join(dirname(cachePath), name);
}

/** True for a file name `tempPathFor` could have produced (and for nothing Composer writes). */
export function isTempFileName(name: string): boolean {
  return TEMP_NAME.test(name);
}

export interface CleanStaleTempFilesOptions {
  /** Only files whose mtime is at least this old are removed, so a concurrent run's live temp files survive. */
  readonly olderThanMs: number;
  /** Also descend into sub-directories (symlinks are never followed). Default: false. */
  readonly recursive?: boolean | undefined;
  /** Clock override for tests; defaults to `Date.now()`. */
  readonly now?: number | undefined;
}

/**
 * Removes our own stale temp files (leftovers of a run killed with SIGKILL) from `dir`.
 * Age is judged by mtime only, not by the pid in the name: pids are reused (pid 1 in every
 * container) and mean nothing across hosts sharing a cache. Returns how many files were removed.
 * A missing `dir` counts as nothing to clean.
 */
export async function cleanStaleTempFiles(dir: string, options: CleanStaleTempFilesOptions): Promise<number> {
  const cutoff = (options.now ?? Date.now()) - options.olderThanMs;
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (error) {
    if (isErrnoCode(error, 'ENOENT') || isErrnoCode(error, 'ENOTDIR')) return 0;
    throw error;
  }
  let removed = 0;
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (options.recursive === true) removed += await cleanStaleTempFiles(path, options);
      continue;
    }
    if (!entry.isFile() || !isTempFileName(entry.name)) continue;
    try {
      const stats = await lstat(path);
      if (stats.mtimeMs > cutoff) continue;
      await rm(path, { force: true });
      removed += 1;
    } catch (error) {
      // Another run may have renamed or removed it between readdir and here.
      if (!isErrnoCode(error, 'ENOENT')) throw error;
    }
  }
  return removed;
}

/** Best-effort delete, for cleanup paths where a second error would only hide the first. */
export async function removeQuietly(path: string): Promise<void> {
  try {
    await rm(path, { force: true });
  } catch {
    // Nothing useful to do: the caller is already reporting a more relevant error.
  }
}

function isErrnoCode(error: unknown, code: string): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === code;
}
