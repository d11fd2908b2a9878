import type { BackendName, DownloadOptions } from '../types.js';
import { DEFAULT_MAX_UNPACKED_BYTES, type VerifyLevel } from '../verify/archive.js';

/** Defaults come from `npm run bench` (see bench/RESULTS.md). */
export const defaultDownloadOptions: DownloadOptions = {
  // bench/RESULTS.md sweep: far-many (latency-bound) 7.7 s at 16/8 → 1.6 s at 64/64; far-big
  // (per-connection cap) needs ~50 connections to fill the link. 128 gained little more.
  concurrency: 64,
  perOrigin: 64,
  retries: 4,
  retryMaxTimeMs: 10 * 60_000,
  connectTimeoutMs: 10_000,
  headersTimeoutMs: 30_000,
  stallTimeoutMs: 30_000,
  // 1 KiB/s over the 30 s stall window: far below any working link (a dial-up modem does 5 KiB/s),
  // far above a server that trickles a byte every few seconds to hold the connection.
  lowSpeedLimit: 1024,
  // Packagist's largest dists are tens of MiB; 1 GiB leaves room for monorepo archives and
  // stops an endless body long before it fills a CI disk.
  maxSizeBytes: 1024 ** 3,
  // Declared uncompressed bytes, not a ratio (see DEFAULT_MAX_UNPACKED_BYTES in verify/archive.ts).
  maxUnpackedBytes: DEFAULT_MAX_UNPACKED_BYTES,
  // far-big sweep: 1 MiB / 16 segments 5.9 s vs 4 MiB / 4 segments 11.7 s vs no split 42.7 s.
  splitMinBytes: 1024 * 1024,
  splitSegments: 16,
  splitProbeMs: 250,
};

export interface PrefetchOptions {
  /** Paths, glob patterns or `-` (stdin); empty means the project's lock. */
  readonly inputs: readonly string[];
  readonly cwd: string;
  readonly noDev: boolean;
  readonly dryRun: boolean;
  /** Only check the cache; download nothing. */
  readonly verifyOnly: boolean;
  readonly backend: BackendName;
  /** `--cache-dir`: Composer's meaning of cache-dir (archives under DIR/files). */
  readonly cacheDir: string | undefined;
  readonly aria2c: string | undefined;
  readonly mirrors: readonly string[];
  /** `--mirror-private`: also send non-packagist.org packages to the mirrors. */
  readonly mirrorPrivate?: boolean;
  readonly download: DownloadOptions;
  /**
   * Also fill Composer's `cache-vcs-dir` with git mirrors of the packages `composer install` takes
   * from source (default true; `--no-source` turns it off).
   */
  readonly source?: boolean;
  /**
   * `--verify`: how deeply archives without a lock shasum are checked (default `deep`). Applies to
   * every download and to `verify`.
   */
  readonly verifyLevel?: VerifyLevel;
  /**
   * How a prefetch run checks archives already in the cache: `structure` by default, so a no-op
   * run stays fast (README "Verification"); the CLI sets it to `verifyLevel` when `--verify` (or
   * its variable) is given explicitly, so `--verify deep` also finds and replaces damaged ones.
   */
  readonly cachedVerifyLevel?: VerifyLevel;
}
