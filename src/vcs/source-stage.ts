import path from 'node:path';
import { caLocations } from '../net/ca-locations.js';
import type { AuthConfig } from '../auth/auth-headers.js';
import { PrefetchError } from '../errors.js';
import type { ParsedInput } from '../lockfile/types.js';
import { failureCause, failureReason } from '../report/failure-cause.js';
import type { DownloadOptions, DownloadTask, FailedPackage, PrefetchEvent, PreferredInstall, Summary } from '../types.js';
import { fetchMirrors, type MirrorEvent, type MirrorResult } from './fetch-mirrors.js';
import { gitCredential, sanitizeGitUrl } from './git-env.js';
import { retryPolicyFor } from '../net/retry-policy.js';
import { planMirrors, vcsCacheUsable, type MirrorPlan, type MirrorRef, type MirrorTask } from './plan-mirrors.js';

/** One Composer project, as far as its source packages are concerned. */
export interface SourceProject {
  readonly inputs: readonly ParsedInput[];
  /** The project folder: relative `cafile`/`capath` resolve there. */
  readonly dir: string;
  readonly cacheVcsDir: string;
  readonly preferredInstall: PreferredInstall;
  readonly auth: AuthConfig;
  /** The raw config sections, global then project (`cafile`, `capath`). */
  readonly configSections: readonly (Readonly<Record<string, unknown>> | undefined)[];
  /** Composer's `secure-http` for this project: http:// and git:// sources refused, at every hop. */
  readonly secureHttp: boolean;
}

export interface SourceStageOptions {
  readonly projects: readonly SourceProject[];
  readonly noDev: boolean;
  /** `plan` (`--dry-run`) lists, `check` (`verify`) looks without fetching, `fetch` fills the cache. */
  readonly mode: 'plan' | 'check' | 'fetch';
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly signal: AbortSignal;
  readonly emit: (event: PrefetchEvent) => void;
  /** Called with each git command's arguments (never a credential), for `-v`. */
  readonly onCommand?: (args: readonly string[]) => void;
  /** The run's download bounds, which govern git as they govern archives (`--retries`, `--retry-max-time`, `--stall-timeout`, `--concurrency`, …). */
  readonly download: Pick<DownloadOptions, 'concurrency' | 'perOrigin' | 'retries' | 'retryMaxTimeMs' | 'stallTimeoutMs' | 'connectTimeoutMs' | 'lowSpeedLimit'>;
}

export interface SourceOutcome {
  readonly plans: readonly MirrorPlan[];
  readonly results: readonly MirrorResult[];
  readonly gitMissing: boolean;
  /** Failed packages, shaped like the archives' failures (summary, JSON, GitHub summary). */
  readonly failures: readonly FailedPackage[];
}

/**
 * Ceilings on git processes: each clone costs a pack on the server and index-pack CPU here, so
 * `--concurrency` and `--per-origin` apply up to these (a git server is not a CDN).
 */
const GIT_CEILINGS = { concurrency: 16, perHost: 6 };

/**
 * The source stage of a run: plan the git mirrors `composer install` would clone, then create or
 * update them in Composer's `cache-vcs-dir` (or only check them). Its events reuse the archives'
 * (`started`/`done`/`failed`/`retried`/`warning`) with a task whose `distType` is `git` and whose
 * `cachePath` is the mirror folder, so every reporter shows them without knowing about git.
 */
export async function prefetchSources(options: SourceStageOptions): Promise<SourceOutcome> {
  for (const p of options.projects) {
    if (!vcsCacheUsable(p.cacheVcsDir)) {
      options.emit({ type: 'warning', message: `cache-vcs-dir ${p.cacheVcsDir} is a null device: Composer keeps no git mirrors there, so source packages are not prefetched.` });
    }
  }
  const plans = options.projects.filter((p) => vcsCacheUsable(p.cacheVcsDir)).map((p) => planMirrors(p.inputs, { cacheVcsDir: p.cacheVcsDir, noDev: options.noDev, preferredInstall: p.preferredInstall }));
  const skipped = new Set<string>();
  for (const s of plans.flatMap((p) => p.skipped)) {
    // A local repository needs no network: `GitDownloader::doDownload` keeps no mirror of it, so nothing is missing.
    if (s.reason === 'local-path') continue;
    const why =
      s.reason === 'not-git'
        ? `its source is ${s.sourceType}, and only git mirrors are prefetched`
        : s.reason === 'unsafe-url'
          ? 'its source URL is not one this tool hands to git (a transport helper, an option, a token in the query, or a folder outside the cache)'
          : 'its source has no reference (Composer refuses it too)';
    skipped.add(`${s.packageName} ${s.version} installs from source, not prefetched: ${why}.`);
  }
  for (const message of skipped) options.emit({ type: 'warning', message });
  if (options.mode === 'plan' || plans.every((p) => p.tasks.length === 0)) return { plans, results: [], gitMissing: false, failures: [] };

  const results: MirrorResult[] = [];
  let gitMissing = false;
  const seen = new Set<string>();
  // One project after the other: each has its own auth.json and CA settings. A mirror two projects share is fetched once.
  for (const [i, project] of options.projects.filter((p) => vcsCacheUsable(p.cacheVcsDir)).entries()) {
    const plan = plans[i]!;
    const tasks = plan.tasks.filter((t) => !seen.has(t.dir));
    for (const t of tasks) seen.add(t.dir);
    const ca = caLocations(project.configSections, project.dir);
    const outcome = await fetchMirrors(
      { ...plan, tasks },
      {
        mode: options.mode,
        concurrency: Math.min(options.download.concurrency, GIT_CEILINGS.concurrency),
        perHost: Math.min(options.download.perOrigin, GIT_CEILINGS.perHost),
        retry: retryPolicyFor(options.download),
        stallTimeoutMs: options.download.stallTimeoutMs,
        env: {
          base: options.env,
          caFile: ca.cafile,
          caPath: ca.capath,
          secureHttp: project.secureHttp,
          lowSpeedLimit: options.download.lowSpeedLimit,
          lowSpeedSeconds: options.download.stallTimeoutMs / 1000,
          connectTimeoutSeconds: options.download.connectTimeoutMs / 1000,
        },
        credential: (url) => gitCredential(project.auth, url),
        signal: options.signal,
        emit: (event) => forward(event, options),
      },
    );
    gitMissing ||= outcome.gitMissing;
    results.push(...outcome.results);
  }
  if (gitMissing) {
    const count = plans.reduce((n, p) => n + p.tasks.length, 0);
    options.emit({ type: 'warning', message: `git was not found on PATH: the ${count} git source ${count === 1 ? 'repository was' : 'repositories were'} not prefetched (composer install needs git for them too).` });
  }
  return { plans, results, gitMissing, failures: results.flatMap(failuresOf) };
}

/** The run's summary with the source packages' failures counted in (exit code 1, as for archives). */
export function withSourceFailures(summary: Summary, outcome: SourceOutcome | undefined): Summary {
  if (outcome === undefined) return summary;
  const real = outcome.failures.filter((f) => f.code !== 'E_ABORTED');
  if (real.length === 0) return summary;
  return { ...summary, failed: summary.failed + real.length, failures: [...summary.failures, ...real] };
}

/** A mirror's package as the archives' reporters know a task. */
export function mirrorDownloadTask(task: MirrorTask, ref: MirrorRef): DownloadTask {
  return {
    packageName: ref.packageName,
    version: ref.version,
    distType: 'git',
    urls: [sanitizeGitUrl(task.url)],
    cacheKey: `vcs/${path.basename(task.dir)}`,
    cachePath: task.dir,
    expectedSha1: undefined,
    dev: ref.dev,
    origins: [ref.origin],
  };
}

function forward(event: MirrorEvent, options: SourceStageOptions): void {
  switch (event.type) {
    case 'command':
      options.onCommand?.(event.args);
      return;
    case 'warning':
      options.emit(event);
      return;
    case 'started':
      options.emit({ type: 'started', task: mirrorDownloadTask(event.task, event.task.refs[0]!), url: sanitizeGitUrl(event.task.url), attempt: event.attempt });
      return;
    case 'retried':
      options.emit({ type: 'retried', task: mirrorDownloadTask(event.task, event.task.refs[0]!), url: sanitizeGitUrl(event.task.url), attempt: event.attempt, delayMs: event.delayMs, error: event.error });
      return;
    case 'result': {
      const r = event.result;
      for (const ref of r.task.refs) {
        const task = mirrorDownloadTask(r.task, ref);
        const missing = r.kind === 'cloned' || r.kind === 'updated' ? r.missing.find((m) => m.ref === ref) : undefined;
        if (r.kind === 'failed') options.emit({ type: 'failed', task, error: r.error });
        else if (missing !== undefined) options.emit({ type: 'failed', task, error: missing.error });
        else options.emit({ type: 'done', task, result: r.kind === 'cached' ? 'cached' : 'downloaded', bytes: r.kind === 'cached' ? 0 : (r.bytes ?? 0), url: r.kind === 'cached' ? undefined : sanitizeGitUrl(r.task.url) });
      }
      return;
    }
  }
}

function failuresOf(result: MirrorResult): FailedPackage[] {
  if (result.kind === 'cached') return [];
  const failed: { ref: MirrorRef; error: PrefetchError }[] = result.kind === 'failed' ? result.task.refs.map((ref) => ({ ref, error: result.error })) : [...result.missing];
  return failed.map(({ ref, error }) => ({
    packageName: ref.packageName,
    version: ref.version,
    url: sanitizeGitUrl(result.task.url),
    code: error.code,
    message: error.message,
    hint: error.hint,
    cause: failureCause(error),
    reason: failureReason(error),
  }));
}

