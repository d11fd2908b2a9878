import { readdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import pLimit from 'p-limit';
import { makeDirectories } from '../cache/make-dirs.js';
import { isOwnerGone, ownedName } from '../cache/temp-files.js';
import { PrefetchError, type ErrorCode } from '../errors.js';
import { gitEnv, gitHost, originPrefix, sanitizeGitUrl, type GitEnvOptions } from './git-env.js';
import { branchOrTagListed, checkedBranch, type MirrorPlan, type MirrorRef, type MirrorTask } from './plan-mirrors.js';

export type MirrorAction = 'clone' | 'update';

export type MirrorResult =
  /** Every locked reference (and the branch/tag Composer checks) was already in the mirror. */
  | { readonly kind: 'cached'; readonly task: MirrorTask }
  /**
   * The mirror is in place; `missing` are the packages whose reference it still lacks (each a
   * failure of that package, named): the others sharing the repository are served.
   */
  | { readonly kind: 'cloned' | 'updated'; readonly task: MirrorTask; readonly bytes: number | undefined; readonly attempts: number; readonly durationMs: number; readonly missing: readonly MissingRef[] }
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
  /** Longest one git command may run before it is killed (and retried). */
  readonly timeoutMs: number;
  readonly retries: number;
  /** Environment and settings every git command gets; credentials are added per URL. */
  readonly env: Omit<GitEnvOptions, 'headers'>;
  /** The `Authorization` value for a source URL (auth.json), if any. */
  readonly authorization: (url: URL) => string | undefined;
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

/**
 * Creates or updates every planned bare mirror the way `Git::syncMirror` would (`git clone --mirror`,
 * or `git remote update --prune origin` on an existing one), in parallel within the bounds, each
 * clone made beside its target and renamed into place only once every locked reference resolves
 * to a commit in it (`Git::checkRefIsInMirror`). A folder Composer would not accept as a mirror
 * (`git rev-parse --git-dir` is not `.`) is replaced.
 */
export async function fetchMirrors(plan: MirrorPlan, options: MirrorFetchOptions): Promise<MirrorFetchOutcome> {
  if (plan.tasks.length === 0) return { results: [], gitMissing: false };
  const gitBin = options.git ?? 'git';
  const version = await execa(gitBin, ['--version'], { reject: false, env: gitEnv(options.env), extendEnv: false });
  if (version.failed) return { results: [], gitMissing: true };
  // Credentials travel as GIT_CONFIG_COUNT/KEY/VALUE, which git reads since 2.31; an older git
  // would silently drop them (and the protocol limits), so it is not used.
  const [major = 0, minor = 0] = (/(\d+)\.(\d+)/.exec(String(version.stdout)) ?? []).slice(1).map(Number);
  if (major < 2 || (major === 2 && minor < 31)) {
    options.emit({ type: 'warning', message: `${String(version.stdout).trim()} is older than 2.31, which this tool needs to hand git credentials through its environment: source packages not prefetched.` });
    return { results: [], gitMissing: false };
  }
  if (options.mode === 'fetch') await removeStaleTemps(plan.cacheVcsDir);

  const global = pLimit(Math.max(1, options.concurrency));
  const hosts = new Map<string, ReturnType<typeof pLimit>>();
  const perHost = (url: string): ReturnType<typeof pLimit> => {
    const host = gitHost(url);
    let limit = hosts.get(host);
    if (limit === undefined) hosts.set(host, (limit = pLimit(Math.max(1, options.perHost))));
    return limit;
  };
  const results = await Promise.all(
    plan.tasks.map(async (task) => {
      // Looking at a mirror on disk takes no host's slot; only fetching does. The host's slot is
      // taken before the global one, so a task waiting for a busy host holds no global slot.
      const local = await global(() => inspectMirror(task, options, gitBin));
      const result = 'kind' in local ? local : await perHost(task.url)(() => global(() => syncMirror(task, local, options)));
      options.emit({ type: 'result', result });
      return result;
    }),
  );
  return { results, gitMissing: false };
}

interface Git {
  run(args: readonly string[], cwd: string, timeoutMs?: number): Promise<{ ok: boolean; stdout: string; stderr: string; timedOut: boolean; aborted: boolean }>;
}

function gitFor(task: MirrorTask, options: MirrorFetchOptions, gitBin: string): { git: Git; url: string } {
  const url = sanitizeGitUrl(task.url);
  const headers = new Map<string, string>();
  if (URL.canParse(task.url)) {
    const parsed = new URL(task.url);
    const fromAuth = options.authorization(new URL(url));
    // Userinfo in the lock's URL is what Composer would use when nothing is configured (`Git::runCommand`).
    const fromUrl = parsed.username !== '' ? `Basic ${Buffer.from(`${decodeURIComponent(parsed.username)}:${decodeURIComponent(parsed.password)}`).toString('base64')}` : undefined;
    const value = fromAuth ?? fromUrl;
    if (value !== undefined) headers.set(originPrefix(new URL(url)), value);
  }
  const env = gitEnv({ ...options.env, headers });
  const git: Git = {
    async run(args, cwd, timeoutMs = options.timeoutMs) {
      options.emit({ type: 'command', task, args });
      // Its own process group: git's helpers (git-remote-http, index-pack) hold the output pipes, so
      // stopping only git would wait for a stalled helper; the whole group is stopped instead.
      const child = execa(gitBin, args, { cwd, env, extendEnv: false, reject: false, stdin: 'ignore', detached: process.platform !== 'win32' });
      let stopped: 'timeout' | 'abort' | undefined;
      let hardKill: NodeJS.Timeout | undefined;
      const signalGroup = (signal: NodeJS.Signals): void => {
        try {
          if (process.platform !== 'win32' && child.pid !== undefined) process.kill(-child.pid, signal);
          else child.kill(signal);
        } catch {
          // already gone
        }
      };
      const stop = (why: 'timeout' | 'abort'): void => {
        if (stopped !== undefined) return;
        stopped = why;
        signalGroup('SIGTERM');
        hardKill = setTimeout(() => signalGroup('SIGKILL'), 1000);
      };
      const timer = setTimeout(() => stop('timeout'), timeoutMs);
      const onAbort = (): void => stop('abort');
      options.signal.addEventListener('abort', onAbort, { once: true });
      if (options.signal.aborted) onAbort();
      try {
        const r = await child;
        return { ok: stopped === undefined && r.exitCode === 0 && !r.failed, stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? ''), timedOut: stopped === 'timeout', aborted: stopped === 'abort' };
      } finally {
        clearTimeout(timer);
        clearTimeout(hardKill);
        options.signal.removeEventListener('abort', onAbort);
      }
    },
  };
  return { git, url };
}

/** `Git::syncMirror`'s test for an existing mirror: `git rev-parse --git-dir` prints `.` inside it. */
async function isMirror(git: Git, dir: string): Promise<boolean> {
  if (!(await stat(dir).then((s) => s.isDirectory(), () => false))) return false;
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

/** What is on disk, when the network is needed: the git runner and whether a mirror is there to update. */
interface LocalState {
  readonly git: Git;
  readonly url: string;
  readonly existing: boolean;
}

/** The mirror on disk: `cached` when Composer would not sync it, a `check`-mode failure, or what to fetch. */
async function inspectMirror(task: MirrorTask, options: MirrorFetchOptions, gitBin: string): Promise<MirrorResult | LocalState> {
  const { git, url } = gitFor(task, options, gitBin);
  const existing = await isMirror(git, task.dir);
  const before = existing ? await refState(git, task.dir, task.refs) : undefined;
  if (before !== undefined && before.missing.length === 0 && before.unlisted.length === 0) return { kind: 'cached', task };
  if (options.mode === 'check') {
    const first = before?.missing[0] ?? before?.unlisted[0] ?? task.refs[0]!;
    const what = before === undefined ? `no mirror at ${task.dir}` : before.missing.length > 0 ? `reference ${first.reference} is not in the mirror ${task.dir}` : `no branch or tag ${checkedBranch(first)} in the mirror ${task.dir}`;
    return { kind: 'failed', task, attempts: 0, error: new PrefetchError('E_CACHE', what, { packageName: first.packageName, url }) };
  }
  return { git, url, existing };
}

async function syncMirror(task: MirrorTask, { git, url, existing }: LocalState, options: MirrorFetchOptions): Promise<MirrorResult> {
  const action: MirrorAction = existing ? 'update' : 'clone';
  const started = Date.now();
  let attempt = 0;
  for (;;) {
    attempt++;
    options.emit({ type: 'started', task, action, attempt });
    try {
      const { bytes, state: after } = action === 'update' ? await updateMirror(git, task, url) : await cloneMirror(git, task, url);
      const missing = after.missing.map((ref) => ({ ref, error: missingRefError(ref, url) }));
      for (const ref of after.unlisted) {
        options.emit({ type: 'warning', message: `${ref.packageName} ${ref.version}: the mirror has the locked commit but no branch or tag named ${checkedBranch(ref)}, so composer install will still sync it from ${url} (Git::fetchRefOrSyncMirror).` });
      }
      return { kind: action === 'update' ? 'updated' : 'cloned', task, bytes, attempts: attempt, durationMs: Date.now() - started, missing };
    } catch (error) {
      const failure = error instanceof PrefetchError ? error : new PrefetchError('E_CACHE', (error as Error).message, { cause: error, packageName: task.refs[0]!.packageName, url });
      if (!failure.retryable || attempt > options.retries || options.signal.aborted) return { kind: 'failed', task, error: failure, attempts: attempt };
      const delayMs = 500 * attempt;
      options.emit({ type: 'retried', task, attempt, delayMs, error: failure });
      await sleep(delayMs, undefined, { signal: options.signal }).catch(() => undefined);
    }
  }
}

/** `Git::checkRefIsInMirror` failed after a clone or update: the commit is not in the repository. */
function missingRefError(ref: MirrorRef, url: string): PrefetchError {
  return new PrefetchError('E_PACKAGE', `reference ${ref.reference} is not in ${url} (git rev-parse --verify ${ref.reference}^{commit} fails in the mirror)`, {
    packageName: ref.packageName,
    url,
    hint: 'The locked commit is gone from the repository (a force-push or a deleted branch?): run `composer update` for this package.',
  });
}

/** A failed git command as a typed error: auth failures are final, the rest may be retried. */
function commandError(task: MirrorTask, url: string, what: string, r: { stderr: string; timedOut: boolean; aborted: boolean }): PrefetchError {
  const packageName = task.refs[0]!.packageName;
  if (r.aborted) return new PrefetchError('E_ABORTED', `${what} interrupted`, { packageName, url });
  const tail = r.stderr.split(/[\r\n]+/).filter((l) => l.trim() !== '' && !/^(?:remote: )?(?:Counting|Compressing|Receiving|Resolving|Enumerating|Total)/.test(l)).slice(-3).join(' / ');
  if (r.timedOut) return new PrefetchError('E_NETWORK', `${what} of ${url} did not finish in time and was stopped`, { packageName, url, retryable: true });
  const auth = /Authentication failed|could not read (?:Username|Password)|returned error: 40[13]|terminal prompts disabled|Permission denied \(publickey/i.test(r.stderr);
  const code: ErrorCode = auth ? 'E_AUTH' : 'E_NETWORK';
  return new PrefetchError(code, `${what} of ${url} failed: ${tail || 'git exited with an error'}`, {
    packageName,
    url,
    retryable: !auth,
    ...(auth ? { hint: `Add credentials for ${gitHost(url)} to auth.json (http-basic, github-oauth, gitlab-token, bitbucket-oauth) or COMPOSER_AUTH, or set up ssh keys for ssh URLs.` } : {}),
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

/**
 * `git clone --mirror` into a fresh folder beside the target, checked, then renamed into place:
 * a killed run leaves only a `.cp-tmp-*` folder, which Composer never looks at.
 */
async function cloneMirror(git: Git, task: MirrorTask, url: string): Promise<{ bytes: number | undefined; state: RefState }> {
  const parent = path.dirname(task.dir);
  // Not `mkdir -p` through Node's recursive mkdir: it never returns on /proc-like filesystems.
  makeDirectories(parent);
  const tmp = path.join(parent, ownedName(`${TEMP_PREFIX}${path.basename(task.dir).slice(0, 80)}.`));
  try {
    const r = await git.run(['clone', '--mirror', '--progress', '--', url, tmp], parent);
    if (!r.ok) throw commandError(task, url, 'git clone --mirror', r);
    // A clone with none of the locked references serves nobody: not kept. With some, the others fail by name.
    const state = await refState(git, tmp, task.refs);
    if (state.missing.length === task.refs.length) throw missingRefError(task.refs[0]!, url);
    // Lost a race to a concurrent run: its mirror is the one in place, so its state is the one that counts.
    const kept = await install(git, tmp, task.dir);
    return { bytes: receivedBytes(r.stderr), state: kept === 'ours' ? state : await refState(git, task.dir, task.refs) };
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/** Renames a checked clone into place; a broken folder there is moved aside first, then removed. */
async function install(git: Git, tmp: string, dir: string): Promise<'ours' | 'theirs'> {
  const exists = await stat(dir).then(() => true, () => false);
  if (exists) {
    // Another run may have put a good mirror here since we looked: keep it.
    if (await isMirror(git, dir)) return 'theirs';
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
 * Composer sets the credentialed URL for the fetch and the sanitized one after it; the origin here
 * is always the sanitized URL, and the credential travels in the environment.
 */
async function updateMirror(git: Git, task: MirrorTask, url: string): Promise<{ bytes: number | undefined; state: RefState }> {
  const setUrl = await git.run(['remote', 'set-url', 'origin', '--', url], task.dir);
  if (!setUrl.ok) throw commandError(task, url, 'git remote set-url', setUrl);
  const r = await git.run(['remote', 'update', '--prune', 'origin'], task.dir);
  if (!r.ok) throw commandError(task, url, 'git remote update --prune origin', r);
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
        const age = await stat(full).then((s) => Date.now() - s.mtimeMs, () => 0);
        const gone = owner !== null && isOwnerGone(Number(owner[1]), owner[2]);
        if (age > STALE_MS || gone) await rm(full, { recursive: true, force: true }).catch(() => undefined);
      }),
  );
}
