import { statSync } from 'node:fs';
import { open, rename, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { StagedFile } from '../types.js';
import { PrefetchError } from '../errors.js';
import type { DownloadTask } from '../types.js';
import { ArchiveValidationError, DEFAULT_VERIFY_LEVEL } from '../verify/archive.js';
import { checkInProcess } from '../verify/check-pool.js';
import { sha1File } from '../verify/sha1.js';
import { verifyDownload, type VerifiedDownload, type VerifyOptions } from '../verify/verify-download.js';
import { cacheRootOf, ensureContainedDir } from './contained-dir.js';
import { makeDirectories } from './make-dirs.js';
import { removeQuietly } from './temp-files.js';

/**
 * Moves a verified staged file to `cachePath` atomically: the path holds either the old file,
 * nothing, or the complete new file, never a partial one (a partial file at a cache key breaks
 * the next `composer install`: `FileDownloader::download` trusts any file at the key when the lock has no shasum). `stagedPath` must be on the same
 * filesystem, ideally from `tempPathFor(cachePath)`.
 *
 * mtime and atime are set to now *before* the rename, so the file never appears with an old
 * mtime that Composer's TTL GC would delete (`Cache::gc` compares mtimes with `cache-files-ttl`). Directories get the default mode (0777 minus
 * umask), so the user running Composer can write there too.
 *
 * With `root` (the cache-files-dir), the target directory must resolve inside it (`ensureContainedDir`).
 *
 * @throws PrefetchError E_CACHE naming the path; the staged file is removed in that case.
 */
export async function commitToCache(stagedPath: string, cachePath: string, root?: string, durable = false): Promise<void> {
  try {
    // With the cache root known, the directory must resolve inside it (a planted symlink must not redirect the rename).
    if (root === undefined) makeDirectories(dirname(cachePath));
    else await ensureContainedDir(cachePath, root);
    // Times set and fsync before rename — otherwise a crash can leave the new name pointing at
    // unwritten blocks. `durable`: the backend did both on its still-open handle (`makeDurable`).
    if (!durable) {
      const handle = await open(stagedPath, 'r+');
      try {
        await makeDurable(handle);
      } finally {
        await handle.close();
      }
    }
    await rename(stagedPath, cachePath);
  } catch (error) {
    await removeQuietly(stagedPath);
    if (error instanceof PrefetchError) throw error;
    const detail = error instanceof Error ? error.message : String(error);
    throw new PrefetchError('E_CACHE', `cannot write ${cachePath}: ${detail}`, {
      cause: error,
      hint: 'Check that the Composer cache directory is writable and that staging is on the same filesystem.',
    });
  }
}

/**
 * Sets a staged file's mtime and atime to now (futimens) and fsyncs it, through a handle that is
 * open anyway: a backend calls it after the last byte is written and before `close()`, and marks
 * the staged file `durable`, which saves `commitToCache` an open, a close and a thread-pool round
 * trip per archive. The mtime is then the end of the download rather than the commit, moments
 * earlier, which is as good for Composer's TTL GC (`Cache::gc`, by mtime).
 */
export async function makeDurable(handle: FileHandle): Promise<void> {
  const now = new Date();
  await handle.utimes(now, now);
  await handle.sync();
}

/**
 * Verifies a staged download and commits it to `task.cachePath`; the staged file is removed
 * whatever happens, so a failed verification leaves nothing behind. Fits `FetchContext.accept`.
 */
export async function acceptIntoCache(task: DownloadTask, staged: StagedFile, options: VerifyOptions = {}): Promise<VerifiedDownload> {
  let verified: VerifiedDownload;
  try {
    verified = await verifyDownload(task, staged, options);
  } catch (error) {
    await removeQuietly(staged.path);
    throw error;
  }
  await commitToCache(staged.path, task.cachePath, cacheRootOf(task), staged.durable === true);
  return verified;
}

/** What `inspectCachedArchive` found; `reason` (for people) says why an archive is invalid. */
export interface CachedArchiveState {
  readonly state: 'valid' | 'missing' | 'invalid';
  readonly reason?: string;
}

/**
 * State of the file Composer would use for this task: `valid` when it exists and its sha1
 * matches the lock's shasum (or, without one, the archive passes at `options.level`, `deep` by
 * default), `invalid` when it exists but would fail, `missing` otherwise. Read-only: nothing is
 * touched or removed.
 *
 * @throws PrefetchError E_CACHE when the file exists but cannot be read.
 */
export async function isCachedAndValid(task: DownloadTask, options: VerifyOptions = {}): Promise<'valid' | 'missing' | 'invalid'> {
  return (await inspectCachedArchive(task, options)).state;
}

/** `isCachedAndValid`, with the reason when the archive is invalid. */
export async function inspectCachedArchive(task: DownloadTask, options: VerifyOptions = {}): Promise<CachedArchiveState> {
  try {
    // Synchronous: an async stat's round trip through libuv's pool cost more than the stat
    // (50,000 cached archives: ~1 s of main-thread time, bench/RESULTS.md); this is one lookup.
    // A missing file is the common answer on a cold cache: no error object (and its stack) for it.
    const stats = statSync(task.cachePath, { throwIfNoEntry: false });
    if (stats === undefined) return { state: 'missing' };
    if (!stats.isFile()) return { state: 'invalid', reason: 'not a regular file' };
    if (task.expectedSha1 !== undefined) {
      const actual = await sha1File(task.cachePath);
      return actual === task.expectedSha1 ? { state: 'valid' } : { state: 'invalid', reason: `sha1 ${actual}, the lock says ${task.expectedSha1}` };
    }
    await (options.check ?? checkInProcess)(task.cachePath, task.distType, options.level ?? DEFAULT_VERIFY_LEVEL);
    return { state: 'valid' };
  } catch (error) {
    if (error instanceof ArchiveValidationError) return { state: 'invalid', reason: error.reason };
    const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
    if (code === 'ENOENT' || code === 'ENOTDIR') return { state: 'missing' };
    const detail = error instanceof Error ? error.message : String(error);
    throw new PrefetchError('E_CACHE', `cannot read ${task.cachePath}: ${detail}`, { cause: error, packageName: task.packageName });
  }
}
