import { mkdirSync, statSync, type Stats } from 'node:fs';
import path from 'node:path';

/**
 * `mkdir -p` without `{ recursive: true }`: Node 20's recursive mkdir never returns on some
 * filesystems (`/proc/nope/cache` spins at 100 % CPU, and the synchronous form blocks signal
 * handling too). The nearest existing ancestor is found with `stat`, then each missing level is
 * made with a plain `mkdir`, so a filesystem that refuses new directories fails on the first one.
 * Errors are Node's (ENOENT, ENOTDIR, EACCES, EROFS, …), naming the level that failed.
 * Synchronous: a few `stat`/`mkdir` calls, and the contained-dir walk must not yield between
 * making a level and checking it.
 */
export function makeDirectories(dir: string): void {
  const missing: string[] = [];
  for (let p = path.resolve(dir); ; p = path.dirname(p)) {
    let found: Stats | undefined;
    try {
      found = statSync(p);
    } catch (error) {
      found = absentOrThrow(error);
    }
    if (found !== undefined) {
      if (!found.isDirectory()) throw notADirectory(p);
      break;
    }
    missing.push(p);
    if (path.dirname(p) === p) break;
  }
  for (const p of missing.reverse()) {
    try {
      mkdirSync(p);
    } catch (error) {
      existedOrThrow(error);
    }
  }
}

/** ENOENT and ENOTDIR mean "not there yet" (a file further up is found as the walk goes on). */
function absentOrThrow(error: unknown): undefined {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
  throw error;
}

/** Another process made the level first: fine, as `mkdir -p`. */
function existedOrThrow(error: unknown): void {
  if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
}

function notADirectory(p: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`ENOTDIR: not a directory, mkdir '${p}'`), { code: 'ENOTDIR', path: p, syscall: 'mkdir' });
}
