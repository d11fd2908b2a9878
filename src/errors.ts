/**
 * One error family for the whole tool. Every error carries a stable `code`, the context a
 * user needs (package, redacted URL, expected vs actual) and, where useful, a `hint` that
 * says what to do next. Only the CLI layer turns these into text and exit codes.
 */
export type ErrorCode =
  | 'E_USAGE' // bad flag or option value
  | 'E_INPUT' // missing or unreadable input file
  | 'E_JSON' // malformed JSON input (file + position)
  | 'E_PACKAGE' // one package entry is invalid (bad name, bad dist)
  | 'E_HTTP' // non-success HTTP status
  | 'E_NETWORK' // connection error, reset, timeout, truncated body
  | 'E_CHECKSUM' // sha1 differs from dist.shasum
  | 'E_CORRUPT' // archive structure is broken (truncated zip, HTML page, …)
  | 'E_AUTH' // 401/403: credentials missing or refused
  | 'E_INSECURE' // http:// URL refused by secure-http
  | 'E_BACKEND' // backend unavailable or crashed (aria2c missing, too old)
  | 'E_CACHE' // cache dir disabled, not writable, or a commit failed
  | 'E_LIMIT' // a bound ended the download: --max-size, --retry-max-time
  | 'E_ABORTED' // interrupted (SIGINT/SIGTERM)
  | 'E_INTERNAL'; // a bug: something other than a PrefetchError reached the CLI (exit 70)

export interface PrefetchErrorOptions {
  readonly hint?: string | undefined;
  readonly cause?: unknown;
  readonly packageName?: string | undefined;
  /** Always redacted before it is stored here. */
  readonly url?: string | undefined;
  readonly retryable?: boolean | undefined;
}

export class PrefetchError extends Error {
  readonly code: ErrorCode;
  readonly hint: string | undefined;
  readonly packageName: string | undefined;
  readonly url: string | undefined;
  readonly retryable: boolean;

  constructor(code: ErrorCode, message: string, options: PrefetchErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'PrefetchError';
    this.code = code;
    this.hint = options.hint;
    this.packageName = options.packageName;
    this.url = options.url;
    this.retryable = options.retryable ?? false;
  }
}

/** Malformed JSON in an input file: names the file and the line/column. */
export class JsonInputError extends PrefetchError {
  readonly file: string;
  readonly line: number | undefined;
  readonly column: number | undefined;
  constructor(options: { file: string; line?: number | undefined; column?: number | undefined; detail: string; cause?: unknown; hint?: string | undefined }) {
    const where = options.line === undefined ? '' : `:${options.line}:${options.column ?? 1}`;
    super('E_JSON', `${options.file}${where}: invalid JSON: ${options.detail}`, {
      cause: options.cause,
      hint: options.hint ?? 'Fix the file, or regenerate it with `composer update --lock`.',
    });
    this.name = 'JsonInputError';
    this.file = options.file;
    this.line = options.line;
    this.column = options.column;
  }
}

export class HttpStatusError extends PrefetchError {
  readonly status: number;
  /** Seconds to wait, from a Retry-After header, when the server sent one. */
  readonly retryAfterMs: number | undefined;
  /**
   * An API rate limit used up (`X-RateLimit-Remaining: 0`, as GitHub sends with its 403/429):
   * when it resets, as an ISO time and as a wait from the answer, when the server said.
   */
  readonly rateLimit: { readonly resetAt: string | undefined; readonly resetInMs: number | undefined } | undefined;
  constructor(options: {
    status: number;
    url: string;
    packageName?: string | undefined;
    retryable: boolean;
    retryAfterMs?: number | undefined;
    rateLimit?: { readonly resetAt: string | undefined; readonly resetInMs: number | undefined } | undefined;
    hint?: string | undefined;
    /** Replaces the standard `HTTP <status> from <url>` (an explained auth failure says more). */
    message?: string | undefined;
  }) {
    const wait = options.retryAfterMs === undefined ? '' : ` (Retry-After: ${describeWait(options.retryAfterMs)})`;
    super(options.status === 401 || options.status === 403 ? 'E_AUTH' : 'E_HTTP', options.message ?? `HTTP ${options.status} from ${options.url}${wait}`, {
      ...options,
      hint:
        options.hint ??
        (options.retryAfterMs === undefined
          ? undefined
          : `The server asked to wait ${describeWait(options.retryAfterMs)} before the next request: run again after that, or fetch from a --mirror.`),
    });
    this.name = 'HttpStatusError';
    this.status = options.status;
    this.retryAfterMs = options.retryAfterMs;
    this.rateLimit = options.rateLimit;
  }
}

export class ChecksumMismatchError extends PrefetchError {
  readonly expected: string;
  readonly actual: string;
  constructor(options: { packageName: string; url?: string | undefined; expected: string; actual: string }) {
    super('E_CHECKSUM', `sha1 mismatch for ${options.packageName}: expected ${options.expected}, got ${options.actual}`, {
      ...options,
      retryable: true,
      hint: 'The server sent other bytes than the lock records; if this persists, run `composer update` for this package.',
    });
    this.name = 'ChecksumMismatchError';
    this.expected = options.expected;
    this.actual = options.actual;
  }
}

export class CorruptArchiveError extends PrefetchError {
  readonly reason: string;
  /** `retryable: false` when the same bytes would fail the same way (an archive over a size bound). */
  constructor(options: { packageName: string; url?: string | undefined; archiveType: string; reason: string; cause?: unknown; retryable?: boolean }) {
    super('E_CORRUPT', `${options.packageName}: not a valid ${options.archiveType} archive (${options.reason})`, {
      ...options,
      retryable: options.retryable ?? true,
    });
    this.name = 'CorruptArchiveError';
    this.reason = options.reason;
  }
}

/**
 * A `206 Partial Content` that does not belong to the bytes we already have: another entity
 * (its strong validator differs, or it has none while the first response had one), another
 * offset or another length. The bytes are discarded and the archive is fetched again whole.
 */
export class RangeMismatchError extends PrefetchError {
  readonly problem: 'validator-changed' | 'validator-missing' | 'offset' | 'length' | 'unexpected';
  /** The validator our `If-Range` carried (ETag or Last-Modified), when there was one. */
  readonly expected: string | undefined;
  /** What the 206 carried instead. */
  readonly received: string | undefined;
  constructor(options: {
    packageName: string;
    url: string;
    problem: RangeMismatchError['problem'];
    expected?: string | undefined;
    received?: string | undefined;
    detail: string;
  }) {
    super(
      'E_NETWORK',
      `${options.packageName}: ${options.url} answered a byte range ${options.detail}; the partial bytes were discarded and the archive is fetched again whole`,
      {
        packageName: options.packageName,
        url: options.url,
        retryable: true,
        hint: 'The server (or a CDN or cache in front of it) answers byte ranges from another version of the file; nothing spliced reaches the cache. If this persists, report it to the host.',
      },
    );
    this.name = 'RangeMismatchError';
    this.problem = options.problem;
    this.expected = options.expected;
    this.received = options.received;
  }
}

/** Why `verify` finds a package's archive unusable. */
/** What `verify` found at a Composer path: nothing, a damaged archive, or a path this user cannot read. */
export type CacheState = 'missing' | 'invalid' | 'unreadable';

/** `verify`: an archive the lock needs is missing from Composer's cache, or there but invalid. */
export class CacheStateError extends PrefetchError {
  readonly state: CacheState;
  readonly path: string;
  /** What the archive check found, for an invalid one. */
  readonly reason: string | undefined;
  constructor(options: { packageName: string; version: string; state: CacheState; path: string; reason?: string | undefined }) {
    const found = options.state === 'invalid' ? 'invalid archive' : options.state === 'unreadable' ? 'cannot be read' : 'missing';
    super('E_CACHE', `${options.packageName} ${options.version}: ${found} at ${options.path}${options.reason === undefined ? '' : ` (${options.reason})`}`, {
      packageName: options.packageName,
    });
    this.name = 'CacheStateError';
    this.state = options.state;
    this.path = options.path;
    this.reason = options.reason;
  }
}

/** Which bound ended a transfer; `option` is the flag that sets it. */
export type TransferLimit =
  | { readonly kind: 'max-size'; readonly option: '--max-size'; readonly limitBytes: number; readonly bytes: number; readonly declared: boolean }
  | {
      readonly kind: 'low-speed';
      readonly option: '--low-speed-limit';
      readonly limitBytesPerSecond: number;
      readonly windowMs: number;
      readonly bytesPerSecond: number;
    }
  | { readonly kind: 'deadline'; readonly option: '--retry-max-time'; readonly limitMs: number };

/**
 * A transfer ended by one of our bounds. A low speed is a stall (retryable, `E_NETWORK`, as
 * curl's `--speed-limit` ends a transfer with "operation too slow"); an archive above
 * `--max-size` and a spent `--retry-max-time` are final for the package (`E_LIMIT`).
 */
export class TransferLimitError extends PrefetchError {
  readonly limit: TransferLimit;
  constructor(options: { packageName: string; url: string | undefined; limit: TransferLimit; message: string; hint?: string | undefined }) {
    super(options.limit.kind === 'low-speed' ? 'E_NETWORK' : 'E_LIMIT', options.message, {
      packageName: options.packageName,
      url: options.url,
      retryable: options.limit.kind === 'low-speed',
      hint: options.hint,
    });
    this.name = 'TransferLimitError';
    this.limit = options.limit;
  }
}

/** A wait as a person reads it: `45 s`, `12 min`, `~28 h`. */
export function describeWait(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 120) return `${s} s`;
  if (s < 2 * 3600) return `${Math.round(s / 60)} min`;
  return `~${Math.round(s / 3600)} h`;
}

export function isPrefetchError(error: unknown): error is PrefetchError {
  return error instanceof PrefetchError;
}

/** Wraps anything thrown into a PrefetchError, keeping the original as `cause`. */
export function toPrefetchError(error: unknown, fallback: ErrorCode = 'E_NETWORK', context: PrefetchErrorOptions = {}): PrefetchError {
  if (error instanceof PrefetchError) return error;
  // Node's "Invalid URL" names nothing; `context.url` is already redacted.
  if (typeof error === 'object' && error !== null && (error as { code?: unknown }).code === 'ERR_INVALID_URL') {
    const where = context.url === undefined ? '' : ` (downloading ${context.url})`;
    return new PrefetchError(fallback, `invalid URL${where}`, { ...context, cause: error, retryable: false });
  }
  const message = error instanceof Error ? error.message : String(error);
  return new PrefetchError(fallback, message, { ...context, cause: error });
}
