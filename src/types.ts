/**
 * The pipeline's vocabulary, in one types-only module that every layer imports downward (as
 * pnpm's `fetcher-base`): planning produces `DownloadTask`s, `prefetch` settles each one's project
 * (`SettledTask`), a `Backend` moves the bytes, `FetchContext.accept` verifies and commits them,
 * and everything the run tells the outside world is a `PrefetchEvent`. No runtime code lives here.
 */
import type { CacheState, PrefetchError } from './errors.js';

// ---- planning -------------------------------------------------------------------------------

/** `preferred-install`: one mode, or name patterns → mode with `*` last (`Config::merge`). */
export type PreferredInstall = string | Readonly<Record<string, string>>;

/** What planning decided for one package whose dist archive goes into the cache. */
export interface DownloadTask {
  /** Lowercase package name, as Composer keys it. */
  readonly packageName: string;
  readonly version: string;
  readonly distType: string;
  /**
   * Every URL to try, in Composer's order (`Package::getDistUrls()`, preferred mirrors first),
   * placeholders expanded. Only the first decides the cache key; the others are fallbacks.
   */
  readonly urls: readonly [string, ...string[]];
  /**
   * Download order when it differs from `urls`: `--mirror` URLs first, then `urls`. Never part of
   * the cache key. Backends iterate `urlsToTry(task)` (backends/fetch-loop.ts).
   */
  readonly downloadUrls?: readonly string[];
  /** The `--mirror` URLs among `downloadUrls`: bytes from them get the package-identity check. */
  readonly mirrorUrls?: readonly string[];
  /**
   * The lock's `transport-options.http.header` lines; sent only to the origin of the URL being
   * tried. Backends never read them: `settleTasks` folds them into the task's `policy`.
   */
  readonly transportHeaders?: readonly string[];
  /** `<name>/<sha1(processed urls[0])>.<dist.type>`, sanitised as `Cache` does. */
  readonly cacheKey: string;
  /** Absolute path: `<cache-files-dir>/<cacheKey>`. */
  readonly cachePath: string;
  /** Lowercase hex sha1 from `dist.shasum`, when the lock has one. */
  readonly expectedSha1: string | undefined;
  readonly dev: boolean;
  /** Input files that asked for this archive (several when de-duplicated across locks). */
  readonly origins: readonly string[];
  /**
   * `git` on the tasks the source stage reports (vcs/source-stage.ts): a package's bare mirror in
   * `cache-vcs-dir` (`cachePath`), not a dist archive. Absent on archives.
   */
  readonly vcs?: 'git';
}

export type SkipReason = 'no-dist' | 'path-dist' | 'metapackage' | 'dev-excluded' | 'local-file';

export interface SkippedPackage {
  readonly packageName: string;
  readonly version: string;
  readonly reason: SkipReason;
  readonly origin: string;
}

export interface InvalidPackage {
  readonly packageName: string | undefined;
  readonly origin: string;
  readonly message: string;
}

/** The pure output of planning; serialisable (`--dry-run --json` prints it). */
export interface Plan {
  readonly cacheFilesDir: string;
  readonly tasks: readonly DownloadTask[];
  readonly skipped: readonly SkippedPackage[];
  readonly invalid: readonly InvalidPackage[];
  /** Human-readable warnings (download-modifying plugins, …). */
  readonly warnings: readonly string[];
  /** `--dry-run`: what the cache already holds, once it was looked at (`prefetch`); planning leaves it out. */
  readonly inCache?: CacheLookup;
}

/** The cache as a dry run found it: archives there and valid, and the sizes known without the network. */
export interface CacheLookup {
  /** Cache keys of the tasks whose archive is in the cache and valid. */
  readonly cachedKeys: ReadonlySet<string>;
  /** Bytes of those archives. */
  readonly cachedBytes: number;
  /** Estimated bytes to download (older versions' sizes in the cache); undefined unless known for every one. */
  readonly pendingBytes: number | undefined;
}

// ---- fetching -------------------------------------------------------------------------------

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
  /** Most an archive may hold uncompressed (`--max-unpacked-size`); 0 means no limit. */
  readonly maxUnpackedBytes: number;
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
  /**
   * True when the backend already set the file's times to now and fsynced it through the handle
   * it wrote with (`makeDurable`), so `commitToCache` does not open it again for that.
   */
  readonly durable?: boolean;
}

/**
 * One Composer project's rules for requests (auth.json, secure-http), decided per URL and again
 * at every redirect hop. Settled onto each task before fetching (`SettledTask`), so a backend
 * never asks which project a task belongs to.
 */
export interface RequestPolicy {
  /** Headers for a request to this URL; never reused for another origin. */
  headersFor(url: URL): Record<string, string>;
  /**
   * Whether a request to this URL presents a TLS client certificate (auth.json
   * `client-certificate`): only a transport built with the run's dispatcher can (the native one).
   */
  presentsClientCertificate?(url: URL): boolean;
  /** The URL as it may be shown to a person: no userinfo, no token query parameters. */
  redact(url: string): string;
  /** Throws `E_INSECURE` for a URL Composer would refuse (`Config::prohibitUrlByConfig`), checked at every hop. */
  assertAllowed(url: URL): void;
  /**
   * A package's final failure as its user should read it: a 401/403 names the auth.json entry of
   * this project to add or fix (`explainAuthFailure`). Applied once, where a task fails.
   */
  explainFailure(error: PrefetchError): PrefetchError;
}

/** A planned task with its project settled: everything a backend needs besides the run's `FetchContext`. */
export interface SettledTask extends DownloadTask {
  /** The rules of the first project that planned this archive (`prefetch.ts` `settleTasks`). */
  readonly policy: RequestPolicy;
}

export interface FetchContext {
  readonly signal: AbortSignal;
  readonly options: DownloadOptions;
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
  fetchAll(tasks: readonly SettledTask[], ctx: FetchContext): Promise<TaskResult[]>;
  close(): Promise<void>;
}

// ---- reporting ------------------------------------------------------------------------------

/**
 * Why one request failed, in the few classes a mirror operator's dashboard shows. The set is part
 * of the JSON schema: add to it only with a schema note in the README.
 */
export type FailureCause = 'timeout' | 'reset' | 'connect' | 'http4xx' | 'http5xx' | 'checksum' | 'corrupt' | 'limit' | 'other';

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
  /** `verify`: whether the archive is missing from the cache or there but invalid (`CacheStateError`). */
  readonly cacheState?: CacheState;
  /** `git`: the package's git mirror failed, not its dist archive (`DownloadTask.vcs`). */
  readonly vcs?: 'git';
}

/**
 * The git mirrors' share of a `Summary`, counted in packages (several may share one repository).
 * The `Summary` counters already include these; this says how many of them are mirrors.
 */
export interface GitSummary {
  /** Packages whose mirror was looked at (and fetched when it lacked their commit). */
  readonly planned: number;
  /** Packages whose mirror was cloned or updated in this run. */
  readonly downloaded: number;
  /** Packages whose mirror already held their commit. */
  readonly cached: number;
  readonly failed: number;
  /** Bytes received for the mirrors, where known (`Summary.bytes` includes them). */
  readonly bytes: number;
  /** Clones or updates whose size is not known (git said nothing), so not in `bytes`. */
  readonly bytesUnknown: number;
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
  /** Present when the run looked at git mirrors: how many of the counters above are mirror packages. */
  readonly git?: GitSummary;
}

/** Everything the core tells the outside world; reporters pick what to show. */
export type PrefetchEvent =
  | { readonly type: 'planned'; readonly plan: Plan }
  | { readonly type: 'started'; readonly task: DownloadTask; readonly url: string; readonly attempt: number }
  /**
   * One HTTP exchange of an attempt, as the server saw it: every redirect hop and every range
   * request is one. `url` (redacted) is the URL that answered; `status` is undefined when no
   * response head came back (a reset, a timeout). Per-origin statistics count these as requests.
   */
  | { readonly type: 'exchange'; readonly task: DownloadTask; readonly url: string; readonly status: number | undefined }
  | { readonly type: 'progress'; readonly task: DownloadTask; readonly bytes: number; readonly total: number | undefined }
  /** Expected archive sizes by cache key, before any download (`sizeHints`: older versions in the cache); for the ETA. */
  | { readonly type: 'sized'; readonly sizes: ReadonlyMap<string, number> }
  /**
   * The cache was looked at (and, before a download, found usable): `cached` archives are there
   * and valid, `pending` are to be downloaded. Not sent by `verify`.
   */
  | { readonly type: 'checked'; readonly cacheFilesDir: string; readonly cached: number; readonly pending: number }
  | {
      readonly type: 'retried';
      readonly task: DownloadTask;
      readonly url: string;
      readonly attempt: number;
      readonly delayMs: number;
      readonly error: PrefetchError;
    }
  | { readonly type: 'done'; readonly task: DownloadTask; readonly result: 'downloaded' | 'cached'; readonly bytes: number; readonly url: string | undefined }
  | { readonly type: 'failed'; readonly task: DownloadTask; readonly error: PrefetchError }
  | { readonly type: 'warning'; readonly message: string }
  /**
   * The source stage's plan, after the archives: one task (`vcs: 'git'`) per package whose git
   * mirror is looked at and, when it lacks the locked commit, cloned or updated. Each then ends
   * with a `done` or `failed` event, like an archive. Not sent when no package installs from git.
   */
  | { readonly type: 'mirrors'; readonly tasks: readonly DownloadTask[] }
  | { readonly type: 'summary'; readonly summary: Summary };

export interface Reporter {
  handle(event: PrefetchEvent): void;
  close(): void;
}
