import { createHash, randomBytes } from 'node:crypto';
import { type Dirent, readFileSync, readlinkSync } from 'node:fs';
import { lstat, readdir, rm } from 'node:fs/promises';
import { hostname } from 'node:os';
import { basename, dirname, join } from 'node:path';

/**
 * Our temp files live next to their target (same directory, so `rename` is atomic and never
 * crosses a filesystem) and are named `.<target basename>.<pid>-<12 hex>[.<8 hex owner>].cp-tmp`.
 * The leading dot and the suffix mean the name can never equal a Composer cache key
 * (`<40 hex>.<dist type>`), and globbing tools (fast-glob, Symfony Finder) skip dotfiles by default.
 *
 * The owner tag identifies the pid namespace the pid belongs to (hostname + boot id + pid
 * namespace inode, Linux only): a later run with the same tag can ask the kernel whether that
 * pid still lives, and remove the file at once when it does not (a run killed with SIGKILL).
 * A different tag (another host, container or boot sharing the cache) proves nothing, so
 * those files are left to the age-based rule.
 */
const TEMP_SUFFIX = '.cp-tmp';
const TEMP_NAME = /^\..+\.(\d+)-[0-9a-f]{12}(?:\.([0-9a-f]{8}))?\.cp-tmp$/;

let cachedOwnerTag: string | null | undefined;

/** Tag of this process's pid namespace, or null where we cannot tell one namespace from another. */
export function ownerTag(): string | null {
  if (cachedOwnerTag !== undefined) return cachedOwnerTag;
  try {
    const bootId = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    const pidNamespace = readlinkSync('/proc/self/ns/pid');
    cachedOwnerTag = createHash('sha1').update(`${hostname()}\0${bootId}\0${pidNamespace}`).digest('hex').slice(0, 8);
  } catch {
    cachedOwnerTag = null;
  }
  return cachedOwnerTag;
}

/**
 * `<prefix><pid>-<12 hex>[.<owner tag>]`: a unique name for something this run owns (a temp
 * file, aria2's staging dir) from which a later run can tell whether the owner is gone.
 */
export function ownedName(prefix: string): string {
  const tag = ownerTag();
  return `${prefix}${process.pid}-${randomBytes(6).toString('hex')}${tag === null ? '' : `.${tag}`}`;
}

/** A fresh, unique temp path in the same directory as `cachePath`. */
export function tempPathFor(cachePath: string): string {
  return join(dirname(cachePath), `${ownedName(`.${basename(cachePath)}.`)}${TEMP_SUFFIX}`);
}

/** True when `name` is a temp file of a process of this pid namespace that no longer exists. */
export function isProvablyDead(name: string): boolean {
  const match = TEMP_NAME.exec(name);
  return match !== null && isOwnerGone(Number(match[1]), match[2]);
}

/**
 * True when `pid`, tagged `tag` by `ownedName`, was a process of this pid namespace that no
 * longer exists. Without a tag, or with another namespace's tag, nothing is proven: false.
 */
export function isOwnerGone(pid: number, tag: string | undefined): boolean {
  const ours = ownerTag();
  if (tag === undefined || ours === null || tag !== ours) return false;
  if (pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return false; // alive (or a reused pid: keep it, the age rule will catch it)
  } catch (error) {
    // EPERM: the pid exists but is not ours to signal: alive.
    return isErrnoCode(error, 'ESRCH');
  }
}

/** True for a file name `tempPathFor` could have produced (and for nothing Composer writes). */
export function isTempFileName(name: string): boolean {
  return TEMP_NAME.test(name);
}

export interface CleanStaleTempFilesOptions {
  /** Only files whose mtime is at least this old are removed, so a concurrent run's live temp files survive. */
  readonly olderThanMs: number;
  /** Also remove younger files whose owner is provably dead (`isProvablyDead`). Default: false. */
  readonly removeDead?: boolean | undefined;
  /** Also descend into sub-directories (symlinks are never followed). Default: false. */
  readonly recursive?: boolean | undefined;
  /** Clock override for tests; defaults to `Date.now()`. */
  readonly now?: number | undefined;
}

/**
 * Removes our own stale temp files (leftovers of a run killed with SIGKILL) from `dir`.
 * Age is judged by mtime; a bare pid proves nothing (pids are reused, pid 1 in every container,
 * and mean nothing across hosts sharing a cache). Only with `removeDead` and a matching owner
 * tag is a younger file removed, when its pid is gone. Returns how many files were removed.
 * A missing `dir` counts as nothing to clean.
 */
export async function cleanStaleTempFiles(dir: string, options: CleanStaleTempFilesOptions): Promise<number> {
  const cutoff = (options.now ?? Date.now()) - options.olderThanMs;
  let entries: Dirent[];
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
      if (stats.mtimeMs > cutoff && !(options.removeDead === true && isProvablyDead(entry.name))) continue;
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
