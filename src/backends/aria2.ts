import { randomBytes } from 'node:crypto';
import { mkdir, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import { makeDirectories } from '../cache/make-dirs.js';
import { isOwnerGone, ownedName, removeQuietly } from '../cache/temp-files.js';
import { PrefetchError, toPrefetchError } from '../errors.js';
import { maxSizeError } from './transfer-watch.js';
import {
  aria2ConfFile,
  aria2Environment,
  aria2DownloadOptions,
  aria2ProcessArgs,
  isSupportedAria2Version,
  MIN_ARIA2_VERSION,
  parseAria2Version,
} from './aria2-options.js';
import { aria2FailureToError } from './aria2-errors.js';
import { Aria2Rpc } from './aria2-rpc.js';
import { TransferBudget } from './transfer-budget.js';
import { isPushback, type HttpAnswer } from '../net/http-status.js';
import { isResetLike } from '../net/network-error.js';
import { Aria2LogReader, type Aria2Exchange, type Aria2Request } from './aria2-log.js';
import type { Backend, DownloadOptions, DownloadTask, FetchContext, SettledTask, StagedFile, TaskResult } from '../types.js';
import { abortedError, fetchTask } from './fetch-loop.js';
import { retryPolicyFor, type RetryPolicy } from '../net/retry-policy.js';
import type { ProxySettings } from '../net/dispatcher.js';

const POLL_INTERVAL_MS = 100;
/** Longest wait for aria2's log to show the response that RPC already reported as failed. */
const LOG_LAG_MS = 1000;
const READY_TIMEOUT_MS = 10_000;
/** A staging dir this old belongs to a run that was killed with SIGKILL (live runs touch theirs). */
const STALE_STAGING_MS = 6 * 60 * 60 * 1000;
const STAGING_PREFIX = '.composer-prefetch-aria2-';
const STAGING_NAME = /^\.composer-prefetch-aria2-(\d+)-[0-9a-f]+(?:\.([0-9a-f]{8}))?$/;
const SPAWN_OPTIONS = { stdin: 'ignore', detached: true, reject: false, buffer: false } as const;
/** The part of an execa subprocess the session uses; `done` settles when aria2c has exited. */
interface Aria2Process {
  readonly kill: (signal: NodeJS.Signals) => boolean;
  readonly stdout: NodeJS.ReadableStream | null;
  readonly stderr: NodeJS.ReadableStream | null;
  readonly done: Promise<void>;
}
const TELL_KEYS = ['gid', 'status', 'totalLength', 'completedLength', 'errorCode', 'errorMessage'];

const INSTALL_HINT =
  'Install aria2 (Debian/Ubuntu: `sudo apt-get install aria2`, macOS: `brew install aria2`, Windows: `choco install aria2`), pass its path with --aria2c PATH, or use --backend native.';

export interface Aria2BackendOptions {
  /** aria2c binary; `aria2c` on PATH when undefined. */
  readonly aria2c: string | undefined;
  readonly retryPolicy?: RetryPolicy;
  readonly random?: () => number;
  readonly userAgent?: string;
  /** The run's slots and per-origin gates, when other transports share them (pick-backend.ts sizes it). */
  readonly budget?: TransferBudget;
  /** Proxies and CA certificates, as the native backend uses them (net/dispatcher.ts). */
  readonly network?: { readonly proxies: ProxySettings; readonly ca: readonly string[] | undefined };
}

/** Runs `aria2c --version`; E_BACKEND (exit 2) with an install hint when it is missing or older than 1.19. */
async function probeAria2(bin: string): Promise<string> {
  let stdout: string;
  try {
    const r = await execa(bin, ['--version'], { stdin: 'ignore', timeout: 10_000 });
    stdout = String(r.stdout);
  } catch (error) {
    const code = (error as { code?: string }).code;
    const why = code === 'ENOENT' ? 'was not found' : code === 'EACCES' ? 'is not executable' : 'did not run';
    throw new PrefetchError('E_BACKEND', `--backend aria2: ${bin} ${why}`, { hint: INSTALL_HINT, cause: error });
  }
  const version = parseAria2Version(stdout);
  if (version === undefined) {
    throw new PrefetchError('E_BACKEND', `--backend aria2: ${bin} --version did not print an aria2 version`, { hint: INSTALL_HINT });
  }
  if (!isSupportedAria2Version(version)) {
    throw new PrefetchError('E_BACKEND', `--backend aria2: ${bin} is aria2 ${version.join('.')}, at least ${MIN_ARIA2_VERSION.join('.')} is needed`, {
      hint: INSTALL_HINT,
    });
  }
  return version.join('.');
}

/** `<cache-files-dir>` from a task: its cache path minus the cache key. */
function cacheFilesDirOf(task: DownloadTask): string {
  return task.cachePath.slice(0, task.cachePath.length - task.cacheKey.length);
}

/**
 * aria2 moves the bytes; we keep everything else. It carries no per-request headers (see
 * `needsPerRequestHeaders`, pick-backend.ts, which routes such tasks elsewhere). Each task gets one URL at a time (mirrors are
 * tried in order by us), aria2 writes into a private staging dir inside the task's own cache dir
 * (one per cache dir: the projects of one run may keep theirs on different filesystems), and every
 * finished file goes through `ctx.accept` like the native backend's. Retries follow the shared
 * retry policy, so events, summary and `--json` are the same for both backends.
 */
export async function createAria2Backend(options: Aria2BackendOptions): Promise<Backend> {
  const bin = options.aria2c ?? 'aria2c';
  const version = await probeAria2(bin);
  const random = options.random ?? Math.random;
  const userAgent = options.userAgent ?? `composer-prefetch aria2/${version}`;
  const sessions = new Set<Aria2Session>();

  return {
    name: 'aria2',
    async fetchAll(tasks: readonly SettledTask[], ctx: FetchContext): Promise<TaskResult[]> {
      if (tasks.length === 0) return [];
      const session = await Aria2Session.start({
        bin,
        cacheFilesDir: cacheFilesDirOf(tasks[0]!),
        download: ctx.options,
        signal: ctx.signal,
        network: options.network,
      });
      sessions.add(session);
      try {
        const policy = retryPolicyFor(ctx.options, options.retryPolicy);
        const budget = options.budget ?? new TransferBudget();
        if (options.budget === undefined) budget.size(ctx.options);
        const deps: TaskDeps = { ctx, budget, policy, random, userAgent, session };
        return await Promise.all(tasks.map((task, index) => runTask(task, index, deps)));
      } finally {
        await session.stop();
        sessions.delete(session);
      }
    },
    async close() {
      await Promise.all([...sessions].map((s) => s.stop()));
      sessions.clear();
    },
  };
}

interface TaskDeps {
  readonly ctx: FetchContext;
  /** Global slots and per-origin gates, shared with the other transports of the run. */
  readonly budget: TransferBudget;
  readonly policy: RetryPolicy;
  readonly random: () => number;
  readonly userAgent: string;
  readonly session: Aria2Session;
}

/**
 * The shared loop, with aria2 doing the transfer. After a failed verification the next attempt
 * goes out unsplit (`whole`): aria2 may have assembled the file from ranges we cannot check.
 */
function runTask(task: SettledTask, index: number, deps: TaskDeps): Promise<TaskResult> {
  const { ctx } = deps;
  let whole = false;
  return fetchTask(
    task,
    ctx,
    { policy: deps.policy, random: deps.random },
    {
      async attempt(url, attempt, scope) {
        // secure-http for the first hop; the hops aria2 follows are checked as its log shows them (`transfer`).
        task.policy.assertAllowed(new URL(url));
        // One aria2 download holds one slot of its first host's gate (aria2 follows redirects itself).
        const host = new URL(url).host;
        const release = await deps.budget.acquire(host, scope.signal);
        const { gate } = deps.budget;
        const sentAt = gate.now();
        try {
          scope.started();
          ctx.emit({ type: 'started', task, url: task.policy.redact(url), attempt });
          const staged = await transfer(task, url, `p${index}-a${attempt}.part`, deps, { signal: scope.signal, whole, sentAt });
          gate.succeeded(host);
          return staged;
        } catch (error) {
          if (isResetLike((error as { cause?: unknown }).cause ?? error)) gate.reset(host, sentAt);
          throw error;
        } finally {
          release();
        }
      },
      rejected() {
        whole = true;
      },
    },
  );
}

/** One aria2 download of one URL into staging. Returns the staged file, or throws the mapped error. */
async function transfer(
  task: SettledTask,
  url: string,
  out: string,
  deps: TaskDeps,
  how: { readonly signal: AbortSignal; readonly whole: boolean; readonly sentAt: number },
): Promise<StagedFile> {
  const { ctx, session } = deps;
  const shown = task.policy.redact(url);
  // Staged in the task's own cache dir, so accepting the file is a rename within one filesystem.
  const stagingDir = await session.stagingDirFor(cacheFilesDirOf(task), task.packageName);
  const file = path.join(stagingDir, out);
  // aria2 follows redirects itself; each hop it reports is checked against secure-http as the
  // native backend checks it before sending (Composer's `CurlDownloader::handleRedirect`). aria2
  // may have sent that hop's request already, but nothing it serves is kept.
  const refuse = new AbortController();
  let refused: PrefetchError | undefined;
  const exchanges = session.watch(
    url,
    (answered, answer) => {
      ctx.emit({ type: 'exchange', task, url: task.policy.redact(answered.href), status: answer?.status });
      if (answer !== undefined && isPushback(answer.status)) deps.budget.gate.congested(answered.host, how.sentAt);
    },
    (next) => {
      try {
        task.policy.assertAllowed(next);
      } catch (error) {
        refused ??= toPrefetchError(error, 'E_INSECURE', { packageName: task.packageName, url: task.policy.redact(next.href) });
        refuse.abort();
      }
    },
  );
  let outcome: Outcome;
  try {
    outcome = await session.download(url, {
      options: aria2DownloadOptions({
        dir: stagingDir,
        out,
        expectedSha1: task.expectedSha1,
        download: ctx.options,
        userAgent: deps.userAgent,
        whole: how.whole,
      }),
      onProgress: (bytes, total) => ctx.emit({ type: 'progress', task, bytes, total }),
      signal: AbortSignal.any([how.signal, refuse.signal]),
      maxSizeBytes: ctx.options.maxSizeBytes,
    });
    // An HTTP status ended it: the answer's head (host, Retry-After) is in aria2's log, which may trail RPC by a moment.
    if (outcome.kind === 'error' && /status=\d{3}/.test(outcome.errorMessage ?? '')) await exchanges.final(LOG_LAG_MS);
    // Every exchange of a finished download is in the log before its "complete" line.
    if (outcome.kind === 'complete') await session.completeLogged(file, LOG_LAG_MS);
  } finally {
    exchanges.close();
  }
  // aria2 keeps a `.aria2` control file next to unfinished or failed downloads.
  await removeQuietly(`${file}.aria2`);
  if (refused !== undefined && !how.signal.aborted) {
    await removeQuietly(file);
    throw refused;
  }
  if (outcome.kind === 'complete' || (outcome.kind === 'error' && outcome.errorCode === '32')) {
    const bytes = await stat(file).then(
      (s) => s.size,
      () => undefined,
    );
    if (bytes !== undefined) {
      if (outcome.kind === 'complete') ctx.emit({ type: 'progress', task, bytes, total: bytes });
      // A checksum failure still goes through the shared gate: it rejects the file with the same
      // ChecksumMismatchError (expected/actual) as the native backend, and removes it.
      return { path: file, bytes, sha1: undefined, url: shown };
    }
  }
  await removeQuietly(file);
  if (outcome.kind === 'aborted') throw abortedError(task);
  if (outcome.kind === 'too-large') {
    throw maxSizeError({ packageName: task.packageName, url: shown, limitBytes: ctx.options.maxSizeBytes, bytes: outcome.bytes, declared: outcome.declared });
  }
  if (outcome.kind === 'backend-failed') throw outcome.error;
  if (outcome.kind === 'complete') {
    throw new PrefetchError('E_BACKEND', `${task.packageName}: aria2 reported ${shown} complete but left no file`, {
      packageName: task.packageName,
      url: shown,
    });
  }
  throw aria2FailureToError(outcome, { packageName: task.packageName, url: shown, answer: exchanges.lastFinal() });
}

type Outcome =
  | { readonly kind: 'complete' }
  | { readonly kind: 'error'; readonly errorCode: string | undefined; readonly errorMessage: string | undefined }
  | { readonly kind: 'aborted' }
  /** Stopped by us over RPC: its totalLength or completedLength went over `--max-size`. */
  | { readonly kind: 'too-large'; readonly bytes: number; readonly declared: boolean }
  | { readonly kind: 'backend-failed'; readonly error: PrefetchError };

interface Waiter {
  readonly resolve: (outcome: Outcome) => void;
  readonly onProgress: (bytes: number, total: number | undefined) => void;
  lastBytes: number;
  readonly maxSizeBytes: number;
  /** Set when we asked aria2 to remove the download; reported once aria2 says `removed`. */
  stopped: Outcome | undefined;
}

interface TellStatus {
  readonly status: 'active' | 'waiting' | 'paused' | 'error' | 'complete' | 'removed';
  readonly totalLength?: string;
  readonly completedLength?: string;
  readonly errorCode?: string;
  readonly errorMessage?: string;
}

/**
 * One running aria2c with its RPC and its staging dirs: the first in the first task's cache dir
 * (aria2's cwd, its conf file), one more in each other cache dir a task of the run lands in.
 *
 * The RPC secret never appears on argv (world-readable via `ps` and /proc/<pid>/cmdline): it is
 * written to a 0600 file inside the 0700 staging dir, passed as `--conf-path`, and deleted as
 * soon as aria2 answers its first authenticated RPC call (proof that it has read the file).
 */
class Aria2Session {
  readonly stagingDir: string;
  /** Staging dir by cache dir (`<cache-files-dir>/.composer-prefetch-aria2-<owner>`), made when a task first needs it. */
  readonly #staging = new Map<string, Promise<string>>();
  readonly #rpc: Aria2Rpc;
  readonly #process: Aria2Process;
  readonly #waiters = new Map<string, Waiter>();
  readonly #signal: AbortSignal;
  readonly #onAbort: () => void;
  readonly #onExit: () => void;
  #timer: NodeJS.Timeout | undefined;
  #exited = false;
  #stopping: Promise<void> | undefined;
  #output = '';
  /** Who asked for each URL (`host` + path + query, as aria2 logs requests), redirect targets included. */
  readonly #targets = new Map<string, { readonly watch: ExchangeWatch; readonly url: URL }>();
  /** Requests sent and not answered yet, by aria2 command id. */
  readonly #pending = new Map<number, { readonly watch: ExchangeWatch; readonly url: URL }>();
  /** Files aria2's log said are complete, and who waits to hear it. */
  readonly #completeFiles = new Set<string>();
  readonly #completeWaiters = new Map<string, () => void>();

  private constructor(cacheFilesDir: string, stagingDir: string, rpc: Aria2Rpc, subprocess: Aria2Process, signal: AbortSignal) {
    this.stagingDir = stagingDir;
    this.#staging.set(cacheFilesDir, Promise.resolve(stagingDir));
    this.#rpc = rpc;
    this.#process = subprocess;
    this.#signal = signal;
    const keep = (text: string): void => {
      this.#output = (this.#output + text).slice(-2000);
    };
    // stdout is aria2's log (`--log=-`): its HTTP exchanges go to their watchers, anything else is kept for messages.
    const log = new Aria2LogReader({
      request: (request) => this.#requested(request),
      response: (exchange) => this.#exchanged(exchange),
      complete: (file) => this.#completed(file),
      other: (line) => keep(`${line}\n`),
    });
    subprocess.stdout?.setEncoding('utf8').on('data', (chunk: string) => log.push(chunk));
    subprocess.stderr?.setEncoding('utf8').on('data', keep);
    void subprocess.done.then(() => this.#died());
    this.#onAbort = () => this.#settleAll({ kind: 'aborted' });
    signal.addEventListener('abort', this.#onAbort, { once: true });
    // Detached (so a terminal Ctrl-C reaches only us, and we decide the order of shutdown), hence
    // not killed by execa on exit: do it ourselves; `--stop-with-process` covers SIGKILL.
    this.#onExit = () => {
      try {
        subprocess.kill('SIGKILL');
      } catch {
        // Already gone.
      }
    };
    process.once('exit', this.#onExit);
  }

  static async start(o: {
    bin: string;
    cacheFilesDir: string;
    download: DownloadOptions;
    signal: AbortSignal;
    network: Aria2BackendOptions['network'];
  }): Promise<Aria2Session> {
    const stagingDir = await makeStagingDir(o.cacheFilesDir);
    try {
      const secret = randomBytes(24).toString('hex');
      const confPath = path.join(stagingDir, 'rpc.conf');
      let caFile: string | undefined;
      if (o.network?.ca !== undefined) {
        // aria2 takes one CA bundle file; capath's certificates are joined into it.
        caFile = path.join(stagingDir, 'ca.pem');
        await writeFile(caFile, o.network.ca.join('\n'), { mode: 0o600, flag: 'wx' });
      }
      const network = o.network === undefined ? undefined : { proxies: o.network.proxies, caFile };
      await writeFile(confPath, aria2ConfFile(secret, network), { mode: 0o600, flag: 'wx' });
      let lastOutput = '';
      for (let attempt = 0; attempt < 3; attempt++) {
        const port = await freePort();
        const child = execa(o.bin, aria2ProcessArgs({ confPath, port, download: o.download, parentPid: process.pid }), {
          ...SPAWN_OPTIONS,
          cwd: stagingDir,
          // Proxies come from the conf file, decided by Composer's rules; aria2 must not add its own.
          env: aria2Environment(process.env),
          extendEnv: false,
        });
        const subprocess: Aria2Process = {
          kill: (signal) => child.kill(signal),
          stdout: child.stdout,
          stderr: child.stderr,
          done: child.then(
            () => undefined,
            () => undefined,
          ),
        };
        const rpc = new Aria2Rpc(port, secret);
        const session = new Aria2Session(o.cacheFilesDir, stagingDir, rpc, subprocess, o.signal);
        if (await session.#waitReady()) {
          await rm(confPath, { force: true });
          return session;
        }
        lastOutput = session.#output;
        await session.#shutdownProcess();
        session.#detach();
        // A port taken between our probe and aria2's bind: try another; anything else is final.
        if (!/bind|address already in use|port/i.test(lastOutput)) break;
      }
      throw new PrefetchError(
        'E_BACKEND',
        `--backend aria2: aria2c did not start${lastOutput.trim() ? `: ${lastOutput.trim().split('\n').slice(-3).join(' ')}` : ''}`,
        {
          hint: INSTALL_HINT,
        },
      );
    } catch (error) {
      await rm(stagingDir, { recursive: true, force: true });
      throw error;
    }
  }

  /**
   * The staging dir inside `cacheFilesDir`, made (and that cache dir's dead runs' ones removed) the
   * first time a task of that cache dir asks. A stopping session makes none: its downloads end
   * anyway, and a dir made now would outlive `stop`.
   */
  stagingDirFor(cacheFilesDir: string, packageName: string): Promise<string> {
    let dir = this.#staging.get(cacheFilesDir);
    if (dir === undefined) {
      if (this.#stopping !== undefined) return Promise.resolve(this.stagingDir);
      dir = makeStagingDir(cacheFilesDir).catch((error: unknown) => {
        throw new PrefetchError(
          'E_CACHE',
          `${packageName}: cannot make aria2's staging folder in ${cacheFilesDir}: ${error instanceof Error ? error.message : String(error)}`,
          {
            packageName,
            cause: error,
            hint: 'Check that the Composer cache directory is writable.',
          },
        );
      });
      this.#staging.set(cacheFilesDir, dir);
    }
    return dir;
  }

  /**
   * Collects the HTTP exchanges aria2 makes for `url` (redirects followed, ranges included) until
   * `close`; `onExchange` hears each, with its answer, or with none for a request left unanswered.
   */
  watch(url: string, onExchange: (url: URL, answer: HttpAnswer | undefined) => void, onRedirect: (next: URL) => void = () => undefined): ExchangeWatch {
    const watch = new ExchangeWatch(onExchange, onRedirect, () => {
      for (const [key, target] of this.#targets) if (target.watch === watch) this.#targets.delete(key);
      for (const [cuid, sent] of this.#pending) {
        if (sent.watch !== watch) continue;
        this.#pending.delete(cuid);
        watch.unanswered(sent.url);
      }
    });
    const parsed = new URL(url);
    this.#targets.set(targetKey(parsed.host, `${parsed.pathname}${parsed.search}`), { watch, url: parsed });
    return watch;
  }

  /** Resolves once aria2's log says `file` is complete (all its exchanges are read by then), or after `ms`. */
  async completeLogged(file: string, ms: number): Promise<void> {
    if (this.#completeFiles.delete(file)) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.#completeWaiters.set(file, () => {
        clearTimeout(timer);
        resolve();
      });
    });
    this.#completeWaiters.delete(file);
    this.#completeFiles.delete(file);
  }

  #completed(file: string): void {
    const absolute = path.resolve(this.stagingDir, file);
    const waiter = this.#completeWaiters.get(absolute);
    if (waiter !== undefined) waiter();
    else this.#completeFiles.add(absolute);
  }

  #requested(request: Aria2Request): void {
    const target = this.#targets.get(targetKey(request.host, request.path));
    // A request on a command whose last one got no answer: that one is over, unanswered.
    const before = this.#pending.get(request.cuid);
    if (before !== undefined) before.watch.unanswered(before.url);
    if (target === undefined) this.#pending.delete(request.cuid);
    else this.#pending.set(request.cuid, target);
  }

  #exchanged(exchange: Aria2Exchange): void {
    const target = this.#targets.get(targetKey(exchange.host, exchange.path)) ?? this.#pending.get(exchange.cuid);
    this.#pending.delete(exchange.cuid);
    if (target === undefined) return;
    const { watch, url } = target;
    watch.add({
      status: exchange.status,
      url,
      retryAfter: exchange.headers['retry-after'],
      rateLimitRemaining: exchange.headers['x-ratelimit-remaining'],
      rateLimitReset: exchange.headers['x-ratelimit-reset'],
    });
    const location = exchange.headers['location'];
    if (exchange.status >= 300 && exchange.status < 400 && location !== undefined) {
      let next: URL;
      try {
        next = new URL(location, url);
      } catch {
        return;
      }
      this.#targets.set(targetKey(next.host, `${next.pathname}${next.search}`), { watch, url: next });
      watch.redirected(next);
    }
  }

  /**
   * Queues one URL; resolves when aria2 finished, failed or we were interrupted. `signal` (the
   * package's deadline) and `maxSizeBytes` stop this one download over RPC (`aria2.forceRemove`):
   * aria2 has no size limit of its own, and its `--timeout` is per read, not per download.
   */
  async download(
    url: string,
    o: { options: Record<string, string>; onProgress: Waiter['onProgress']; signal?: AbortSignal; maxSizeBytes?: number },
  ): Promise<Outcome> {
    if (this.#signal.aborted || o.signal?.aborted) return { kind: 'aborted' };
    if (this.#exited) return { kind: 'backend-failed', error: this.#diedError() };
    let gid: string;
    try {
      gid = await this.#rpc.call<string>('aria2.addUri', [url], o.options);
    } catch (error) {
      if (this.#signal.aborted) return { kind: 'aborted' };
      return {
        kind: 'backend-failed',
        error: new PrefetchError('E_BACKEND', `aria2 refused a download: ${error instanceof Error ? error.message : String(error)}`, { cause: error }),
      };
    }
    const onAbort = (): void => this.#stopDownload(gid, { kind: 'aborted' });
    o.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      return await new Promise<Outcome>((resolve) => {
        this.#waiters.set(gid, { resolve, onProgress: o.onProgress, lastBytes: -1, maxSizeBytes: o.maxSizeBytes ?? 0, stopped: undefined });
        this.#schedule();
        if (o.signal?.aborted) onAbort();
      });
    } finally {
      o.signal?.removeEventListener('abort', onAbort);
    }
  }

  /**
   * Asks aria2 to drop one download; the waiter is settled with `outcome` once a poll sees it
   * ended (`removed`, or `complete`/`error` when aria2 got there first), so aria2 no longer
   * writes the file we are about to delete.
   */
  #stopDownload(gid: string, outcome: Outcome): void {
    const waiter = this.#waiters.get(gid);
    if (waiter === undefined || waiter.stopped !== undefined) return;
    waiter.stopped = outcome;
    void this.#rpc.call('aria2.forceRemove', gid).catch(() => undefined);
  }

  /** Kills aria2c and removes the staging dir; safe to call more than once. */
  async stop(): Promise<void> {
    this.#stopping ??= (async () => {
      this.#settleAll({ kind: 'aborted' });
      if (this.#timer) clearTimeout(this.#timer);
      await this.#shutdownProcess();
      this.#detach();
      const made = await Promise.allSettled(this.#staging.values());
      await Promise.all(made.map((dir) => (dir.status === 'fulfilled' ? rm(dir.value, { recursive: true, force: true, maxRetries: 3 }) : undefined)));
    })();
    return this.#stopping;
  }

  #detach(): void {
    this.#signal.removeEventListener('abort', this.#onAbort);
    process.off('exit', this.#onExit);
  }

  async #shutdownProcess(): Promise<void> {
    await this.#rpc.close();
    // Nothing of aria2's state is worth keeping (staging is deleted next), so no graceful shutdown.
    if (!this.#exited) this.#process.kill('SIGKILL');
    await this.#process.done;
  }

  async #waitReady(): Promise<boolean> {
    const deadline = Date.now() + READY_TIMEOUT_MS;
    while (Date.now() < deadline && !this.#exited) {
      try {
        await this.#rpc.call('aria2.getVersion');
        return true;
      } catch {
        await sleep(30);
      }
    }
    return false;
  }

  #died(): void {
    this.#exited = true;
    this.#settleAll(this.#signal.aborted || this.#stopping ? { kind: 'aborted' } : { kind: 'backend-failed', error: this.#diedError() });
  }

  #diedError(): PrefetchError {
    const tail = this.#output.trim().split('\n').slice(-3).join(' ');
    return new PrefetchError('E_BACKEND', `aria2c exited unexpectedly${tail ? `: ${tail}` : ''}`);
  }

  #settleAll(outcome: Outcome): void {
    const waiters = [...this.#waiters.values()];
    this.#waiters.clear();
    for (const w of waiters) w.resolve(outcome);
  }

  #schedule(): void {
    if (this.#timer !== undefined || this.#waiters.size === 0 || this.#stopping) return;
    this.#timer = setTimeout(() => void this.#poll(), POLL_INTERVAL_MS);
  }

  /** One `system.multicall` of `tellStatus` for every download in flight: progress and results per file. */
  async #poll(): Promise<void> {
    const gids = [...this.#waiters.keys()];
    try {
      const answers = await this.#rpc.multicall(gids.map((gid) => ({ method: 'aria2.tellStatus', params: [gid, TELL_KEYS] })));
      gids.forEach((gid, i) => {
        this.#update(gid, answers[i]);
      });
    } catch (error) {
      if (!this.#signal.aborted && !this.#stopping && !this.#exited) {
        this.#settleAll({
          kind: 'backend-failed',
          error: new PrefetchError('E_BACKEND', `aria2 RPC failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error }),
        });
      }
    } finally {
      this.#timer = undefined;
      this.#schedule();
    }
  }

  #update(gid: string, answer: unknown): void {
    const waiter = this.#waiters.get(gid);
    if (!waiter) return;
    const status = Array.isArray(answer) ? (answer[0] as TellStatus | undefined) : undefined;
    if (!status) {
      this.#finish(gid, { kind: 'backend-failed', error: new PrefetchError('E_BACKEND', `aria2 lost download ${gid}`) });
      return;
    }
    const bytes = Number(status.completedLength ?? '0');
    const total = Number(status.totalLength ?? '0');
    const ended = status.status === 'removed' || status.status === 'complete' || status.status === 'error';
    // Stopped by us: whatever aria2 made of it in the meantime, the file is not wanted.
    if (waiter.stopped !== undefined) {
      if (ended) this.#finish(gid, waiter.stopped);
      return;
    }
    if (status.status === 'removed') {
      this.#finish(gid, { kind: 'aborted' });
      return;
    }
    if (status.status === 'complete') {
      this.#finish(gid, { kind: 'complete' });
      return;
    }
    if (status.status === 'error') {
      this.#finish(gid, { kind: 'error', errorCode: status.errorCode, errorMessage: status.errorMessage });
      return;
    }
    // A declared length over --max-size, or an endless body growing past it (checked every poll,
    // so aria2 may write up to one poll interval's worth beyond the limit before it stops).
    if (waiter.maxSizeBytes > 0 && (total > waiter.maxSizeBytes || bytes > waiter.maxSizeBytes)) {
      this.#stopDownload(gid, { kind: 'too-large', bytes: Math.max(total, bytes), declared: total > waiter.maxSizeBytes });
      return;
    }
    if (bytes !== waiter.lastBytes && bytes > 0) {
      waiter.lastBytes = bytes;
      waiter.onProgress(bytes, total > 0 ? total : undefined);
    }
  }

  #finish(gid: string, outcome: Outcome): void {
    const waiter = this.#waiters.get(gid);
    this.#waiters.delete(gid);
    waiter?.resolve(outcome);
    void this.#rpc.call('aria2.removeDownloadResult', gid).catch(() => undefined);
  }
}

/** How aria2's log names a request target: `host[:port]` as in `Host`, then path and query. */
function targetKey(host: string, path: string): string {
  return `${host.toLowerCase()}${path}`;
}

/** The HTTP exchanges of one aria2 download, in order, as its log shows them. */
class ExchangeWatch {
  readonly answers: HttpAnswer[] = [];
  readonly #onExchange: (url: URL, answer: HttpAnswer | undefined) => void;
  /** Where aria2 is about to go next. */
  readonly redirected: (next: URL) => void;
  readonly #close: () => void;
  #wake: (() => void) | undefined;

  constructor(onExchange: (url: URL, answer: HttpAnswer | undefined) => void, onRedirect: (next: URL) => void, close: () => void) {
    this.#onExchange = onExchange;
    this.redirected = onRedirect;
    this.#close = close;
  }

  add(answer: HttpAnswer): void {
    this.answers.push(answer);
    this.#onExchange(answer.url, answer);
    if (!isRedirect(answer.status)) this.#wake?.();
  }

  /** A request to `url` that got no response head (cut, timed out, or dropped by aria2). */
  unanswered(url: URL): void {
    this.#onExchange(url, undefined);
  }

  /** The last answer that was not a redirect: the one that ended the download. */
  lastFinal(): HttpAnswer | undefined {
    return this.answers.findLast((a) => !isRedirect(a.status));
  }

  /** Resolves once a final answer was seen, or after `ms`. */
  async final(ms: number): Promise<void> {
    if (this.lastFinal() !== undefined) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.#wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    this.#wake = undefined;
  }

  close(): void {
    this.#close();
  }
}

function isRedirect(status: number): boolean {
  return status >= 300 && status < 400;
}

/** A port that was free a moment ago; aria2 reports a bind failure if it was taken since, and we retry. */
async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/**
 * A fresh staging dir of this run inside `cacheFilesDir`, after removing dead runs' ones there.
 * Inside the cache dir: same filesystem, so accepting a file is an atomic rename. A dot-dir,
 * which Composer's cache GC (Symfony Finder, ignoreDotFiles) never looks into.
 */
async function makeStagingDir(cacheFilesDir: string): Promise<string> {
  makeDirectories(cacheFilesDir);
  await removeStaleStaging(cacheFilesDir);
  const stagingDir = path.join(cacheFilesDir, ownedName(STAGING_PREFIX));
  await mkdir(stagingDir, { mode: 0o700 });
  return stagingDir;
}

/**
 * Removes staging dirs of runs killed with SIGKILL: at once when the owner is provably gone
 * (same pid namespace, pid no longer running), otherwise once older than the cutoff.
 */
async function removeStaleStaging(cacheFilesDir: string): Promise<void> {
  const entries = await readdir(cacheFilesDir, { withFileTypes: true }).catch(() => []);
  const cutoff = Date.now() - STALE_STAGING_MS;
  for (const entry of entries) {
    const match = entry.isDirectory() ? STAGING_NAME.exec(entry.name) : null;
    if (match === null) continue;
    const dir = path.join(cacheFilesDir, entry.name);
    const s = await stat(dir).catch(() => undefined);
    if (s && (s.mtimeMs < cutoff || isOwnerGone(Number(match[1]), match[2]))) await rm(dir, { recursive: true, force: true }).catch(() => undefined);
  }
}
