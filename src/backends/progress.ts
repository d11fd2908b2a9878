import type { DownloadTask, FetchContext } from '../types.js';

/** How often a transfer reports its bytes: often enough for a moving bar, rare enough to cost nothing next to the I/O. */
const PROGRESS_INTERVAL_MS = 200;

/**
 * A `progress` emitter for one transfer that speaks at most every `PROGRESS_INTERVAL_MS`;
 * `final` always speaks (the last count must reach the reporters).
 */
export function progressReporter(task: DownloadTask, ctx: Pick<FetchContext, 'emit'>): (bytes: number, total: number | undefined, final?: boolean) => void {
  let last = 0;
  return (bytes, total, final = false) => {
    const now = Date.now();
    if (!final && now - last < PROGRESS_INTERVAL_MS) return;
    last = now;
    ctx.emit({ type: 'progress', task, bytes, total });
  };
}
