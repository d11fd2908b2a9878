import { type Dirent, readdirSync, statSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import pLimit from 'p-limit';
import type { Plan } from '../types.js';
import { formatBytes } from '../bytes.js';

/** Composer's size GC compared with what this run leaves in the cache (`Cache::gc`: least recently used files go once the dir passes `cache-files-maxsize`). */
export interface CacheSizeCheck {
  /** `cache-files-maxsize` in bytes. */
  readonly maxsize: number;
  /** Bytes of this plan's archives now in the cache. */
  readonly planBytes: number;
  /** Bytes of the whole cache-files-dir, this plan included: what Composer's GC measures. */
  readonly cacheBytes: number;
  /** GC would evict files (possibly this plan's) the next time it runs. */
  readonly overLimit: boolean;
  /** A value for `composer config -g cache-files-maxsize` that fits with room to grow; null unless `overLimit`. */
  readonly suggestedMaxsize: string | null;
}

/** Walking a pathological cache must not take longer than the prefetch did. */
const MAX_ENTRIES = 500_000;

/**
 * Bytes of every regular file under `dir` (links not followed), and of those in `unseen`, which
 * loses each of them as it is counted.
 * Synchronous listing and stat calls, with a turn of the event loop every few directories:
 * through libuv's pool, one round trip per directory and per file, 50,000 archives in 50,000
 * package directories took 9 s of mostly waiting (bench/RESULTS.md, bench/scale.js). No path
 * is kept: a map of 50,000 joined paths was ~8 MB of peak heap.
 */
async function directoryBytes(dir: string, unseen: Set<string>, signal: AbortSignal | undefined): Promise<{ total: number; planBytes: number }> {
  let total = 0;
  let planBytes = 0;
  let seen = 0;
  let dirs = 0;
  const stack = [dir];
  // A signal stops the walk (the measure is advice; the run is ending).
  while (stack.length > 0 && seen < MAX_ENTRIES && signal?.aborted !== true) {
    const current = stack.pop()!;
    if (++dirs % 64 === 0) await new Promise<void>((resolve) => setImmediate(resolve));
    let entries: Dirent[];
    try {
      entries = readdirSync(current, { withFileTypes: true });
    } catch {
      continue;
    }
    for (const entry of entries) {
      seen++;
      const full = path.join(current, entry.name);
      if (entry.isDirectory()) stack.push(full);
      else if (entry.isFile()) {
        let size: number;
        try {
          size = statSync(full).size;
        } catch {
          continue; // gone, or not ours to read: not counted, as before
        }
        total += size;
        if (unseen.delete(full)) planBytes += size;
      }
    }
  }
  return { total, planBytes };
}

/** Next power of two in GiB at least 1.5× the need, so a growing lock does not hit the limit next week. */
export function suggestMaxsize(bytes: number): string {
  let gib = 1;
  while (gib * 1024 ** 3 < bytes * 1.5) gib *= 2;
  return `${gib}GiB`;
}

export async function checkCacheSize(plan: Plan, maxsize: number, signal?: AbortSignal): Promise<CacheSizeCheck> {
  const unseen = new Set(plan.tasks.map((t) => t.cachePath));
  const walked = await directoryBytes(plan.cacheFilesDir, unseen, signal);
  let planBytes = walked.planBytes;
  // Archives the walk did not reach (another project's cache dir, or past MAX_ENTRIES): one stat each.
  const limit = pLimit(64);
  const rest = await Promise.all([...unseen].map((p) => limit(async () => (await stat(p).catch(() => undefined))?.size ?? 0)));
  for (const size of rest) planBytes += size;
  const cacheBytes = Math.max(planBytes, walked.total);
  const overLimit = cacheBytes > maxsize;
  // Only a cache over the limit needs a new one: a suggestion beside `overLimit: false` reads as advice to act.
  return { maxsize, planBytes, cacheBytes, overLimit, suggestedMaxsize: overLimit ? suggestMaxsize(cacheBytes) : null };
}

/**
 * The warning, with the command that raises the limit where it is set: a project composer.json
 * value beats the global one (`Config::merge`), so raising the global one would change nothing.
 */
export function formatCacheSizeWarning(check: CacheSizeCheck, scope: 'project' | 'global' | 'default' = 'default'): string {
  const value = check.suggestedMaxsize ?? suggestMaxsize(check.cacheBytes);
  const command =
    scope === 'project'
      ? `composer config cache-files-maxsize ${value}   (in the project: its composer.json sets the limit)`
      : `composer config -g cache-files-maxsize ${value}`;
  return (
    `Composer's cache now holds ${formatBytes(check.cacheBytes)} (this lock: ${formatBytes(check.planBytes)}), more than cache-files-maxsize ` +
    `(${formatBytes(check.maxsize)}). Composer's cache GC runs on about 1 in 50 Composer runs and would then delete the least recently used ` +
    `archives, possibly ones this run fetched. Raise the limit:\n    ${command}`
  );
}
