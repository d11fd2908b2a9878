import type { PrefetchEvent } from './types.js';

export interface Transfer {
  readonly packageName: string;
  readonly version: string;
  readonly bytes: number;
  readonly total: number | undefined;
}

export interface ProgressSnapshot {
  /** Archives in the plan. */
  readonly total: number;
  /** Downloaded + cached + failed so far. */
  readonly finished: number;
  readonly downloaded: number;
  readonly cached: number;
  readonly failed: number;
  readonly retries: number;
  /** Bytes received so far, transfers in flight included. */
  readonly bytes: number;
  /** Over the last few seconds. */
  readonly bytesPerSecond: number;
  /** From the pace of finished downloads; undefined until there is a pace to go by. */
  readonly etaMs: number | undefined;
  /** Largest first. */
  readonly inFlight: readonly Transfer[];
}

export interface ProgressState {
  handle(event: PrefetchEvent): void;
  snapshot(): ProgressSnapshot;
}

const SPEED_WINDOW_MS = 5_000;

/** The counters both human reporters draw from; pure apart from the injected clock. */
export function createProgressState(now: () => number = Date.now): ProgressState {
  let total = 0;
  let downloaded = 0;
  let cached = 0;
  let failed = 0;
  let retries = 0;
  let completedBytes = 0;
  let firstStart: number | undefined;
  const inFlight = new Map<string, Transfer>();
  const samples: { t: number; bytes: number }[] = [];

  const currentBytes = (): number => {
    let sum = completedBytes;
    for (const t of inFlight.values()) sum += t.bytes;
    return sum;
  };
  const sample = (): void => {
    const t = now();
    samples.push({ t, bytes: currentBytes() });
    while (samples.length > 2 && samples[0]!.t < t - SPEED_WINDOW_MS) samples.shift();
  };

  return {
    handle(event) {
      switch (event.type) {
        case 'planned':
          total = event.plan.tasks.length;
          break;
        case 'started':
          firstStart ??= now();
          inFlight.set(event.task.cacheKey, { packageName: event.task.packageName, version: event.task.version, bytes: 0, total: undefined });
          sample();
          break;
        case 'progress': {
          const { task } = event;
          inFlight.set(task.cacheKey, { packageName: task.packageName, version: task.version, bytes: event.bytes, total: event.total });
          sample();
          break;
        }
        case 'retried':
          retries++;
          inFlight.delete(event.task.cacheKey);
          break;
        case 'done':
          inFlight.delete(event.task.cacheKey);
          if (event.result === 'cached') cached++;
          else {
            downloaded++;
            completedBytes += event.bytes;
          }
          sample();
          break;
        case 'failed':
          inFlight.delete(event.task.cacheKey);
          failed++;
          break;
        default:
          break;
      }
    },
    snapshot() {
      const t = now();
      const bytes = currentBytes();
      const oldest = samples.find((s) => s.t >= t - SPEED_WINDOW_MS) ?? samples[0];
      const span = oldest ? t - oldest.t : 0;
      const bytesPerSecond = oldest && span > 0 ? Math.max(0, ((bytes - oldest.bytes) * 1000) / span) : 0;
      const finished = downloaded + cached + failed;
      // Cached archives finish at once; only the ones that needed the network set the pace.
      const paced = downloaded + failed;
      const remaining = total - finished;
      const etaMs = firstStart !== undefined && paced > 0 && remaining > 0 ? ((t - firstStart) / paced) * remaining : remaining === 0 ? 0 : undefined;
      return {
        total,
        finished,
        downloaded,
        cached,
        failed,
        retries,
        bytes,
        bytesPerSecond,
        etaMs,
        inFlight: [...inFlight.values()].sort((a, b) => (b.total ?? b.bytes) - (a.total ?? a.bytes)),
      };
    },
  };
}
