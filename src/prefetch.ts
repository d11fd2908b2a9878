import type { Dispatcher } from 'undici';
import { setMaxListeners } from 'node:events';
import { statSync } from 'node:fs';
import path from 'node:path';
import { explainAuthFailure } from './auth/auth-failure.js';
import { authHeaders } from './auth/auth-headers.js';
import { loadAuth, type LoadedAuth } from './auth/load-auth.js';
import { transportHeadersFor } from './auth/transport-headers.js';
import type { BackendSetup } from './backends/pick-backend.js';
import type { Backend, DownloadTask, FailedPackage, FetchContext, Plan, PrefetchEvent, RequestPolicy, SettledTask, Summary, TaskResult } from './types.js';
import { assertUsableCacheDir } from './cache/check-cache-dir.js';
import { createCacheGate } from './cache/cache-gate.js';
import { inspectCachedArchive } from './cache/commit.js';
import { cacheRootOf, resolvesInside } from './cache/contained-dir.js';
import { sizeHints, orderLargestFirst } from './cache/size-hints.js';
import { cleanStaleTempFiles } from './cache/temp-files.js';
import { cacheDisabledReason, resolveCacheDirs, withoutDotSegments } from './config/cache-dir.js';
import { loadComposerConfig, type ComposerConfig } from './config/composer-config.js';
import { resolveComposerHome, type Environment } from './config/composer-home.js';
import type { PrefetchOptions } from './config/options.js';
import { PROJECT_DEFAULTS_KEY, readProjectDefaults } from './config/project-defaults.js';
import { CacheStateError, PrefetchError, toPrefetchError } from './errors.js';
import { groupByProject, type ProjectGroup } from './lockfile/project-dir.js';
import { readInputs } from './lockfile/read-inputs.js';
import { createRequestPolicy } from './net/request-policy.js';
import { validateMirrorTemplate } from './plan/mirror-urls.js';
import { mergePlans, planDownloads } from './plan/plan-downloads.js';
import { failureCause, failureHint, failureReason } from './report/failure-cause.js';
import type { ClientTls } from './net/dispatcher.js';
import { createCheckPool, type CheckPool } from './verify/check-pool.js';
import { DEFAULT_VERIFY_LEVEL } from './verify/archive.js';
import { installsFromMirror } from './vcs/plan-mirrors.js';
import type { SourceOutcome } from './vcs/mirror-report.js';

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
  /** Each git command of the source stage (its arguments hold no credential), for `-v`. */
  readonly onGitCommand?: (args: readonly string[]) => void;
}

export type { BackendSetup };

export interface PrefetchResult {
  readonly plan: Plan;
  readonly summary: Summary;
  readonly results: readonly TaskResult[];
  /** The Composer settings used (the CLI compares the cache size with `cacheFilesMaxsize`). */
  readonly config: ComposerConfig;
  /** The git mirrors of source packages (`--no-source`, or none in the lock: undefined). */
  readonly sources?: SourceOutcome | undefined;
}

/**
 * The run, as named stages: load projects → plan → inspect the cache → download (verify, commit)
 * → git mirrors → summarise. Never touches process.* or stdout; everything it has to say goes
 * through `deps.emit` and the result.
 */
export async function prefetch(options: PrefetchOptions, deps: PrefetchDeps): Promise<PrefetchResult> {
  const now = deps.now ?? Date.now;
  const started = now();
  // Every in-flight request and backoff sleep listens on this one signal; hundreds at once are
  // expected here, not a leak, so Node's 10-listener warning would only be noise on stderr.
  setMaxListeners(0, deps.signal);
  assertUsableOptions(options);

  const { groups, projects } = await loadProjects(options, deps);
  const { plan, tasks } = planProjects(projects, options);
  const config = projects[0]!.config;
  await announcePlan(plan, groups, projects, options, deps);

  const checks = createCheckPool({ maxUnpackedBytes: options.download.maxUnpackedBytes });
  let result: PrefetchResult;
  try {
    if (options.dryRun) {
      const looked = await lookUpCache({ plan, tasks, config, options, deps, checks, started });
      const sources = await prefetchSourceMirrors('plan', options, projects, deps);
      if (sources === undefined) return looked;
      const { withSources } = await import('./vcs/mirror-report.js');
      return { ...looked, ...withSources(looked.plan, looked.summary, sources), sources };
    }
    // inspect the cache, then download what is missing or invalid (each archive verified, then committed)
    result = await checkAndDownload({ plan, tasks, config, options, projects, deps, checks, started });
  } finally {
    await checks.close();
  }
  const sources = deps.signal.aborted ? undefined : await prefetchSourceMirrors(options.verifyOnly ? 'check' : 'fetch', options, projects, deps);
  if (sources === undefined) return result;
  const { withSources } = await import('./vcs/mirror-report.js');
  // The mirror packages counted like archives (and no longer as skipped for want of a dist).
  const counted = withSources(result.plan, result.summary, sources);
  // An interrupt during the git stage is an interrupted run too (exit 130), not a clean one.
  return {
    ...result,
    sources,
    plan: counted.plan,
    summary: { ...counted.summary, durationMs: now() - started, interrupted: result.summary.interrupted || deps.signal.aborted },
  };
}

/** Option combinations that cannot run, refused before anything is read or downloaded. */
function assertUsableOptions(options: PrefetchOptions): void {
  // An error, not a warning: an aria2c given and silently unused means the run uses another engine
  // than its user believes, and a warning scrolls past in a CI log. Stopping costs one edit.
  if (options.aria2c !== undefined && options.backend !== 'aria2') {
    throw new PrefetchError('E_USAGE', `--aria2c is only used with --backend aria2; this run's backend is ${options.backend}`, {
      hint: 'Add --backend aria2 (or COMPOSER_PREFETCH_BACKEND=aria2) to download with aria2c, or leave out --aria2c (and COMPOSER_PREFETCH_ARIA2C).',
    });
  }
}

/**
 * Stage 1: the inputs, grouped by project. Each input is judged by its own project's Composer
 * config and auth.json, as `composer install` in that project would; with one project (the usual
 * case) this is simply the working directory.
 */
async function loadProjects(options: PrefetchOptions, deps: PrefetchDeps): Promise<{ groups: ProjectGroup[]; projects: Project[] }> {
  const { environment } = deps;
  const inputs = await readInputs(options.inputs, {
    cwd: options.cwd,
    composerEnv: environment.env['COMPOSER'],
    readStdin: deps.readStdin,
  });
  const groups = groupByProject(inputs, options.cwd, environment.env['COMPOSER']);
  const projects = await Promise.all(groups.map((group) => loadProject(group, options, environment)));
  return { groups, projects };
}

/** Stage 2: every project's plan (pure), merged, with each task's project rules settled on it. */
function planProjects(projects: readonly Project[], options: PrefetchOptions): { plan: Plan; tasks: SettledTask[] } {
  const plans = projects.map((project) =>
    planDownloads(project.group.inputs, {
      cacheFilesDir: project.cacheFilesDir,
      noDev: options.noDev,
      githubDomains: project.auth.githubDomains,
      gitlabDomains: project.auth.gitlabDomains,
      mirrors: { templates: options.mirrors.map(validateMirrorTemplate), includePrivate: options.mirrorPrivate === true },
      preferredInstall: project.config.preferredInstall,
    }),
  );
  const plan = mergePlans(plans);
  return { plan, tasks: settleTasks(plan, plans, projects) };
}

/** The plan and what the configuration says about it, before any download. */
async function announcePlan(
  plan: Plan,
  groups: readonly ProjectGroup[],
  projects: readonly Project[],
  options: PrefetchOptions,
  deps: PrefetchDeps,
): Promise<void> {
  // Config problems Composer itself would print (a bad cache-files-maxsize, domains of the wrong type).
  for (const warning of new Set(projects.flatMap((p) => [...p.config.warnings, ...p.auth.warnings]))) deps.emit({ type: 'warning', message: warning });
  for (const warning of await unusedProjectDefaults(groups, options.cwd, deps.environment.env)) deps.emit({ type: 'warning', message: warning });
  deps.emit({ type: 'planned', plan });
  for (const warning of plan.warnings) deps.emit({ type: 'warning', message: warning });
  if (projects.some((p) => p.config.cacheReadOnly)) {
    deps.emit({
      type: 'warning',
      message:
        "Composer's cache is read-only (cache-read-only / COMPOSER_CACHE_READ_ONLY): prefetched archives are still read by `composer install`, which will not add or remove any itself.",
    });
  }
}

/**
 * After the archives: the git mirrors of packages `composer install` takes from source, in
 * Composer's `cache-vcs-dir` (src/vcs). Loaded only when a lock has such a package.
 */
async function prefetchSourceMirrors(
  mode: 'plan' | 'check' | 'fetch',
  options: PrefetchOptions,
  projects: readonly Project[],
  deps: PrefetchDeps,
): Promise<SourceOutcome | undefined> {
  if (options.source === false) return undefined;
  if (!projects.some((p) => p.group.inputs.some((i) => i.packages.some((pkg) => installsFromMirror(pkg, p.config.preferredInstall))))) return undefined;
  const { prefetchSources } = await import('./vcs/source-stage.js');
  return prefetchSources({
    projects: projects.map((p) => ({
      inputs: p.group.inputs,
      dir: p.group.dir,
      cacheVcsDir: p.cacheVcsDir,
      preferredInstall: p.config.preferredInstall,
      auth: p.auth,
      configSections: [p.config.global, p.config.project],
      secureHttp: p.config.secureHttp,
    })),
    noDev: options.noDev,
    download: options.download,
    mode,
    env: deps.environment.env,
    signal: deps.signal,
    emit: deps.emit,
    ...(deps.onGitCommand === undefined ? {} : { onCommand: deps.onGitCommand }),
  });
}

/** Each task's archive as the cache holds it, looked at 16 at a time. */
async function inspectCache(tasks: readonly SettledTask[], options: PrefetchOptions, checks: CheckPool) {
  // Already in the cache and valid → nothing to do. Invalid → downloaded again and replaced.
  // `verify` checks at the chosen level (deep by default: inflating finds bit-rot in a restored
  // cache). A prefetch run checks what is cached at `structure` level unless told otherwise:
  // deep-checking every cached byte costs ~14 CPU-s per GB of zip (bench/RESULTS.md), ~1.4 CPU-s
  // for 100 MB of cached zips, which would break the < 0.5 s no-op; what this tool committed was already
  // deep-checked on the way in, and truncation (a half-written file) fails the structure check.
  const level = options.verifyOnly ? (options.verifyLevel ?? DEFAULT_VERIFY_LEVEL) : (options.cachedVerifyLevel ?? 'structure');
  // A cache path that cannot even be looked at (ENAMETOOLONG, EACCES on its vendor dir) fails
  // that package only; the others go on.
  const inspect = async (task: SettledTask) => {
    try {
      return { task, ...(await inspectCachedArchive(task, { level, check: checks.check })) };
    } catch (error) {
      return { task, state: 'unreadable' as const, reason: undefined, error: toPrefetchError(error, 'E_CACHE', { packageName: task.packageName }) };
    }
  };
  // 16 at a time, in the plan's order; 16 runners take the next task, so no promise or closure
  // is made per task up front (50,000 queued promises were ~30 MB of peak RSS, bench/scale.js).
  const states = new Array<Awaited<ReturnType<typeof inspect>>>(tasks.length);
  let next = 0;
  const runner = async (): Promise<void> => {
    while (next < tasks.length) {
      const i = next++;
      states[i] = await inspect(tasks[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(16, tasks.length) }, runner));
  return states;
}

/**
 * `--dry-run`: the cache looked at as a prefetch run would (same level), nothing written. The plan
 * comes back with `inCache`, so its listing says what is there and what would be downloaded.
 */
async function lookUpCache(run: {
  readonly plan: Plan;
  readonly tasks: readonly SettledTask[];
  readonly config: ComposerConfig;
  readonly options: PrefetchOptions;
  readonly deps: PrefetchDeps;
  readonly checks: CheckPool;
  readonly started: number;
}): Promise<PrefetchResult> {
  const { plan, tasks, config, options, deps, checks, started } = run;
  const now = deps.now ?? Date.now;
  const states = await inspectCache(tasks, options, checks);
  const cached = states.filter((s) => s.state === 'valid').map((s) => s.task);
  const pending = states.filter((s) => s.state !== 'valid').map((s) => s.task);
  for (const task of cached) deps.emit({ type: 'done', task, result: 'cached', bytes: 0, url: undefined });
  let cachedBytes = 0;
  for (const task of cached) cachedBytes += statSync(task.cachePath, { throwIfNoEntry: false })?.size ?? 0;
  const hints = pending.length === 0 ? new Map<DownloadTask, number>() : await sizeHints(pending);
  const pendingBytes = pending.every((t) => hints.has(t)) ? pending.reduce((sum, t) => sum + hints.get(t)!, 0) : undefined;
  deps.emit({ type: 'checked', cacheFilesDir: plan.cacheFilesDir, cached: cached.length, pending: pending.length });
  const looked: Plan = { ...plan, inCache: { cachedKeys: new Set(cached.map((t) => t.cacheKey)), cachedBytes, pendingBytes } };
  const summary = summarise(options, looked, cached, [], now() - started, deps.signal.aborted);
  return { plan: looked, summary, results: [], config };
}

/** The planned run from the cache check on; `checks` runs deep archive checks off the main thread. */
async function checkAndDownload(run: {
  readonly plan: Plan;
  /** `plan.tasks`, each with its project's request policy. */
  readonly tasks: readonly SettledTask[];
  readonly config: ComposerConfig;
  readonly options: PrefetchOptions;
  readonly projects: readonly Project[];
  readonly deps: PrefetchDeps;
  readonly checks: CheckPool;
  readonly started: number;
}): Promise<PrefetchResult> {
  const { plan, tasks, config, options, projects, deps, checks, started } = run;
  const now = deps.now ?? Date.now;
  const states = await inspectCache(tasks, options, checks);
  const cached = states.filter((s) => s.state === 'valid').map((s) => s.task);
  for (const task of cached) deps.emit({ type: 'done', task, result: 'cached', bytes: 0, url: undefined });
  const unreadable: TaskResult[] = states.flatMap((s) =>
    s.state === 'unreadable' ? [{ kind: 'failed' as const, task: s.task, attempts: 0, error: s.error }] : [],
  );
  const pending = states.filter((s) => s.state === 'missing' || s.state === 'invalid').map((s) => s.task);

  if (options.verifyOnly) {
    const results: TaskResult[] = states.flatMap((s) =>
      s.state === 'valid'
        ? []
        : [
            {
              kind: 'failed' as const,
              task: s.task,
              attempts: 0,
              error: new CacheStateError({
                packageName: s.task.packageName,
                version: s.task.version,
                state: s.state,
                path: s.task.cachePath,
                // A path this user may not look at is not "missing": say what stopped the check.
                reason: s.state === 'unreadable' ? unreadableReason(s.error) : s.reason,
              }),
            },
          ],
    );
    for (const result of results) if (result.kind === 'failed') deps.emit({ type: 'failed', task: result.task, error: result.error });
    const summary = summarise(options, plan, cached, results, now() - started, false);
    return { plan, summary, results, config };
  }

  // The network stack (undici and the backends, ~40 modules, ~30 ms of start-up) is loaded only
  // when something is to be downloaded (a no-op run never needs it), while the cache dir is checked.
  const network = pending.length > 0 ? loadNetwork() : undefined;
  // Handled here too, so a failed import waits (unreported) for the `await` below that throws it.
  network?.catch(() => undefined);
  // Once, before any download: a cache dir that cannot take files would fail every package alike
  // (the packages whose path could not even be read count: a dir of another user says EACCES).
  if (pending.length + unreadable.length > 0) {
    const byDir = new Map(projects.map((p) => [path.resolve(p.cacheFilesDir), p]));
    const dirs = new Map<string, string>();
    for (const task of [...pending, ...unreadable.map((r) => r.task)]) {
      const project = byDir.get(path.resolve(cacheRootOf(task))) ?? projects[0]!;
      dirs.set(project.cacheFilesDir, project.cacheSource);
    }
    for (const [dir, source] of dirs) await assertUsableCacheDir(dir, source);
  }
  // Only now: "prefetching into <dir>" is not said of a directory that cannot take the files.
  deps.emit({ type: 'checked', cacheFilesDir: plan.cacheFilesDir, cached: cached.length, pending: pending.length + unreadable.length });
  for (const result of unreadable) if (result.kind === 'failed') deps.emit({ type: 'failed', task: result.task, error: result.error });
  const results = [...unreadable, ...(network === undefined ? [] : await download(pending, options, projects, deps, checks, await network))];
  const summary = summarise(options, plan, cached, results, now() - started, deps.signal.aborted);
  return { plan, summary, results, config };
}

/** Why a cache path could not be inspected, for people: "permission denied", or the error's own words. */
function unreadableReason(error: PrefetchError): string {
  const code = (error.cause as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied: this user cannot read it';
  return error.message;
}

/** The modules only a download needs (undici and the backends). */
function loadNetwork() {
  return Promise.all([import('./net/dispatcher.js'), import('./backends/pick-backend.js')]);
}

async function download(
  pending: readonly SettledTask[],
  options: PrefetchOptions,
  projects: readonly Project[],
  deps: PrefetchDeps,
  checks: CheckPool,
  network: Awaited<ReturnType<typeof loadNetwork>>,
): Promise<TaskResult[]> {
  // Deep checks will run on the check thread: start it now, beside the set-up below and the first
  // transfers, not when the first archive is waiting for it.
  if ((options.verifyLevel ?? DEFAULT_VERIFY_LEVEL) === 'deep' && pending.some((t) => t.expectedSha1 === undefined)) checks.warm();
  const dirs = new Map(pending.map((t) => [path.dirname(t.cachePath), cacheRootOf(t)]));
  // Never through a link that leaves the cache: files there are not ours to delete. Best effort: a
  // directory that cannot be listed fails its own packages later, with their own message. Beside
  // the downloads, not before them: only other runs' temp files (older, or of dead processes) go.
  const cleaned = Promise.all(
    [...dirs].map(
      async ([dir, root]) =>
        (await resolvesInside(dir, root).catch(() => false)) && cleanStaleTempFiles(dir, { olderThanMs: STALE_TEMP_MS, removeDead: true }).catch(() => 0),
    ),
  );
  try {
    return await fetchPending(pending, options, projects, deps, checks, network);
  } finally {
    await cleaned;
  }
}

/** `download` once the network stack is loaded: the dispatcher, the backend, the fetches. */
async function fetchPending(
  pending: readonly SettledTask[],
  options: PrefetchOptions,
  projects: readonly Project[],
  deps: PrefetchDeps,
  checks: CheckPool,
  [{ caLocations, createDispatcher, loadCa, loadClientCertificates, resolveProxySettings }, { pickBackend }]: Awaited<ReturnType<typeof loadNetwork>>,
): Promise<TaskResult[]> {
  const [first] = projects;
  if (first === undefined) return [];
  const d = options.download;
  // Proxies from the environment (Composer ≥ 2.7.3 rules) and Composer's cafile/capath. One
  // connection pool serves every project: the first project's CA settings apply to all.
  const config = first.config;
  const ca = await loadCa(caLocations([config.global, config.project], first.group.dir));
  const caSettings = (p: Project): string => JSON.stringify(caLocations([p.config.global, p.config.project], p.group.dir));
  if (projects.some((p) => caSettings(p) !== caSettings(first))) {
    deps.emit({ type: 'warning', message: `The projects set different cafile/capath; ${first.group.dir}'s are used for every download.` });
  }
  const env = deps.environment.env;
  // auth.json `client-certificate` (Composer 2.10): each project's entries, the first project's winning for an origin.
  const clientCertificates = new Map<string, ClientTls>();
  for (const p of projects) {
    if (p.auth.clientCertificates === undefined || p.auth.clientCertificates.size === 0) continue;
    for (const [origin, tls] of await loadClientCertificates(p.auth.clientCertificates, p.group.dir))
      if (!clientCertificates.has(origin)) clientCertificates.set(origin, tls);
  }
  const dispatcher = createDispatcher({ ...d, ca, clientCertificates }, env);
  const freshDispatcher = (): Dispatcher => createDispatcher({ ...d, perOrigin: 1, ca, clientCertificates }, env);
  const setup: BackendSetup = {
    backend: options.backend,
    aria2c: options.aria2c,
    dispatcher,
    freshDispatcher,
    network: { proxies: resolveProxySettings(env), ca },
  };
  const backend = deps.createBackend ? await deps.createBackend(setup) : await pickBackend(setup);
  const ctx: FetchContext = {
    signal: deps.signal,
    options: d,
    emit: deps.emit,
    accept: createCacheGate({ level: options.verifyLevel ?? DEFAULT_VERIFY_LEVEL, check: checks.check }),
  };
  try {
    // Big archives first (sizes of older versions already in the cache), so they are split early.
    const hints = await sizeHints(pending);
    deps.emit({ type: 'sized', sizes: new Map([...hints].map(([task, bytes]) => [task.cacheKey, bytes])) });
    const ordered = orderLargestFirst(pending, hints, Math.max(d.splitMinBytes, 1024 * 1024));
    return await backend.fetchAll(ordered, ctx);
  } finally {
    await backend.close().catch(() => undefined);
    await dispatcher.close().catch(() => undefined);
  }
}

/**
 * `plan.tasks` with their project settled: an archive several projects' locks share is fetched
 * with the settings (auth.json, secure-http) of the first project that planned it.
 */
function settleTasks(plan: Plan, plans: readonly Plan[], projects: readonly Project[]): SettledTask[] {
  const policies = new Map<string, RequestPolicy>();
  plans.forEach((p, i) => {
    for (const t of p.tasks) if (!policies.has(t.cachePath)) policies.set(t.cachePath, projects[i]!.policy);
  });
  // `{ policy, ...task }`, not `{ ...task, policy }`: V8 gives an object that gains a property
  // after a spread a new out-of-object property store, ~480 instead of ~140 bytes per task
  // (50,000 tasks: ~17 MB more peak heap, bench/scale.js).
  return plan.tasks.map((task) => ({ policy: withTransportHeaders(policies.get(task.cachePath)!, task), ...task }));
}

/**
 * The project's rules plus the lock's `transport-options.http.header` lines for this task, so a
 * backend asks one policy for every header of a request and never reads auth/ itself. The
 * project's credentials win over a lock header of the same name, as before. A task without such
 * lines shares its project's policy object.
 */
function withTransportHeaders(policy: RequestPolicy, task: DownloadTask): RequestPolicy {
  if (task.transportHeaders === undefined || task.transportHeaders.length === 0) return policy;
  return { ...policy, headersFor: (url) => ({ ...transportHeadersFor(task, url), ...policy.headersFor(url) }) };
}

/** One Composer project's settings: where its cache is, its config, its credentials. */
interface Project {
  readonly group: ProjectGroup;
  readonly config: ComposerConfig;
  readonly auth: LoadedAuth;
  readonly cacheFilesDir: string;
  /** `cache-vcs-dir`: where `composer install` looks for git mirrors. */
  readonly cacheVcsDir: string;
  /** Where `cacheFilesDir` comes from, for messages. */
  readonly cacheSource: string;
  readonly policy: RequestPolicy;
}

/**
 * One run has one set of options, so `extra.composer-prefetch` is read from the working
 * directory's composer.json only (cli/project-options.ts), while Composer's own config
 * (secure-http, auth, cache-dir) is read per lock from the composer.json beside it, as
 * `composer install` there would. A lock's project that holds its own block would otherwise be
 * silently ignored: say so, and how to use it.
 */
async function unusedProjectDefaults(groups: readonly ProjectGroup[], cwd: string, env: Readonly<Record<string, string | undefined>>): Promise<string[]> {
  const warnings: string[] = [];
  for (const group of groups) {
    if (path.resolve(group.dir) === path.resolve(cwd)) continue;
    // A malformed file is reported where its config is read (loadComposerConfig).
    const found = await readProjectDefaults({ cwd: group.dir, env: { ...env, COMPOSER: group.composerFile } }).catch(() => undefined);
    if (found === undefined) continue;
    const file = path.relative(cwd, path.join(group.dir, group.composerFile)) || group.composerFile;
    const dir = path.relative(cwd, group.dir) || '.';
    warnings.push(
      `${file}: extra.${PROJECT_DEFAULTS_KEY} is not applied: options come from the working directory's composer.json only ` +
        `(its Composer config, such as secure-http, is used for its lock); run with -d ${dir} to use them`,
    );
  }
  return warnings;
}

async function loadProject(group: ProjectGroup, options: PrefetchOptions, environment: Environment): Promise<Project> {
  // Composer runs in the project: relative paths in its config resolve there, and COMPOSER names its composer.json.
  const env = { ...environment.env, COMPOSER: group.composerFile };
  const here: Environment = { ...environment, env, cwd: group.dir };
  const composerHome = resolveComposerHome(here);
  const config = await loadComposerConfig({ cwd: group.dir, env, composerHome });
  const dirs = resolveCacheDirs(
    here,
    { project: config.project, global: config.global },
    options.cacheDir === undefined ? {} : { cacheDir: path.resolve(options.cwd, options.cacheDir) },
  );
  const disabled = cacheDisabledReason(dirs.cacheFilesDir, config);
  if (disabled !== undefined) {
    throw new PrefetchError('E_CACHE', disabled, { hint: 'Prefetching would have no effect: Composer would not read the cache.' });
  }
  // auth.json / COMPOSER_AUTH can add github/gitlab domains (2.5+), which changes cache keys.
  const auth = await loadAuth({
    cwd: group.dir,
    env,
    composerHome,
    projectFile: config.projectFile,
    projectConfig: config.project,
    globalConfig: config.global,
    githubDomains: config.githubDomains,
    gitlabDomains: config.gitlabDomains,
  });
  const policy = createRequestPolicy({
    secureHttp: config.secureHttp,
    credentialsFor: (url) => authHeaders(auth, url),
    explainFailure: (error) => explainAuthFailure(error, auth),
    clientCertificateOrigins: new Set(auth.clientCertificates?.keys() ?? []),
  });
  const cacheSource = options.cacheDir === undefined ? dirs.source : `--cache-dir ${options.cacheDir}`;
  return { group, config, auth, cacheFilesDir: withoutDotSegments(dirs.cacheFilesDir), cacheVcsDir: withoutDotSegments(dirs.cacheVcsDir), cacheSource, policy };
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
  let unfinished = 0;
  for (const result of results) {
    if (result.kind === 'downloaded') {
      downloaded++;
      bytes += result.bytes;
    } else {
      const error = toPrefetchError(result.error);
      // Not a failure of the package: the user stopped the run, and a rerun fetches it.
      if (error.code === 'E_ABORTED') {
        unfinished++;
        continue;
      }
      failures.push({
        packageName: result.task.packageName,
        version: result.task.version,
        url: error.url,
        code: error.code,
        message: error.message,
        hint: failureHint(error),
        cause: failureCause(error),
        reason: failureReason(error),
        ...(error instanceof CacheStateError ? { cacheState: error.state } : {}),
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
    // Tasks a backend dropped from its queue on interrupt may have no result at all.
    unfinished: interrupted ? Math.max(unfinished, plan.tasks.length - cached.length - downloaded - failures.length) : unfinished,
    bytes,
    durationMs,
    failures,
    interrupted,
  };
}
