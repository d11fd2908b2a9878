import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Plan } from '../types.js';
import { formatBytes } from './format.js';

/** Composer's size GC compared with what this run leaves in the cache (composer-cache.md §5). */
export interface CacheSizeCheck {
  /** `cache-files-maxsize` in bytes. */
  readonly maxsize: number;
  /** Bytes of this plan's archives now in the cache. */
  readonly planBytes: number;
  /** Bytes of the whole cache-files-dir, this plan included: what Composer's GC measures. */
  readonly cacheBytes: number;
  /** GC would evict files (possibly this plan's) the next time it runs. */
  readonly overLimit: boolean;
  /** A value for `composer config -g cache-files-maxsize` that fits with room to grow. */
  readonly suggestedMaxsize: string;
}

/** Walking a pathological cache must not take longer than the prefetch did. */
const MAX_ENTRIES = 500_000;

async function directoryBytes(dir: string): Promise<number> {
  let total = 0;
  let seen = 0;
  const stack = [dir];
  while (stack.length > 0 && seen < MAX_ENTRIES) {
    const current = stack.pop()!;
    let entries;
    try {
      entries = await readdir(current, { withFileTypes: true });
    } catch {
      continue;
    }
    for (const entry of entries) {
      seen++;
      const full = path.join(current, entry.name);
      if (entry.isDirectory()) stack.push(full);
      else if (entry.isFile()) total += (await stat(full).catch(() => undefined))?.size ?? 0;
    }
  }
  return total;
}

/** Next power of two in GiB at least 1.5× the need, so a growing lock does not hit the limit next week. */
export function suggestMaxsize(bytes: number): string {
  let gib = 1;
  while (gib * 1024 ** 3 < bytes * 1.5) gib *= 2;
  return `${gib}GiB`;
}

export async function checkCacheSize(plan: Plan, maxsize: number): Promise<CacheSizeCheck> {
  const sizes = await Promise.all(plan.tasks.map(async (t) => (await stat(t.cachePath).catch(() => undefined))?.size ?? 0));
  const planBytes = sizes.reduce((a, b) => a + b, 0);
  const cacheBytes = Math.max(planBytes, await directoryBytes(plan.cacheFilesDir));
  return { maxsize, planBytes, cacheBytes, overLimit: cacheBytes > maxsize, suggestedMaxsize: suggestMaxsize(cacheBytes) };
}

export function formatCacheSizeWarning(check: CacheSizeCheck): string {
  return (
    `Composer's cache now holds ${formatBytes(check.cacheBytes)} (this lock: ${formatBytes(check.planBytes)}), more than cache-files-maxsize ` +
    `(${formatBytes(check.maxsize)}). Composer's cache GC runs on about 1 in 50 Composer runs and would then delete the least recently used ` +
    `archives, possibly ones this run fetched. Raise the limit:\n    composer config -g cache-files-maxsize ${check.suggestedMaxsize}`
  );
}
