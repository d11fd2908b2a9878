import type { BackendName, DownloadOptions } from '../backends/types.js';

/** Defaults come from `npm run bench` (see bench/RESULTS.md). */
export const defaultDownloadOptions: DownloadOptions = {
  concurrency: 16,
  perOrigin: 8,
  retries: 4,
  connectTimeoutMs: 10_000,
  headersTimeoutMs: 30_000,
  stallTimeoutMs: 30_000,
  splitMinBytes: 4 * 1024 * 1024,
  splitSegments: 4,
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
  readonly download: DownloadOptions;
}
