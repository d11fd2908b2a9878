import { readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { setMaxListeners } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import pLimit from 'p-limit';
import { makeDirectories } from '../cache/make-dirs.js';
import { isOwnerGone, ownedName } from '../cache/temp-files.js';
import { PrefetchError, TransferLimitError, type ErrorCode } from '../errors.js';
import { decideRetry, type RetryPolicy } from '../net/retry-policy.js';
import { gitEnv, gitHost, type GitCredential, type GitEnvOptions } from './git-env.js';
import { insecureScheme, stripCredentials, urlCredential, writtenOrigin } from './git-url.js';
import { branchOrTagListed, checkedBranch, type MirrorPlan, type MirrorRef, type MirrorTask } from './plan-mirrors.js';

export type MirrorAction = 'clone' | 'update';

export type MirrorResult =
  /** Every locked reference (and the branch/tag Composer checks) was already in the mirror. */
  | { readonly kind: 'cached'; readonly task: MirrorTask }
  /**
   * The mirror is in place; `missing` are the packages whose reference it still lacks (each a
   * failure of that package, named): the others sharing the repository are served.
   */
  | {
      readonly kind: 'cloned' | 'updated';
      readonly task: MirrorTask;
      readonly bytes: number | undefined;
      readonly attempts: number;
      readonly durationMs: number;
      readonly missing: readonly MissingRef[];
    }
  | { readonly kind: 'failed'; readonly task: MirrorTask; readonly error: PrefetchError; readonly attempts: number };

export interface MissingRef {
  readonly ref: MirrorRef;
  readonly error: PrefetchError;
}

export type MirrorEvent =
  /** A git command about to run (`-v`): argv only, which never holds a credential. */
  | { readonly type: 'command'; readonly task: MirrorTask; readonly args: readonly string[] }
  | { readonly type: 'started'; readonly task: MirrorTask; readonly action: MirrorAction; readonly attempt: number }
  | { readonly type: 'retried'; readonly task: MirrorTask; readonly attempt: number; readonly delayMs: number; readonly error: PrefetchError }
  | { readonly type: 'result'; readonly result: MirrorResult }
  | { readonly type: 'warning'; readonly message: string };

export interface MirrorFetchOptions {
  /** `fetch` fills the cache; `check` (`verify`) only says which mirrors lack a reference. */
  readonly mode: 'fetch' | 'check';
  /** git processes at once, across hosts. */
  readonly concurrency: number;
  /** git processes at once against one host: a git server is not a CDN. */
  readonly perHost: number;
  /**
   * The download layer's retry policy (`--retries`, `--retry-max-time`, backoff), decided by the same
   * `decideRetry` as every archive: `maxTimeMs` is also each mirror's deadline, the git process in
   * flight included, from its first attempt's start.
   */
  readonly retry: RetryPolicy;
  /** A network git command that prints nothing (no progress, no error) for this long is stopped and retried (`--stall-timeout`). */
  readonly stallTimeoutMs: number;
  /** Backoff jitter (tests make it deterministic). */
  readonly random?: () => number;
  /** Environment and settings every git command gets; the credential is added per URL. */
  readonly env: Omit<GitEnvOptions, 'credential'>;
  /** The credential for a source URL (auth.json), if any; userinfo in the lock's URL is used otherwise. */
  readonly credential: (url: URL) => GitCredential | undefined;
  readonly signal: AbortSignal;
  readonly emit: (event: MirrorEvent) => void;
  /** git binary (default `git` on PATH). */
  readonly git?: string;
}

export interface MirrorFetchOutcome {
  readonly results: readonly MirrorResult[];
  /** git is not installed: nothing was tried (a warning, not a failure of the run). */
  readonly gitMissing: boolean;
}

/** Leftover clone folders of a killed run, removed once their run is gone. */
const TEMP_PREFIX = '.cp-tmp-';
const OLD_PREFIX = '.cp-old-';
const STALE_MS = 24 * 60 * 60 * 1000;

/** The longest delay setTimeout takes (2^31 - 1 ms): a larger `--retry-max-time` means "none". */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Creates or updates every planned bare mirror the way `Git::syncMirror` would (`git clone --mirror`,
 * or a fetch with prune on an existing one), in parallel within the bounds, each clone made beside
 * its target and renamed into place only once every locked reference resolves to a commit in it
 * (`Git::checkRefIsInMirror`). A folder Composer would not accept as a mirror (`git rev-parse
 * --git-dir` is not `.`), or one that lacks objects of a locked commit, is replaced.
 */
export async function fetchMirrors(plan: MirrorPlan, options: MirrorFetchOptions): Promise<MirrorFetchOutcome> {
  if (plan.tasks.length === 0) return { results: [], gitMissing: false };
  const gitBin = options.git ?? 'git';
  const version = await execa(gitBin, ['--version'], { reject: false, env: gitEnv(options.env), extendEnv: false });
  if (version.failed) return { results: [], gitMissing: true };
  // Settings travel as GIT_CONFIG_COUNT/KEY/VALUE, which git reads since 2.31; an older git would
  // silently drop them (the credential helper, the protocol limits), so it is not used.
  const [major = 0, minor = 0] = (/(\d+)\.(\d+)/.exec(String(version.stdout)) ?? []).slice(1).map(Number);
  if (major < 2 || (major === 2 && minor < 31)) {
    options.emit({
      type: 'warning',
      message: `${String(version.stdout).trim()} is older than 2.31, which this tool needs to hand git credentials through its environment: source packages not prefetched.`,
    });
    return { results: [], gitMissing: false };
  }
  if (options.mode === 'fetch') await removeStaleTemps(plan.cacheVcsDir);

  const global = pLimit(Math.max(1, options.concurrency));
  const hosts = new Map<string, ReturnType<typeof pLimit>>();
  // The host's slot is taken before the global one, so a task waiting for a busy host holds no
  // global slot; both are held for one attempt only, never through a backoff sleep.
  const slot: Slot = (url, fn) => {
    const host = gitHost(url);
    let limit = hosts.get(host);
    if (limit === undefined) {
      limit = pLimit(Math.max(1, options.perHost));
      hosts.set(host, limit);
    }
    return limit(() => global(fn));
  };
  // As `Config::prohibitUrlByConfig` with secure-http off: one warning per insecure host.
  if (options.mode === 'fetch' && options.env.secureHttp !== true) {
    const warned = new Set<string>();
    for (const task of plan.tasks) {
      const scheme = insecureScheme(task.url);
      const host = gitHost(stripCredentials(task.url));
      if (scheme === undefined || warned.has(host)) continue;
      warned.add(host);
      options.emit({ type: 'warning', message: `Accessing ${host} over ${scheme}, which is an insecure protocol (secure-http is off).` });
    }
  }
  const results = await Promise.all(
    plan.tasks.map(async (task) => {
      // Looking at a mirror on disk takes no host's slot; only fetching does.
      const local = await global(() => inspectMirror(task, options, gitBin));
      const result = 'kind' in local ? local : await syncMirror(task, local, options, slot);
      options.emit({ type: 'result', result });
      return result;
    }),
  );
  return { results, gitMissing: false };
}

type Slot = <T>(url: string, fn: () => Promise<T>) => Promise<T>;

interface GitRun {
  readonly ok: boolean;
  readonly stdout: string;
  readonly stderr: string;
  /** Ended by this tool, and why: Ctrl-C, the package's `--retry-max-time`, or `--stall-timeout` of silence. */
  readonly stopped: 'abort' | 'deadline' | 'stall' | undefined;
  /** The silence that counts as a stall, for the message. */
  readonly stallTimeoutMs: number;
}

interface Git {
  /**
   * One git command. `network` commands are watched: silence on both pipes for `stallTimeoutMs`
   * stops them. `signal` ends the command (Ctrl-C or the package's deadline, told apart by `deadline`).
   */
  run(args: readonly string[], cwd: string, watch?: Watch, extraEnv?: Readonly<Record<string, string>>): Promise<GitRun>;
}

function gitFor(task: MirrorTask, options: MirrorFetchOptions, gitBin: string, target: string = task.url): { git: Git; url: string } {
  const url = stripCredentials(target);
  const origin = writtenOrigin(url);
  // `Git::runCommand` runs the URL as written first, userinfo and all; auth.json is its answer to an
  // authentication failure of a URL without one. So userinfo in the lock's URL wins, then auth.json.
  // A redirect target is another URL: only auth.json speaks for its origin.
  const fromUrl = target === task.url ? urlCredential(task.url) : undefined;
  const credential =
    origin === undefined || !URL.canParse(url) ? undefined : fromUrl !== undefined ? { kind: 'basic' as const, ...fromUrl } : options.credential(new URL(url));
  const env = gitEnv({ ...options.env, ...(credential === undefined ? {} : { credential: { origin: origin!, credential } }) });
  // git anonymizes the URLs it prints; what it prints is masked here all the same (`Git::maskCredentials`).
  const secrets =
    credential === undefined
      ? []
      : (credential.kind === 'basic' ? [credential.password, encodeURIComponent(credential.password)] : [credential.token]).filter((x) => x.length >= 3);
  const mask = (text: string): string => secrets.reduce((t, secret) => t.split(secret).join('***'), text);
  const git: Git = {
    async run(args, cwd, watch, extraEnv) {
      options.emit({ type: 'command', task, args });
      // Its own process group: git's helpers (git-remote-http, index-pack, ssh) hold the output pipes,
      // so stopping only git would wait for a stalled helper; the whole group is stopped instead.
      const child = execa(gitBin, args, {
        cwd,
        env: extraEnv === undefined ? env : { ...env, ...extraEnv },
        extendEnv: false,
        reject: false,
        stdin: 'ignore',
        detached: process.platform !== 'win32',
      });
      let stopped: GitRun['stopped'];
      let hardKill: NodeJS.Timeout | undefined;
      const signalGroup = (signal: NodeJS.Signals): void => {
        try {
          if (process.platform !== 'win32' && child.pid !== undefined) process.kill(-child.pid, signal);
          else child.kill(signal);
        } catch {
          // already gone
        }
      };
      const stop = (why: NonNullable<GitRun['stopped']>): void => {
        if (stopped !== undefined) return;
        stopped = why;
        signalGroup('SIGTERM');
        hardKill = setTimeout(() => signalGroup('SIGKILL'), 1000);
      };
      // `--progress` makes git report at least once a second while a transfer moves, and the
      // server's own "Counting/Compressing" lines come through too: silence means a stall.
      let stall: NodeJS.Timeout | undefined;
      const arm = (): void => {
        if (watch?.network !== true || stopped !== undefined) return;
        clearTimeout(stall);
        stall = setTimeout(() => stop('stall'), options.stallTimeoutMs);
      };
      arm();
      child.stderr?.on('data', arm);
      child.stdout?.on('data', arm);
      const onAbort = (): void => stop('abort');
      const onDeadline = (): void => stop('deadline');
      options.signal.addEventListener('abort', onAbort, { once: true });
      watch?.deadline?.addEventListener('abort', onDeadline, { once: true });
      if (options.signal.aborted) onAbort();
      else if (watch?.deadline?.aborted === true) onDeadline();
      try {
        const r = await child;
        return {
          ok: stopped === undefined && r.exitCode === 0 && !r.failed,
          stdout: String(r.stdout ?? ''),
          stderr: mask(String(r.stderr ?? '')),
          stopped,
          stallTimeoutMs: options.stallTimeoutMs,
        };
      } finally {
        clearTimeout(stall);
        clearTimeout(hardKill);
        options.signal.removeEventListener('abort', onAbort);
        watch?.deadline?.removeEventListener('abort', onDeadline);
      }
    },
  };
  return { git, url };
}

/** `Git::syncMirror`'s test for an existing mirror: `git rev-parse --git-dir` prints `.` inside it. */
async function isMirror(git: Git, dir: string): Promise<boolean> {
  if (
    !(await stat(dir).then(
      (s) => s.isDirectory(),
      () => false,
    ))
  )
    return false;
  const r = await git.run(['rev-parse', '--git-dir'], dir);
  return r.ok && r.stdout.trim() === '.';
}

interface RefState {
  /** References that resolve to no commit: Composer would sync (network), then fail without them. */
  readonly missing: readonly MirrorRef[];
  /** Present, but neither a branch nor a tag matches the version: Composer syncs again on every install. */
  readonly unlisted: readonly MirrorRef[];
}

/** `Git::checkRefIsInMirror` for every locked reference, then the branch/tag check of `fetchRefOrSyncMirror`. */
async function refState(git: Git, dir: string, refs: readonly MirrorRef[]): Promise<RefState> {
  const missing: MirrorRef[] = [];
  const present: MirrorRef[] = [];
  for (const ref of refs) {
    const r = await git.run(['rev-parse', '--quiet', '--verify', `${ref.reference}^{commit}`], dir);
    (r.ok ? present : missing).push(ref);
  }
  const checked = present.filter((ref) => checkedBranch(ref) !== undefined);
  if (checked.length === 0) return { missing, unlisted: [] };
  // One process for what Composer reads from `git branch` and `git tag`: the same names, one per line.
  const listed = await git.run(['for-each-ref', '--format=%(refname)', 'refs/heads', 'refs/tags'], dir);
  // Composer skips the check when the listing fails.
  if (!listed.ok) return { missing, unlisted: [] };
  const names = listed.stdout.split('\n');
  const branches = names.flatMap((n) => (n.startsWith('refs/heads/') ? [`  ${n.slice('refs/heads/'.length)}`] : [])).join('\n');
  const tags = names.flatMap((n) => (n.startsWith('refs/tags/') ? [n.slice('refs/tags/'.length)] : [])).join('\n');
  return { missing, unlisted: checked.filter((ref) => !branchOrTagListed(checkedBranch(ref)!, branches, tags)) };
}

/**
 * The first object the mirror's refs reach that it lacks (git's own line, e.g. `fatal: missing blob
 * object '…'`), or undefined when it is complete. `composer install` clones from the mirror with
 * `--reference … --dissociate`, whose repack reads every object reachable from every ref (not only
 * the locked commit's), then checks the commit out: either fails ("unable to read …") on one missing
 * object, although `rev-parse --verify` finds the commit. A clone or fetch checks what it brings
 * itself; a mirror found on disk (a restored or damaged cache) is checked here, once per run.
 */
async function missingObject(git: Git, dir: string): Promise<string | undefined> {
  const r = await git.run(['rev-list', '--objects', '--quiet', '--all'], dir);
  if (r.ok) return undefined;
  return (
    r.stderr
      .split(/[\r\n]+/)
      .find((l) => /missing|unable|bad object|corrupt/i.test(l))
      ?.trim() ??
    (r.stderr.trim().split(/[\r\n]+/)[0] || 'git rev-list --objects --all failed')
  );
}

/** What is on disk, when the network is needed: the git runner, whether a mirror is there to update, whether it must be replaced. */
interface LocalState {
  readonly git: Git;
  readonly url: string;
  readonly existing: boolean;
  /** The folder is a mirror but lacks objects its refs reach: cloned anew and swapped in, never fetched into. */
  readonly broken: string | undefined;
  /** A runner for a URL the source redirected to, with that origin's own credential (auth.json) if any. */
  readonly gitAt: (url: string) => Git;
}

/** The mirror on disk: `cached` when Composer would not sync it, a `check`-mode failure, or what to fetch. */
async function inspectMirror(task: MirrorTask, options: MirrorFetchOptions, gitBin: string): Promise<MirrorResult | LocalState> {
  const { git, url } = gitFor(task, options, gitBin);
  const existing = await isMirror(git, task.dir);
  const before = existing ? await refState(git, task.dir, task.refs) : undefined;
  const broken = existing ? await missingObject(git, task.dir) : undefined;
  if (before !== undefined && broken === undefined && before.missing.length === 0 && before.unlisted.length === 0) return { kind: 'cached', task };
  if (options.mode === 'check') {
    const first = before?.missing[0] ?? before?.unlisted[0] ?? task.refs[0]!;
    const what =
      before === undefined
        ? `no mirror at ${task.dir}`
        : broken !== undefined
          ? `the mirror ${task.dir} lacks objects its refs reach (${broken}): composer install would fail to clone from it`
          : before.missing.length > 0
            ? `reference ${first.reference} is not in the mirror ${task.dir}`
            : `no branch or tag ${checkedBranch(first)} in the mirror ${task.dir}`;
    return { kind: 'failed', task, attempts: 0, error: new PrefetchError('E_CACHE', what, { packageName: first.packageName, url }) };
  }
  return { git, url, existing: existing && broken === undefined, broken, gitAt: (target) => gitFor(task, options, gitBin, target).git };
}

/**
 * Fetches one mirror under the download layer's rules: each attempt holds the host's and a global
 * slot, a failure goes through `decideRetry` (the archives' policy: `--retries`, backoff,
 * `--retry-max-time`), and the package's deadline ends the git process in flight.
 */
async function syncMirror(task: MirrorTask, { git, url, existing, broken, gitAt }: LocalState, options: MirrorFetchOptions, slot: Slot): Promise<MirrorResult> {
  const action: MirrorAction = existing ? 'update' : 'clone';
  // `Git::runCommand` asks `Config::prohibitUrlByConfig` before any network command; a mirror that
  // already holds every locked commit is used without one (it came back `cached` above).
  const scheme = insecureScheme(url);
  if (scheme !== undefined && options.env.secureHttp === true) {
    const error = new PrefetchError('E_INSECURE', `Refusing ${scheme}:// source URL ${url}: Composer's secure-http is on`, {
      packageName: task.refs[0]!.packageName,
      url,
      hint: 'Composer would refuse it too. Use an https or ssh URL, or set "secure-http": false in the project\'s composer.json "config" if you trust this network.',
    });
    return { kind: 'failed', task, error, attempts: 0 };
  }
  if (broken !== undefined)
    options.emit({
      type: 'warning',
      message: `${task.refs[0]!.packageName}: the mirror ${task.dir} lacks objects its refs reach (${broken}); cloning it anew.`,
    });
  const deadline = new AbortController();
  setMaxListeners(0, deadline.signal);
  const budgetMs = options.retry.maxTimeMs;
  let startedAt: number | undefined;
  let timer: NodeJS.Timeout | undefined;
  const startClock = (): void => {
    if (startedAt !== undefined) return;
    startedAt = Date.now();
    if (budgetMs > 0 && budgetMs <= MAX_TIMER_MS) timer = setTimeout(() => deadline.abort(), budgetMs);
  };
  const sleepSignal = AbortSignal.any([options.signal, deadline.signal]);
  let attempt = 0;
  let last: PrefetchError | undefined;
  try {
    for (;;) {
      attempt++;
      try {
        const { bytes, state: after } = await slot(url, async () => {
          startClock();
          if (deadline.signal.aborted) throw deadlineError(task, url, budgetMs, last);
          options.emit({ type: 'started', task, action, attempt });
          const watch = { network: true, deadline: deadline.signal };
          return action === 'update'
            ? await updateMirror(git, task, url, watch)
            : await cloneMirror(git, task, url, watch, { replace: broken !== undefined, gitAt, secureHttp: options.env.secureHttp === true });
        });
        const missing = after.missing.map((ref) => ({ ref, error: missingRefError(ref, url) }));
        for (const ref of after.unlisted) {
          options.emit({
            type: 'warning',
            message: `${ref.packageName} ${ref.version}: the mirror has the locked commit but no branch or tag named ${checkedBranch(ref)}, so composer install will still sync it from ${url} (Git::fetchRefOrSyncMirror).`,
          });
        }
        return {
          kind: action === 'update' ? 'updated' : 'cloned',
          task,
          bytes,
          attempts: attempt,
          durationMs: Date.now() - (startedAt ?? Date.now()),
          missing,
        };
      } catch (error) {
        const failure =
          error instanceof PrefetchError
            ? error
            : new PrefetchError('E_CACHE', (error as Error).message, { cause: error, packageName: task.refs[0]!.packageName, url });
        last = failure;
        if (options.signal.aborted || failure.code === 'E_ABORTED') return { kind: 'failed', task, error: failure, attempts: attempt };
        if (deadline.signal.aborted)
          return {
            kind: 'failed',
            task,
            error: failure instanceof TransferLimitError ? failure : deadlineError(task, url, budgetMs, failure),
            attempts: attempt,
          };
        const verdict = decideRetry(
          failure,
          { attempts: attempt, integrityFailures: 0, elapsedMs: Date.now() - (startedAt ?? Date.now()) },
          options.retry,
          options.random ?? Math.random,
        );
        if (verdict.action === 'next-url') return { kind: 'failed', task, error: failure, attempts: attempt };
        options.emit({ type: 'retried', task, attempt, delayMs: verdict.delayMs, error: failure });
        // Sleeping holds no slot: other repositories on the same host go on meanwhile.
        await sleep(verdict.delayMs, undefined, { signal: sleepSignal }).catch(() => undefined);
      }
    }
  } finally {
    clearTimeout(timer);
  }
}

/** The mirror's `--retry-max-time` ran out; says what went wrong before. */
function deadlineError(task: MirrorTask, url: string, budgetMs: number, last: PrefetchError | undefined): TransferLimitError {
  const packageName = task.refs[0]!.packageName;
  return new TransferLimitError({
    packageName,
    url,
    limit: { kind: 'deadline', option: '--retry-max-time', limitMs: budgetMs },
    message: `${packageName}: the git mirror of ${url} was not fetched within ${budgetMs / 1000} s, the per-package limit (--retry-max-time); git was stopped${last === undefined ? '' : ` (before that: ${last.message})`}`,
    hint: 'The git host is too slow or keeps failing. Raise --retry-max-time if the repository is large and the link slow.',
  });
}

/** `Git::checkRefIsInMirror` failed after a clone or update: the commit is not in the repository. */
function missingRefError(ref: MirrorRef, url: string): PrefetchError {
  return new PrefetchError('E_PACKAGE', `reference ${ref.reference} is not in ${url} (git rev-parse --verify ${ref.reference}^{commit} fails in the mirror)`, {
    packageName: ref.packageName,
    url,
    hint: 'The locked commit is gone from the repository (a force-push or a deleted branch?): run `composer update` for this package.',
  });
}

/** Lines git and ssh print that say nothing about the cause; they follow the one that does. */
const BOILERPLATE =
  /^(?:fatal: Could not read from remote repository\.?|Please make sure you have the correct access rights|and the repository exists\.?|fatal: the remote end hung up unexpectedly|fatal: early EOF|fatal: index-pack failed|fatal: fetch-pack: invalid index-pack output|Cloning into (?:bare repository )?'.*|(?:remote: )?(?:Counting|Compressing|Receiving|Resolving|Enumerating|Total)\b.*)$/i;

/**
 * The lines of git's stderr that name the cause, first ones first: `ssh: connect to host … Connection
 * refused`, `Host key verification failed.`, `git@host: Permission denied (publickey).`, `fatal:
 * unable to access '…': Could not resolve host`, `remote: …`. git's generic closing lines ("Could
 * not read from remote repository", "Please make sure you have the correct access rights") are
 * dropped: they follow every one of these causes alike.
 */
function gitFailureCause(stderr: string): string {
  const lines = stderr
    .split(/[\r\n]+/)
    .map((l) => l.trim())
    .filter((l) => l !== '' && !BOILERPLATE.test(l) && !/^Warning: Permanently added/i.test(l));
  return lines.slice(0, 2).join(' / ');
}

/** A failed git command as a typed error: auth and host-key failures are final, the rest may be retried. */
function commandError(task: MirrorTask, url: string, what: string, r: GitRun): PrefetchError {
  const packageName = task.refs[0]!.packageName;
  if (r.stopped === 'abort') return new PrefetchError('E_ABORTED', `${what} interrupted`, { packageName, url });
  if (r.stopped === 'stall') {
    return new PrefetchError(
      'E_NETWORK',
      `${what} of ${url} stalled: git reported no progress for ${r.stallTimeoutMs / 1000} s (--stall-timeout) and was stopped`,
      { packageName, url, retryable: true },
    );
  }
  // The caller turns this into the deadline error, which says more.
  if (r.stopped === 'deadline') return new PrefetchError('E_LIMIT', `${what} of ${url} stopped at the --retry-max-time deadline`, { packageName, url });
  const cause = gitFailureCause(r.stderr);
  const hostKey = /Host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED|No (?:ED25519|RSA|ECDSA)? ?host key is known/i.test(r.stderr);
  const auth = /Authentication failed|could not read (?:Username|Password)|returned error: 40[13]|terminal prompts disabled|Permission denied \(/i.test(
    r.stderr,
  );
  const code: ErrorCode = auth || hostKey ? 'E_AUTH' : 'E_NETWORK';
  const hint = hostKey
    ? `The ssh host key of ${gitHost(url)} is not in known_hosts (or changed): add it (\`ssh-keyscan ${gitHost(url)} >> ~/.ssh/known_hosts\`, after checking it) before the run.`
    : auth
      ? `Add credentials for ${gitHost(url)} to auth.json (http-basic, github-oauth, gitlab-token, bitbucket-oauth) or COMPOSER_AUTH, or set up ssh keys for ssh URLs.`
      : undefined;
  return new PrefetchError(code, `${what} of ${url} failed: ${cause || 'git exited with an error'}`, {
    packageName,
    url,
    retryable: !auth && !hostKey,
    ...(hint === undefined ? {} : { hint }),
  });
}

/** Bytes git reports for `Receiving objects` (with `--progress`), when it reports them. */
function receivedBytes(stderr: string): number | undefined {
  const matches = [...stderr.matchAll(/Receiving objects:[^\r\n]*?,\s*([\d.]+)\s*(bytes|KiB|MiB|GiB)/g)];
  const last = matches.at(-1);
  if (last === undefined) return undefined;
  const unit = { bytes: 1, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3 }[last[2] as 'bytes' | 'KiB' | 'MiB' | 'GiB'];
  return Math.round(Number(last[1]) * unit);
}

interface Watch {
  readonly network: boolean;
  readonly deadline: AbortSignal;
}

/**
 * `git clone --mirror` into a fresh folder beside the target, checked, then renamed into place:
 * a killed run leaves only a `.cp-tmp-*` folder, which Composer never looks at. `replace` swaps out
 * a mirror that is there but damaged.
 */
async function cloneMirror(
  git: Git,
  task: MirrorTask,
  url: string,
  watch: Watch,
  how: { readonly replace: boolean; readonly gitAt: (url: string) => Git; readonly secureHttp: boolean },
): Promise<{ bytes: number | undefined; state: RefState }> {
  const parent = path.dirname(task.dir);
  // Not `mkdir -p` through Node's recursive mkdir: it never returns on /proc-like filesystems.
  makeDirectories(parent);
  const tmp = path.join(parent, ownedName(`${TEMP_PREFIX}${path.basename(task.dir).slice(0, 80)}.`));
  try {
    let r = await git.run(['clone', '--mirror', '--progress', '--', url, tmp], parent, watch);
    // A source that answers 401, then redirects once given the credential (a renamed private
    // repository): git fetches its credential lazily, so it follows that redirect for the ref
    // listing but posts the fetch to the old URL, which redirects again ("HTTP 302"). Composer's
    // credentialed URL avoids this by sending the credential up front, and sends it on to the new
    // origin too. Here the new location is read off git's own trace, and the clone made from there
    // with that origin's credential only (none unless auth.json has one for it).
    if (!r.ok && r.stopped === undefined && /\bHTTP 30[1278]\b/.test(r.stderr)) {
      const moved = await redirectTarget(git, url, parent, watch);
      if (moved !== undefined && !(how.secureHttp && insecureScheme(moved) !== undefined)) {
        await rm(tmp, { recursive: true, force: true });
        r = await how.gitAt(moved).run(['clone', '--mirror', '--progress', '--', moved, tmp], parent, watch);
        // The mirror's origin stays the lock's URL, as `Git::syncMirror` leaves it.
        if (r.ok) await git.run(['remote', 'set-url', 'origin', '--', url], tmp);
      }
    }
    if (!r.ok) throw commandError(task, url, 'git clone --mirror', r);
    // A clone with none of the locked references serves nobody: not kept. With some, the others fail by name.
    const state = await refState(git, tmp, task.refs);
    if (state.missing.length === task.refs.length) throw missingRefError(task.refs[0]!, url);
    // Lost a race to a concurrent run: its mirror is the one in place, so its state is the one that counts.
    const kept = await install(git, tmp, task.dir, how.replace);
    return { bytes: receivedBytes(r.stderr), state: kept === 'ours' ? state : await refState(git, task.dir, task.refs) };
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/**
 * Where a smart-HTTP source's ref listing ends up after redirects: `git ls-remote` with curl's
 * trace (headers only; git redacts credentials in it) into a file of this run, read for the last
 * `Location` of an `/info/refs` request. The repository base is that URL without `/info/refs?…`.
 */
async function redirectTarget(git: Git, url: string, parent: string, watch: Watch): Promise<string | undefined> {
  const trace = path.join(parent, ownedName(`${TEMP_PREFIX}trace.`));
  try {
    await git.run(['ls-remote', '--heads', '--', url], parent, watch, { GIT_TRACE_CURL: trace, GIT_TRACE_CURL_NO_DATA: '1', GIT_TRACE_REDACT: '1' });
    const text = await readFile(trace, 'utf8').catch(() => '');
    let at = `${url.replace(/\/+$/, '')}/info/refs?service=git-upload-pack`;
    let moved: string | undefined;
    for (const m of text.matchAll(/Recv header: location: *(\S+)/gi)) {
      if (!URL.canParse(m[1]!, at)) continue;
      at = new URL(m[1]!, at).href;
      const base = /^(.*?)\/info\/refs(?:\?.*)?$/.exec(at)?.[1];
      if (base !== undefined) moved = base;
    }
    return moved === undefined || stripCredentials(moved) === stripCredentials(url) ? undefined : stripCredentials(moved);
  } finally {
    await rm(trace, { force: true });
  }
}

/** Renames a checked clone into place; a broken folder there (or a damaged mirror, with `replace`) is moved aside first, then removed. */
async function install(git: Git, tmp: string, dir: string, replace: boolean): Promise<'ours' | 'theirs'> {
  const exists = await stat(dir).then(
    () => true,
    () => false,
  );
  if (exists) {
    // Another run may have put a good mirror here since we looked: keep it.
    if (!replace && (await isMirror(git, dir))) return 'theirs';
    const old = path.join(path.dirname(dir), ownedName(`${OLD_PREFIX}${path.basename(dir).slice(0, 80)}.`));
    await rename(dir, old).catch(() => undefined);
    await rm(old, { recursive: true, force: true });
  }
  try {
    await rename(tmp, dir);
    return 'ours';
  } catch (error) {
    // Lost a race with a concurrent run: its mirror is as good as ours.
    if ((error as NodeJS.ErrnoException).code !== 'ENOTEMPTY' && (error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    if (!(await isMirror(git, dir))) throw error;
    return 'theirs';
  }
}

/**
 * `Git::syncMirror` on an existing mirror: `git remote update --prune origin`, then `git gc --auto`.
 * Here as `git fetch --prune --progress origin`, the same fetch (the mirror's `+refs/*:refs/*`
 * refspec) with the progress the stall watch reads. Composer sets the credentialed URL for the fetch
 * and the sanitized one after it; the origin here is always the sanitized URL, and the credential
 * reaches git through its helper.
 */
async function updateMirror(git: Git, task: MirrorTask, url: string, watch: Watch): Promise<{ bytes: number | undefined; state: RefState }> {
  const setUrl = await git.run(['remote', 'set-url', 'origin', '--', url], task.dir);
  if (!setUrl.ok) throw commandError(task, url, 'git remote set-url', setUrl);
  const r = await git.run(['fetch', '--prune', '--progress', 'origin'], task.dir, watch);
  if (!r.ok) throw commandError(task, url, 'git fetch --prune origin', r);
  await git.run(['gc', '--auto'], task.dir);
  return { bytes: receivedBytes(r.stderr), state: await refState(git, task.dir, task.refs) };
}

/**
 * Removes `.cp-tmp-*`/`.cp-old-*` folders whose run is provably gone (`isOwnerGone`, as for the
 * archives' temp files) or that are a day old (another host or container sharing the cache).
 */
async function removeStaleTemps(cacheVcsDir: string): Promise<void> {
  const entries = await readdir(cacheVcsDir).catch(() => [] as string[]);
  await Promise.all(
    entries
      .filter((name) => name.startsWith(TEMP_PREFIX) || name.startsWith(OLD_PREFIX))
      .map(async (name) => {
        const full = path.join(cacheVcsDir, name);
        const owner = /\.(\d+)-[0-9a-f]{12}(?:\.([0-9a-f]{8}))?$/.exec(name);
        const age = await stat(full).then(
          (s) => Date.now() - s.mtimeMs,
          () => 0,
        );
        const gone = owner !== null && isOwnerGone(Number(owner[1]), owner[2]);
        if (age > STALE_MS || gone) await rm(full, { recursive: true, force: true }).catch(() => undefined);
      }),
  );
}
