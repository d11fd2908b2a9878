import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import pLimit from 'p-limit';
import type { DownloadTask } from '../types.js';
import { isTempFileName } from './temp-files.js';

/**
 * A size estimate per task from the cache itself: the largest archive of the same package and
 * type already there (older versions, kept by a CI cache). Nothing is known on a cold cache,
 * and then nothing changes. Only reads directory listings and sizes.
 */
export async function sizeHints(tasks: readonly DownloadTask[]): Promise<Map<DownloadTask, number>> {
  const limit = pLimit(16);
  const byDir = new Map<string, Promise<Map<string, number>>>();
  const largestByType = (dir: string): Promise<Map<string, number>> => {
    let pending = byDir.get(dir);
    if (pending === undefined) {
      pending = limit(() => largestArchives(dir));
      byDir.set(dir, pending);
    }
    return pending;
  };
  const hints = new Map<DownloadTask, number>();
  await Promise.all(
    tasks.map(async (task) => {
      const size = (await largestByType(path.dirname(task.cachePath))).get(task.distType);
      if (size !== undefined) hints.set(task, size);
    }),
  );
  return hints;
}

async function largestArchives(dir: string): Promise<Map<string, number>> {
  const largest = new Map<string, number>();
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  await Promise.all(
    entries.map(async (entry) => {
      if (!entry.isFile() || isTempFileName(entry.name)) return;
      const type = /^[0-9a-f]{40}\.(.+)$/.exec(entry.name)?.[1];
      if (type === undefined) return;
      const size = await stat(path.join(dir, entry.name)).then(
        (s) => s.size,
        () => undefined,
      );
      if (size !== undefined && size > (largest.get(type) ?? -1)) largest.set(type, size);
    }),
  );
  return largest;
}

/**
 * Start order (pure): archives expected to be at least `bigBytes` go first, largest first, so
 * they are split into segments while the many small ones fill the remaining slots; nothing ends
 * up waiting behind one long transfer at the end of the run. Everything else keeps the lock's order.
 */
export function orderLargestFirst<T extends DownloadTask>(tasks: readonly T[], hints: ReadonlyMap<DownloadTask, number>, bigBytes: number): T[] {
  const big = tasks.filter((t) => (hints.get(t) ?? 0) >= bigBytes).sort((a, b) => hints.get(b)! - hints.get(a)!);
  if (big.length === 0) return [...tasks];
  const bigSet = new Set(big);
  return [...big, ...tasks.filter((t) => !bigSet.has(t))];
}
