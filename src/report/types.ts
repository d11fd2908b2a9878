import type { BackendName } from '../backends/types.js';
import type { PrefetchError } from '../errors.js';
import type { FailureCause } from './failure-cause.js';
import type { DownloadTask, Plan } from '../plan/types.js';

export interface FailedPackage {
  readonly packageName: string;
  readonly version: string;
  readonly url: string | undefined;
  readonly code: string;
  readonly message: string;
  readonly hint: string | undefined;
  /** The failure class (`failureCause`) and its words (`failureReason`): failures sharing both and an origin are shown as one group. */
  readonly cause?: FailureCause;
  readonly reason?: string;
}

export interface Summary {
  readonly backend: BackendName;
  readonly cacheFilesDir: string;
  readonly planned: number;
  readonly downloaded: number;
  readonly cached: number;
  readonly skipped: number;
  readonly invalid: number;
  /** Packages that failed; those left unfinished by an interrupt are counted in `unfinished` instead. */
  readonly failed: number;
  /** Packages an interrupt (Ctrl-C, SIGTERM) left undone: not failures, a rerun fetches them. */
  readonly unfinished: number;
  /** Bytes downloaded in this run. */
  readonly bytes: number;
  readonly durationMs: number;
  readonly failures: readonly FailedPackage[];
  readonly interrupted: boolean;
}

/** Everything the core tells the outside world; reporters pick what to show. */
export type PrefetchEvent =
  | { readonly type: 'planned'; readonly plan: Plan }
  | { readonly type: 'started'; readonly task: DownloadTask; readonly url: string; readonly attempt: number }
  | { readonly type: 'progress'; readonly task: DownloadTask; readonly bytes: number; readonly total: number | undefined }
  /** Expected archive sizes by cache key, before any download (`sizeHints`: older versions in the cache); for the ETA. */
  | { readonly type: 'sized'; readonly sizes: ReadonlyMap<string, number> }
  | { readonly type: 'retried'; readonly task: DownloadTask; readonly url: string; readonly attempt: number; readonly delayMs: number; readonly error: PrefetchError }
  | { readonly type: 'done'; readonly task: DownloadTask; readonly result: 'downloaded' | 'cached'; readonly bytes: number; readonly url: string | undefined }
  | { readonly type: 'failed'; readonly task: DownloadTask; readonly error: PrefetchError }
  | { readonly type: 'warning'; readonly message: string }
  | { readonly type: 'summary'; readonly summary: Summary };

export interface Reporter {
  handle(event: PrefetchEvent): void;
  close(): void;
}
