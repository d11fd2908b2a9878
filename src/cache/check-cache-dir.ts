import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import path from 'node:path';
import { PrefetchError } from '../errors.js';
import { makeDirectories } from './make-dirs.js';

/**
 * Makes sure `dir` (Composer's cache-files-dir) exists or can be created, is a directory and is
 * writable, once, before any download: otherwise every package would fail with the same error.
 * `source` says where the directory came from (`--cache-dir`, COMPOSER_CACHE_DIR, a config file).
 *
 * @throws PrefetchError E_CACHE naming the directory, the cause and the options that move it.
 */
export async function assertUsableCacheDir(dir: string, source: string): Promise<void> {
  const reason = await unusableReason(dir);
  if (reason === undefined) return;
  throw new PrefetchError('E_CACHE', `The cache directory ${dir} is not usable: ${reason}`, {
    hint: `Point --cache-dir (or COMPOSER_CACHE_DIR) at a writable directory; this one comes from ${source}.`,
  });
}

async function unusableReason(dir: string): Promise<string | undefined> {
  try {
    makeDirectories(dir);
  } catch (error) {
    // mkdir names the first component it failed on, and on a read-only filesystem often says
    // ENOENT: the nearest existing ancestor tells the real cause.
    return (await ancestorReason(dir)) ?? mkdirText(error);
  }
  const stats = await stat(dir).catch(() => undefined);
  if (stats === undefined || !stats.isDirectory()) return `${dir} is not a directory`;
  try {
    await access(dir, constants.W_OK | constants.X_OK);
  } catch (error) {
    return accessText(dir, error);
  }
  return undefined;
}

async function ancestorReason(dir: string): Promise<string | undefined> {
  for (let p = dir; ; p = path.dirname(p)) {
    // EACCES: a parent we may not search (another user's 0700 dir); that parent says why.
    const stats = await stat(p).catch((error: NodeJS.ErrnoException) => (['ENOENT', 'ENOTDIR', 'EACCES'].includes(error.code ?? '') ? undefined : null));
    if (stats === null) return undefined;
    if (stats !== undefined) {
      if (!stats.isDirectory()) return `${p} is a file, not a directory`;
      try {
        await access(p, constants.W_OK | constants.X_OK);
      } catch (error) {
        return accessText(p, error);
      }
      return undefined;
    }
    if (path.dirname(p) === p) return undefined;
  }
}

function accessText(p: string, error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'EROFS') return `${p} is on a read-only filesystem`;
  if (code === 'EACCES' || code === 'EPERM') return `${p} is not writable by this user (permission denied)`;
  return errorText(error);
}

/** A level that could not be made although its parent is a writable directory (procfs, sysfs, …). */
function mkdirText(error: unknown): string {
  const { code, path: level } = error as NodeJS.ErrnoException;
  if (level !== undefined && (code === 'ENOENT' || code === 'EPERM' || code === 'ENOSYS')) {
    return `cannot create ${level}: the filesystem there does not allow new directories (${code})`;
  }
  return errorText(error);
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
