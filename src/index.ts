/** Library entry: the same pipeline the CLI runs, without any printing or process handling. */
export { prefetch, type PrefetchDeps, type PrefetchResult } from './prefetch.js';
export { defaultDownloadOptions, type PrefetchOptions } from './config/options.js';
export { planDownloads, type PlanOptions } from './plan/plan-downloads.js';
export { parseInput } from './lockfile/parse-input.js';
export { getDistUrls, updateDistReference, expandMirrorUrl } from './plan/dist-urls.js';
export { cacheKeyFor, isValidPackageName } from './plan/cache-key.js';
export { resolveCacheDirs } from './config/cache-dir.js';
export { defaultEnvironment } from './config/composer-config.js';
export * from './errors.js';
export type {
  Backend,
  BackendName,
  DownloadOptions,
  DownloadTask,
  FetchContext,
  InvalidPackage,
  Plan,
  PrefetchEvent,
  RequestPolicy,
  SettledTask,
  SkippedPackage,
  StagedFile,
  Summary,
  TaskResult,
} from './types.js';
export type { LockedPackage, LockedDist, ParsedInput } from './lockfile/types.js';
export type { BackendSetup } from './backends/pick-backend.js';
