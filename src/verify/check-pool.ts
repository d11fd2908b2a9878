import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { ArchiveValidationError, DEFAULT_MAX_UNPACKED_BYTES, validateArchive, type ArchiveInfo, type VerifyLevel } from './archive.js';

/** Checks one archive file at a level; rejects with `ArchiveValidationError` for bad bytes. */
export type CheckArchive = (path: string, distType: string, level: VerifyLevel) => Promise<ArchiveInfo>;

/** In-process check at the default `--max-unpacked-size`: for tests, and for `structure`, which is I/O, not CPU. */
export const checkInProcess: CheckArchive = (path, distType, level) => validateArchive(path, distType, level);

export interface CheckPool {
  readonly check: CheckArchive;
  /**
   * Starts the first thread now, before any check is asked for: a thread takes ~90 ms of CPU to
   * load Node's internals and this module, which then overlaps the first transfers instead of
   * delaying the first archive's acceptance. Idempotent; a no-op after `close()`.
   */
  warm(): void;
  /** Ends every thread; pending checks are rejected. Safe to call twice. */
  close(): Promise<void>;
}

/** @internal the messages between `CheckPool` and `check-worker.js`. */
export interface CheckRequest {
  readonly id: number;
  readonly path: string;
  readonly distType: string;
  readonly level: VerifyLevel;
  readonly maxUnpackedBytes: number;
}
/** @internal */
export type CheckReply =
  | { readonly id: number; readonly kind: 'ok'; readonly info: ArchiveInfo }
  | { readonly id: number; readonly kind: 'invalid'; readonly reason: string; readonly deterministic: boolean }
  | { readonly id: number; readonly kind: 'error'; readonly message: string; readonly code: string | undefined };

interface Job {
  readonly request: CheckRequest;
  readonly resolve: (info: ArchiveInfo) => void;
  readonly reject: (error: unknown) => void;
}

interface Slot {
  readonly worker: Worker;
  job: Job | undefined;
}

/**
 * Deep checks inflate every byte (zlib's sync inflate and crc32 run on the calling thread), so
 * they run on worker threads: the main thread keeps moving bytes, and a far-away download never
 * waits behind a big inflate. One thread per core but one (`os.availableParallelism() - 1`, at
 * least 1): the main thread keeps a core for the transfers. Measured on 2 cores (bench/RESULTS.md):
 * a second thread added ~14 MB RSS and ~0.3 CPU-s of start-up and contention for the same work,
 * and one thread inflates ~70 MB of zip per second, faster than most links deliver it.
 * `structure` checks stay in-process: they read a few windows of the file (a tar.gz's gunzip
 * already runs on libuv's pool).
 *
 * Threads start on first use and are `unref`ed whenever idle, so a pool never keeps the process
 * alive after a run even if `close()` is forgotten; `close()` terminates them.
 *
 * The worker file is resolved next to this module, so it is found from `dist/` and from the
 * compiled tests in `build-test/src/` alike.
 */
export function createCheckPool(options: { readonly size?: number; readonly maxUnpackedBytes?: number } = {}): CheckPool {
  const size = Math.max(1, options.size ?? availableParallelism() - 1);
  const maxUnpackedBytes = options.maxUnpackedBytes ?? DEFAULT_MAX_UNPACKED_BYTES;
  const slots: Slot[] = [];
  const queue: Job[] = [];
  let nextId = 1;
  let closed = false;

  const spawn = (): Slot => {
    const worker = new Worker(new URL('./check-worker.js', import.meta.url));
    const slot: Slot = { worker, job: undefined };
    worker.on('message', (reply: CheckReply) => {
      const job = slot.job;
      if (job === undefined || job.request.id !== reply.id) return;
      slot.job = undefined;
      settle(job, reply);
      dispatch();
    });
    const lost = (error: unknown): void => {
      const index = slots.indexOf(slot);
      if (index >= 0) slots.splice(index, 1);
      const job = slot.job;
      slot.job = undefined;
      if (job !== undefined) job.reject(error);
      dispatch();
    };
    worker.on('error', lost);
    worker.on('exit', (code) => lost(new Error(`archive check thread exited (code ${code})`)));
    worker.unref();
    slots.push(slot);
    return slot;
  };

  const dispatch = (): void => {
    while (!closed && queue.length > 0) {
      const slot = slots.find((s) => s.job === undefined) ?? (slots.length < size ? spawn() : undefined);
      if (slot === undefined) return;
      const job = queue.shift()!;
      slot.job = job;
      slot.worker.ref();
      slot.worker.postMessage(job.request);
    }
    for (const slot of slots) if (slot.job === undefined) slot.worker.unref();
  };

  const check: CheckArchive = (path, distType, level) => {
    if (level === 'structure') return validateArchive(path, distType, level, maxUnpackedBytes);
    if (closed) return Promise.reject(new Error('archive check pool is closed'));
    return new Promise<ArchiveInfo>((resolve, reject) => {
      queue.push({ request: { id: nextId++, path, distType, level, maxUnpackedBytes }, resolve, reject });
      dispatch();
    });
  };

  const warm = (): void => {
    if (!closed && slots.length === 0) spawn();
  };

  const close = async (): Promise<void> => {
    closed = true;
    for (const job of queue.splice(0)) job.reject(new Error('archive check pool is closed'));
    await Promise.all(
      slots.splice(0).map((slot) => {
        slot.job?.reject(new Error('archive check pool is closed'));
        slot.job = undefined;
        return slot.worker.terminate();
      }),
    );
  };

  return { check, warm, close };
}

function settle(job: Job, reply: CheckReply): void {
  switch (reply.kind) {
    case 'ok':
      job.resolve(reply.info);
      return;
    case 'invalid':
      job.reject(new ArchiveValidationError(reply.reason, { deterministic: reply.deterministic }));
      return;
    case 'error': {
      // Keep the errno code: callers tell "missing" (ENOENT) from "unreadable" by it.
      const error = new Error(reply.message) as Error & { code?: string };
      if (reply.code !== undefined) error.code = reply.code;
      job.reject(error);
    }
  }
}
