import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { caLocations } from '../net/ca-locations.js';
import type { AuthConfig } from '../auth/auth-headers.js';
import type { PrefetchError } from '../errors.js';
import type { ParsedInput } from '../lockfile/types.js';
import { failureCause, failureReason } from '../report/failure-cause.js';
import type { DownloadOptions, FailedPackage, PrefetchEvent, PreferredInstall } from '../types.js';
import { retryPolicyFor } from '../net/retry-policy.js';
import { fetchMirrors, type MirrorEvent, type MirrorResult } from './fetch-mirrors.js';
import { gitCredential } from './git-env.js';
import { stripCredentials } from './git-url.js';
import { mirrorDownloadTask, uniqueTasks, type SourceOutcome } from './mirror-report.js';
import { planMirrors, vcsCacheUsable, type MirrorRef } from './plan-mirrors.js';

export { gitMirrorEntries, mirrorDownloadTask, withSources, type SourceOutcome } from './mirror-report.js';

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
  readonly download: Pick<
    DownloadOptions,
    'concurrency' | 'perOrigin' | 'retries' | 'retryMaxTimeMs' | 'stallTimeoutMs' | 'connectTimeoutMs' | 'lowSpeedLimit'
  >;
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
      options.emit({
        type: 'warning',
        message: `cache-vcs-dir ${p.cacheVcsDir} is a null device: Composer keeps no git mirrors there, so source packages are not prefetched.`,
      });
    }
  }
  const plans = options.projects
    .filter((p) => vcsCacheUsable(p.cacheVcsDir))
    .map((p) => planMirrors(p.inputs, { cacheVcsDir: p.cacheVcsDir, noDev: options.noDev, preferredInstall: p.preferredInstall }));
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
  const planned = uniqueTasks(plans);
  // The progress reporters count these in, so the git stage is not a silent one after the archives.
  if (planned.length > 0) options.emit({ type: 'mirrors', tasks: planned.flatMap((t) => t.refs.map((ref) => mirrorDownloadTask(t, ref))) });
  if (options.mode === 'plan' || planned.length === 0) return { plans, results: [], gitMissing: false, failures: [] };

  const results: MirrorResult[] = [];
  let gitMissing = false;
  const seen = new Set<string>();
  /** Clones whose size is being read from disk before their `done` events go out. */
  const measuring: Promise<void>[] = [];
  const measured = new Map<string, number | undefined>();
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
        emit: (event) => {
          const r = event.type === 'result' ? event.result : undefined;
          if (r?.kind !== 'cloned') return forward(event, options);
          measuring.push(
            receivedSize(r).then((bytes) => {
              measured.set(r.task.dir, bytes);
              forward({ type: 'result', result: { ...r, bytes } }, options);
            }),
          );
        },
      },
    );
    await Promise.all(measuring);
    gitMissing ||= outcome.gitMissing;
    results.push(...outcome.results.map((r) => (r.kind === 'cloned' && measured.has(r.task.dir) ? { ...r, bytes: measured.get(r.task.dir) } : r)));
  }
  if (gitMissing) {
    const count = plans.reduce((n, p) => n + p.tasks.length, 0);
    options.emit({
      type: 'warning',
      message: `git was not found on PATH: the ${count} git source ${count === 1 ? 'repository was' : 'repositories were'} not prefetched (composer install needs git for them too).`,
    });
  }
  return { plans, results, gitMissing, failures: results.flatMap(failuresOf) };
}

/**
 * Bytes a clone received, as the mirror holds them: its pack(s), which index-pack stores as they
 * came over the wire, plus the loose objects a small clone is unpacked into (below git's
 * `transfer.unpackLimit`, compressed alike); else what git printed, else unknown.
 */
async function receivedSize(result: Extract<MirrorResult, { kind: 'cloned' | 'updated' }>): Promise<number | undefined> {
  const objects = path.join(result.task.dir, 'objects');
  const sizeOf = async (file: string): Promise<number> => (await stat(file).catch(() => undefined))?.size ?? 0;
  let bytes = 0;
  for (const name of await readdir(objects).catch(() => [] as string[])) {
    if (name === 'pack') {
      for (const pack of await readdir(path.join(objects, name)).catch(() => [] as string[]))
        if (pack.endsWith('.pack')) bytes += await sizeOf(path.join(objects, name, pack));
    } else if (/^[0-9a-f]{2}$/.test(name)) {
      for (const loose of await readdir(path.join(objects, name)).catch(() => [] as string[])) bytes += await sizeOf(path.join(objects, name, loose));
    }
  }
  return bytes > 0 ? bytes : result.bytes;
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
      options.emit({
        type: 'started',
        task: mirrorDownloadTask(event.task, event.task.refs[0]!),
        url: stripCredentials(event.task.url),
        attempt: event.attempt,
      });
      return;
    case 'retried':
      options.emit({
        type: 'retried',
        task: mirrorDownloadTask(event.task, event.task.refs[0]!),
        url: stripCredentials(event.task.url),
        attempt: event.attempt,
        delayMs: event.delayMs,
        error: event.error,
      });
      return;
    case 'result': {
      const r = event.result;
      for (const [i, ref] of r.task.refs.entries()) {
        const task = mirrorDownloadTask(r.task, ref);
        const missing = r.kind === 'cloned' || r.kind === 'updated' ? r.missing.find((m) => m.ref === ref) : undefined;
        if (r.kind === 'failed') options.emit({ type: 'failed', task, error: r.error });
        else if (missing !== undefined) options.emit({ type: 'failed', task, error: missing.error });
        else
          options.emit({
            type: 'done',
            task,
            result: r.kind === 'cached' ? 'cached' : 'downloaded',
            bytes: r.kind === 'cached' || i > 0 ? 0 : (r.bytes ?? 0),
            url: r.kind === 'cached' ? undefined : stripCredentials(r.task.url),
          });
      }
      return;
    }
  }
}

function failuresOf(result: MirrorResult): FailedPackage[] {
  if (result.kind === 'cached') return [];
  const failed: { ref: MirrorRef; error: PrefetchError }[] =
    result.kind === 'failed' ? result.task.refs.map((ref) => ({ ref, error: result.error })) : [...result.missing];
  return failed.map(({ ref, error }) => ({
    vcs: 'git' as const,
    packageName: ref.packageName,
    version: ref.version,
    url: stripCredentials(result.task.url),
    code: error.code,
    message: error.message,
    hint: error.hint,
    cause: failureCause(error),
    reason: failureReason(error),
  }));
}
