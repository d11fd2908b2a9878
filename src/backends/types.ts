import type { PrefetchError } from '../errors.js';
import type { DownloadTask } from '../plan/types.js';
import type { PrefetchEvent } from '../report/types.js';

export type BackendName = 'native' | 'aria2';

/** Network knobs shared by both backends; defaults live in `config/options.ts`. */
export interface DownloadOptions {
  /** Transfers in flight at once, across all origins. */
  readonly concurrency: number;
  /** Connections per origin (host:port). */
  readonly perOrigin: number;
  /** Retries per URL after the first attempt. */
  readonly retries: number;
  /**
   * Deadline per package from its first attempt (`--retry-max-time`): no retry starts after it,
   * and the attempt in flight is ended when it passes.
   */
  readonly retryMaxTimeMs: number;
  readonly connectTimeoutMs: number;
  /** Time to the response headers. */
  readonly headersTimeoutMs: number;
  /** Longest gap between two body chunks before the transfer counts as stalled; also the low-speed window. */
  readonly stallTimeoutMs: number;
  /**
   * Bytes/s an attempt must average over the last `stallTimeoutMs` once it has run that long, or
   * it counts as stalled (curl's `--speed-limit` over `--speed-time`). 0 disables.
   */
  readonly lowSpeedLimit: number;
  /** Largest archive accepted, declared or received (`--max-size`); 0 means no limit. */
  readonly maxSizeBytes: number;
  /** Split archives at least this large into parallel Range segments (0 disables). */
  readonly splitMinBytes: number;
  /** Parallel segments for one split archive. */
  readonly splitSegments: number;
  /**
   * How long a big archive streams alone before it is judged (ms): it is split only if, at its
   * pace so far, the rest would take over a second. A near, fast origin then never pays for extra
   * requests and buffers; a slow one is split after this short look. 0 splits at once.
   */
  readonly splitProbeMs: number;
}

/** A downloaded file waiting for verification, on the same filesystem as the cache. */
export interface StagedFile {
  readonly path: string;
  readonly bytes: number;
  /** sha1 computed while streaming, when the backend did so; computed by `verify` otherwise. */
  readonly sha1: string | undefined;
  /** The (redacted) URL the bytes came from. */
  readonly url: string;
}

/**
 * Per-request credentials and redaction, decided per URL (and again at every redirect hop). The
 * task, when given, picks its own project's settings (auth.json, secure-http) when several
 * projects' locks are prefetched at once.
 */
export interface RequestPolicy {
  /** Headers for a request to this URL; never reused for another origin. */
  headersFor(url: URL, task?: DownloadTask): Record<string, string>;
  /** The URL as it may be shown to a person: no userinfo, no token query parameters. */
  redact(url: string): string;
  /** Throws `E_INSECURE` for a URL Composer would refuse (`Config::prohibitUrlByConfig`), checked at every hop. */
  assertAllowed(url: URL, task?: DownloadTask): void;
}

export interface FetchContext {
  readonly signal: AbortSignal;
  readonly options: DownloadOptions;
  readonly policy: RequestPolicy;
  readonly emit: (event: PrefetchEvent) => void;
  /**
   * Verifies a staged file (sha1 when known, archive structure always, archive contents at
   * `--verify deep` when there is no sha1) and renames it into
   * the cache. Throws a retryable `ChecksumMismatchError`/`CorruptArchiveError` on bad bytes;
   * the staged file is removed either way. `from` is the download URL the attempt started at
   * (before redirects): bytes from a `--mirror` URL get the package-identity check.
   */
  readonly accept: (task: DownloadTask, staged: StagedFile, from: string) => Promise<void>;
}

export type TaskResult =
  | { readonly kind: 'downloaded'; readonly task: DownloadTask; readonly url: string; readonly bytes: number; readonly attempts: number }
  | { readonly kind: 'failed'; readonly task: DownloadTask; readonly error: PrefetchError; readonly attempts: number };

/** A way to move bytes. Both backends feed the same verify-then-commit path (`FetchContext.accept`). */
export interface Backend {
  readonly name: BackendName;
  fetchAll(tasks: readonly DownloadTask[], ctx: FetchContext): Promise<TaskResult[]>;
  close(): Promise<void>;
}
