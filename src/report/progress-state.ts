import type { PrefetchEvent } from '../types.js';

export interface Transfer {
  readonly packageName: string;
  readonly version: string;
  readonly bytes: number;
  readonly total: number | undefined;
  /** A git clone or update (no byte counts while it runs), not an archive. */
  readonly vcs?: 'git';
}

/** The git mirror packages of the run (`mirrors` event), counted apart from the archives. */
export interface GitProgress {
  readonly total: number;
  /** Done (cloned, updated or already complete) + failed so far. */
  readonly finished: number;
  readonly failed: number;
}

export interface ProgressSnapshot {
  /** Archives in the plan. */
  readonly total: number;
  /** Archives downloaded + cached + failed so far. */
  readonly finished: number;
  readonly downloaded: number;
  readonly cached: number;
  /** Failed packages: archives and git mirrors. */
  readonly failed: number;
  /** Packages installed from git, once the source stage announced them (absent in a hand-made snapshot). */
  readonly git?: GitProgress;
  /** Left undone by an interrupt: neither finished nor failed. */
  readonly unfinished: number;
  readonly retries: number;
  /** Bytes received so far, transfers in flight included. */
  readonly bytes: number;
  /** Over the last few seconds. */
  readonly bytesPerSecond: number;
  /**
   * Archive bytes still to come over the current speed (undefined while only git mirrors remain:
   * git tells no sizes ahead). Sizes come from Content-Length, then the cache's
   * size hints, then the mean of the known sizes; undefined until a size and a speed are known.
   */
  readonly etaMs: number | undefined;
  /**
   * Bytes received / (received + still to come), once every open archive's size is known (from
   * Content-Length or the cache's size hints); undefined before. The bar draws this rather than
   * the archive count: the last three archives of a lock can be a third of its bytes.
   */
  readonly byteFraction: number | undefined;
  /**
   * Every byte received, including those of transfers an interrupt or a retry threw away: what
   * the bar counted, so a summary can say the same number.
   */
  readonly received: number;
  /** From the first transfer's start to the last byte received (0 before): the time `received` took. */
  readonly transferMs: number;
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
  let gitTotal = 0;
  let gitDone = 0;
  let gitFailed = 0;
  let unfinished = 0;
  let retries = 0;
  let completedBytes = 0;
  let firstStart: number | undefined;
  let lastByteAt: number | undefined;
  /** Bytes of transfers dropped unfinished (a retry, an interrupt, a failure), still part of `received`. */
  let droppedBytes = 0;
  const inFlight = new Map<string, Transfer>();
  const samples: { t: number; bytes: number }[] = [];
  /** Cache keys not yet finished, and the size each is expected to have when one is known. */
  const open = new Map<string, number | undefined>();
  const hints = new Map<string, number>();
  /** Sizes of finished downloads, for the mean that stands in for unknown sizes. */
  let knownBytes = 0;
  let knownCount = 0;

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
  const finish = (key: string): void => {
    open.delete(key);
    inFlight.delete(key);
  };
  /** A transfer that ends without landing: its bytes were received all the same. */
  const drop = (key: string): void => {
    droppedBytes += inFlight.get(key)?.bytes ?? 0;
  };

  /** Sizes still unknown among the open archives. */
  const unknownSizes = (): number => {
    let n = 0;
    for (const [key, expected] of open) if ((expected ?? hints.get(key)) === undefined) n++;
    return n;
  };

  /** Bytes still to receive, or undefined while no size at all is known. */
  const remainingBytes = (): number | undefined => {
    let known = 0;
    let unknown = 0;
    let sizes = knownBytes;
    let count = knownCount;
    for (const [key, expected] of open) {
      const size = expected ?? hints.get(key);
      if (size === undefined) unknown++;
      else {
        sizes += size;
        count++;
        known += Math.max(0, size - (inFlight.get(key)?.bytes ?? 0));
      }
    }
    if (unknown === 0) return known;
    if (count === 0) return undefined;
    return known + unknown * (sizes / count);
  };

  return {
    handle(event) {
      switch (event.type) {
        case 'planned':
          total = event.plan.tasks.length;
          for (const task of event.plan.tasks) open.set(task.cacheKey, undefined);
          break;
        case 'mirrors':
          gitTotal += event.tasks.length;
          break;
        case 'sized':
          for (const [key, bytes] of event.sizes) hints.set(key, bytes);
          break;
        case 'started':
          firstStart ??= now();
          inFlight.set(event.task.cacheKey, {
            packageName: event.task.packageName,
            version: event.task.version,
            bytes: 0,
            total: undefined,
            ...(event.task.vcs === undefined ? {} : { vcs: event.task.vcs }),
          });
          sample();
          break;
        case 'progress': {
          const { task } = event;
          inFlight.set(task.cacheKey, { packageName: task.packageName, version: task.version, bytes: event.bytes, total: event.total });
          if (event.total !== undefined && open.has(task.cacheKey)) open.set(task.cacheKey, event.total);
          lastByteAt = now();
          sample();
          break;
        }
        case 'retried':
          retries++;
          drop(event.task.cacheKey);
          inFlight.delete(event.task.cacheKey);
          break;
        case 'done':
          finish(event.task.cacheKey);
          if (event.task.vcs !== undefined) {
            gitDone++;
            completedBytes += event.bytes;
          } else if (event.result === 'cached') cached++;
          else {
            downloaded++;
            lastByteAt = now();
            completedBytes += event.bytes;
            knownBytes += event.bytes;
            knownCount++;
          }
          sample();
          break;
        case 'failed':
          drop(event.task.cacheKey);
          finish(event.task.cacheKey);
          if (event.error.code === 'E_ABORTED') unfinished++;
          else if (event.task.vcs !== undefined) gitFailed++;
          else failed++;
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
      const windowRate = oldest && span > 0 ? Math.max(0, ((bytes - oldest.bytes) * 1000) / span) : 0;
      // A stall empties the window: fall back to the run's average rather than show no ETA at all.
      const elapsed = firstStart === undefined ? 0 : t - firstStart;
      const rate = windowRate > 0 ? windowRate : elapsed > 0 ? (bytes * 1000) / elapsed : 0;
      const finished = downloaded + cached + failed;
      const remaining = remainingBytes();
      const gitLeft = gitTotal - gitDone - gitFailed > 0;
      const etaMs =
        total - finished - unfinished <= 0 ? (gitLeft ? undefined : 0) : remaining !== undefined && rate > 0 ? (remaining * 1000) / rate : undefined;
      const byteFraction = remaining === undefined || unknownSizes() > 0 ? undefined : bytes + remaining === 0 ? 1 : bytes / (bytes + remaining);
      return {
        total,
        finished,
        downloaded,
        cached,
        failed: failed + gitFailed,
        git: { total: gitTotal, finished: gitDone + gitFailed, failed: gitFailed },
        unfinished,
        retries,
        bytes,
        bytesPerSecond: windowRate,
        etaMs,
        byteFraction,
        received: bytes + droppedBytes,
        transferMs: firstStart === undefined || lastByteAt === undefined ? 0 : Math.max(0, lastByteAt - firstStart),
        inFlight: [...inFlight.values()].sort((a, b) => (b.total ?? b.bytes) - (a.total ?? a.bytes)),
      };
    },
  };
}
