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
   * the cache key. Backends iterate `downloadOrder(task)` (plan/mirror-urls.ts).
   */
  readonly downloadUrls?: readonly string[];
  /** The `--mirror` URLs among `downloadUrls`: bytes from them get the package-identity check. */
  readonly mirrorUrls?: readonly string[];
  /** The lock's `transport-options.http.header` lines; sent only to the origin of the URL being tried. */
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
}

export type SkipReason = 'no-dist' | 'path-dist' | 'metapackage' | 'dev-excluded';

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
}
