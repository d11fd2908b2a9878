import { Agent, type Dispatcher } from 'undici';
import pLimit from 'p-limit';
import path from 'node:path';
import { pickBackend } from './backends/pick-backend.js';
import type { Backend, FetchContext, RequestPolicy, TaskResult } from './backends/types.js';
import { acceptIntoCache, isCachedAndValid } from './cache/commit.js';
import { cleanStaleTempFiles } from './cache/temp-files.js';
import { cacheDisabledReason, resolveCacheDirs } from './config/cache-dir.js';
import { loadComposerConfig, type ComposerConfig } from './config/composer-config.js';
import { resolveComposerHome, type Environment } from './config/composer-home.js';
import type { PrefetchOptions } from './config/options.js';
import { PrefetchError, toPrefetchError } from './errors.js';
import { readInputs } from './lockfile/read-inputs.js';
import { createRequestPolicy } from './net/request-policy.js';
import { planDownloads } from './plan/plan-downloads.js';
import type { DownloadTask, Plan } from './plan/types.js';
import type { FailedPackage, PrefetchEvent, Summary } from './report/types.js';

/** Temp files older than this are leftovers of a killed run; younger ones may belong to a live one. */
const STALE_TEMP_MS = 10 * 60 * 1000;

export interface PrefetchDeps {
  readonly environment: Environment;
  readonly readStdin: () => Promise<string>;
  readonly emit: (event: PrefetchEvent) => void;
  readonly signal: AbortSignal;
  /** Replaces the backend (tests); built from the options otherwise. */
  readonly createBackend?: (context: BackendSetup) => Promise<Backend> | Backend;
  readonly now?: () => number;
}

export interface BackendSetup {
  readonly options: PrefetchOptions;
  readonly config: ComposerConfig;
  readonly policy: RequestPolicy;
  readonly dispatcher: Dispatcher;
}

export interface PrefetchResult {
  readonly plan: Plan;
  readonly summary: Summary;
  readonly results: readonly TaskResult[];
  /** The Composer settings used (the CLI compares the cache size with `cacheFilesMaxsize`). */
  readonly config: ComposerConfig;
}

/** read → plan → check cache → download → verify → commit. Never touches process.* or stdout. */
export async function prefetch(options: PrefetchOptions, deps: PrefetchDeps): Promise<PrefetchResult> {
  const now = deps.now ?? Date.now;
  const started = now();
  const { environment } = deps;

  const inputs = await readInputs(options.inputs, {
    cwd: options.cwd,
    composerEnv: environment.env['COMPOSER'],
    readStdin: deps.readStdin,
  });
  const composerHome = resolveComposerHome(environment);
  const config = await loadComposerConfig({ cwd: options.cwd, env: environment.env, composerHome });
  const dirs = resolveCacheDirs(environment, { project: config.project, global: config.global }, options.cacheDir === undefined ? {} : { cacheDir: options.cacheDir });
  const disabled = cacheDisabledReason(dirs.cacheFilesDir, config);
  if (disabled !== undefined) {
    throw new PrefetchError('E_CACHE', disabled, { hint: 'Prefetching would have no effect: Composer would not read the cache.' });
  }

  const plan = planDownloads(inputs, {
    cacheFilesDir: dirs.cacheFilesDir,
    noDev: options.noDev,
    githubDomains: config.githubDomains,
    gitlabDomains: config.gitlabDomains,
  });
  deps.emit({ type: 'planned', plan });
  for (const warning of plan.warnings) deps.emit({ type: 'warning', message: warning });
  if (config.cacheReadOnly) {
    deps.emit({ type: 'warning', message: 'Composer\'s cache is read-only (cache-read-only / COMPOSER_CACHE_READ_ONLY): prefetched archives are still read by `composer install`, which will not add or remove any itself.' });
  }

  if (options.dryRun) {
    const summary = summarise(options, plan, [], [], now() - started, deps.signal.aborted);
    return { plan, summary, results: [], config };
  }

  // Already in the cache and valid → nothing to do. Invalid → downloaded again and replaced.
  const check = pLimit(16);
  const states = await Promise.all(plan.tasks.map((task) => check(async () => ({ task, state: await isCachedAndValid(task) }))));
  const cached = states.filter((s) => s.state === 'valid').map((s) => s.task);
  for (const task of cached) deps.emit({ type: 'done', task, result: 'cached', bytes: 0, url: undefined });
  const pending = states.filter((s) => s.state !== 'valid').map((s) => s.task);

  if (options.verifyOnly) {
    const results: TaskResult[] = pending.map((task) => ({
      kind: 'failed',
      task,
      attempts: 0,
      error: new PrefetchError('E_CACHE', `${task.packageName} ${task.version}: ${states.find((s) => s.task === task)?.state === 'invalid' ? 'invalid archive' : 'missing'} at ${task.cachePath}`, {
        packageName: task.packageName,
      }),
    }));
    for (const result of results) if (result.kind === 'failed') deps.emit({ type: 'failed', task: result.task, error: result.error });
    const summary = summarise(options, plan, cached, results, now() - started, false);
    return { plan, summary, results, config };
  }

  const results = await download(pending, options, config, deps);
  const summary = summarise(options, plan, cached, results, now() - started, deps.signal.aborted);
  return { plan, summary, results, config };
}

async function download(pending: readonly DownloadTask[], options: PrefetchOptions, config: ComposerConfig, deps: PrefetchDeps): Promise<TaskResult[]> {
  if (pending.length === 0) return [];
  await Promise.all([...new Set(pending.map((t) => path.dirname(t.cachePath)))].map((dir) => cleanStaleTempFiles(dir, { olderThanMs: STALE_TEMP_MS, removeDead: true })));

  const policy = createRequestPolicy({ secureHttp: config.secureHttp });
  const d = options.download;
  const dispatcher = new Agent({
    connections: d.perOrigin,
    connect: { timeout: d.connectTimeoutMs },
    headersTimeout: d.headersTimeoutMs,
    bodyTimeout: d.stallTimeoutMs,
    keepAliveTimeout: 10_000,
  });
  const backend = deps.createBackend
    ? await deps.createBackend({ options, config, policy, dispatcher })
    : await pickBackend({ options, config, policy, dispatcher });
  const ctx: FetchContext = {
    signal: deps.signal,
    options: d,
    policy,
    emit: deps.emit,
    // The one gate into Composer's cache, shared by every backend.
    accept: async (task, staged) => void (await acceptIntoCache(task, staged)),
  };
  try {
    return await backend.fetchAll(pending, ctx);
  } finally {
    await backend.close().catch(() => undefined);
    await dispatcher.close().catch(() => undefined);
  }
}

function summarise(
  options: PrefetchOptions,
  plan: Plan,
  cached: readonly DownloadTask[],
  results: readonly TaskResult[],
  durationMs: number,
  interrupted: boolean,
): Summary {
  const failures: FailedPackage[] = [];
  let downloaded = 0;
  let bytes = 0;
  for (const result of results) {
    if (result.kind === 'downloaded') {
      downloaded++;
      bytes += result.bytes;
    } else {
      const error = toPrefetchError(result.error);
      failures.push({
        packageName: result.task.packageName,
        version: result.task.version,
        url: error.url,
        code: error.code,
        message: error.message,
        hint: error.hint,
      });
    }
  }
  return {
    backend: options.backend,
    cacheFilesDir: plan.cacheFilesDir,
    planned: plan.tasks.length,
    downloaded,
    cached: cached.length,
    skipped: plan.skipped.length,
    invalid: plan.invalid.length,
    failed: failures.length,
    bytes,
    durationMs,
    failures,
    interrupted,
  };
}
