import { createHash, type Hash } from 'node:crypto';
import { open, stat, type FileHandle } from 'node:fs/promises';
import type { Dispatcher } from 'undici';
import { Agent } from '../net/undici-lean.js';
import { makeDurable } from '../cache/commit.js';
import { cacheRootOf, ensureContainedDir } from '../cache/contained-dir.js';
import { removeQuietly, tempPathFor } from '../cache/temp-files.js';
import { PrefetchError, RangeMismatchError } from '../errors.js';
import { isPushback, statusFailure } from '../net/http-status.js';
import { isResetLike, networkError, socketCause } from '../net/network-error.js';
import { contentRange, header, numberHeader } from '../net/response-headers.js';
import { checkPartialResponse, validatorOf, type Validator } from '../net/transfer-bounds.js';
import type { Backend, DownloadOptions, DownloadTask, FetchContext, SettledTask, StagedFile, TaskResult } from '../types.js';
import { decideSplit, receiveSegmented } from './segmented.js';
import { fetchTask } from './fetch-loop.js';
import { retryPolicyFor, type RetryPolicy } from '../net/retry-policy.js';
import { TransferBudget } from './transfer-budget.js';
import { BodyBatches, batchBytes } from './body-batches.js';
import { TransferWatch } from './transfer-watch.js';
import { progressReporter } from './progress.js';

const MAX_REDIRECTS = 20; // as Composer (`CurlDownloader::handleRedirect`)

export interface NativeBackendOptions {
  readonly dispatcher: Dispatcher;
  /**
   * A new dispatcher with the same settings (proxy, TLS, timeouts), used for one retry attempt
   * and destroyed after it, so a retry never lands on the keep-alive connection that just failed
   * (codeload's sticky 400s, half-dead HTTP/2 sessions). Default: an undici Agent built from
   * `ctx.options` timeouts.
   */
  readonly freshDispatcher?: (options: DownloadOptions) => Dispatcher;
  /** The run's slots and per-origin gates, when other transports share them (pick-backend.ts sizes it). */
  readonly budget?: TransferBudget;
  /** Base policy; `retries` and `maxTimeMs` are taken from `ctx.options` (the CLI flags). */
  readonly retryPolicy?: RetryPolicy;
  readonly random?: () => number;
  readonly userAgent?: string;
}

/** A partly written temp file that a retry may continue with `Range` instead of starting over. */
interface PartialFile {
  readonly tempPath: string;
  /** sha1 of the bytes on disk so far; only when the lock has a shasum to check it against. */
  readonly hash: Hash | undefined;
  bytes: number;
  /** Strong ETag or Last-Modified of the first response, for `If-Range`; a 206 must carry the same. */
  readonly validator: Validator | undefined;
  readonly total: number | undefined;
}

/**
 * The one partial file of a package between its attempts: what the next attempt resumes from.
 * The attempt that writes to it holds it; whoever finds its bytes worthless discards it.
 */
class ResumePoint {
  #file: PartialFile | undefined;

  get file(): PartialFile | undefined {
    return this.#file;
  }

  /** The bytes on disk are now `file`'s (a new file, or the one continued). */
  hold(file: PartialFile): void {
    this.#file = file;
  }

  /** The bytes on disk are worth nothing to a retry: delete them. */
  async discard(): Promise<void> {
    const file = this.#file;
    this.#file = undefined;
    if (file !== undefined) await removeQuietly(file.tempPath);
  }

  /** The file was staged: `accept` owns it now and removes it if it is refused. */
  release(): void {
    this.#file = undefined;
  }
}

/**
 * Downloads with undici: keep-alive pools per origin, streaming to a temp file (hashing it on the
 * way when the lock has a shasum).
 *
 * Scheduling: every request hop first takes its origin's adaptive gate, then a global slot;
 * both are released before any retry sleep, so a package waiting out a Retry-After or a
 * backoff holds nothing and a throttled origin cannot tie up the slots other origins need.
 */
export function createNativeBackend(options: NativeBackendOptions): Backend {
  const random = options.random ?? Math.random;
  const userAgent = options.userAgent ?? 'composer-prefetch';
  const freshDispatcher = options.freshDispatcher ?? defaultFreshDispatcher;

  return {
    name: 'native',
    async fetchAll(tasks: readonly SettledTask[], ctx: FetchContext): Promise<TaskResult[]> {
      const policy = retryPolicyFor(ctx.options, options.retryPolicy);
      const deps: Deps = {
        ctx,
        budget: ownBudget(options.budget, ctx.options),
        policy,
        random,
        userAgent,
        dispatcher: options.dispatcher,
        freshDispatcher: () => freshDispatcher(ctx.options),
      };
      return Promise.all(tasks.map((task) => runTask(task, deps)));
    },
    async close() {
      // The dispatcher belongs to the caller, who may share it.
    },
  };
}

/** The shared budget as given (its owner sized it), or one of this backend's own, sized here. */
function ownBudget(shared: TransferBudget | undefined, options: DownloadOptions): TransferBudget {
  if (shared !== undefined) return shared;
  const budget = new TransferBudget();
  budget.size(options);
  return budget;
}

function defaultFreshDispatcher(o: DownloadOptions): Dispatcher {
  return new Agent({
    connections: 1,
    connect: { timeout: o.connectTimeoutMs },
    headersTimeout: o.headersTimeoutMs,
    bodyTimeout: o.stallTimeoutMs,
  });
}

interface Deps {
  readonly ctx: FetchContext;
  readonly budget: TransferBudget;
  readonly policy: RetryPolicy;
  readonly random: () => number;
  readonly userAgent: string;
  readonly dispatcher: Dispatcher;
  readonly freshDispatcher: () => Dispatcher;
}

/**
 * One package through the shared loop; a broken transfer's temp file is kept for a `Range` resume.
 *
 * Once a range came from another entity, or a file assembled from several responses (split or
 * resumed) failed verification, the package is fetched whole: one response, no split, no resume.
 * A server may answer ranges from another representation under one ETag; only a single response
 * is guaranteed to be one representation.
 */
function runTask(task: SettledTask, deps: Deps): Promise<TaskResult> {
  const resume = new ResumePoint();
  let whole = false;
  let lastAssembled = false;
  return fetchTask(
    task,
    deps.ctx,
    { policy: deps.policy, random: deps.random },
    {
      async attempt(url, attempt, scope) {
        if (whole) await resume.discard();
        try {
          const { staged, assembled } = await transfer(task, url, attempt, { resume, whole, signal: scope.signal, started: scope.started }, deps);
          lastAssembled = assembled;
          resume.release();
          return staged;
        } catch (error) {
          if (error instanceof RangeMismatchError) whole = true;
          throw error;
        }
      },
      rejected() {
        if (lastAssembled) whole = true;
      },
      async leave() {
        // Interrupted, out of retries, or moving to another URL (other bytes): drop the partial.
        await resume.discard();
      },
    },
  );
}

/** How one attempt goes: where it resumes from, whether it must be one whole response, and its package's signal. */
interface Attempt {
  readonly resume: ResumePoint;
  /** One response, no split, no resume (a range came from another entity, or an assembled file failed). */
  readonly whole: boolean;
  readonly signal: AbortSignal;
  readonly started: () => void;
}

/** The attempt's transfer as one request sees it: the connection, its bounds, and the file it continues. */
interface Exchange {
  readonly dispatcher: Dispatcher;
  readonly watch: TransferWatch;
  /** The partial this attempt continues (taken at its start), or undefined for a new file. */
  readonly resumeFrom: PartialFile | undefined;
}

/** A final (not redirect) response, still holding its origin gate and global slot until `release`. */
interface Landed {
  readonly response: Dispatcher.ResponseData;
  readonly url: URL;
  readonly shown: string;
  /** The request headers as sent to `url` (a split reuses them for its segments). */
  readonly headers: Readonly<Record<string, string>>;
  readonly sentAt: number;
  readonly release: () => void;
}

/** One attempt at `url`: follow its redirects, then handle the response they end at. */
async function transfer(task: SettledTask, url: string, attempt: number, how: Attempt, deps: Deps): Promise<{ staged: StagedFile; assembled: boolean }> {
  // Any attempt after a failure goes out on a fresh connection.
  const fresh = attempt > 1;
  const dispatcher = fresh ? deps.freshDispatcher() : deps.dispatcher;
  const watch = new TransferWatch({ parent: how.signal, options: deps.ctx.options, packageName: task.packageName, url: task.policy.redact(url) });
  const exchange: Exchange = { dispatcher, watch, resumeFrom: how.resume.file };
  try {
    const landed = await followRedirects(task, url, attempt, how, exchange, deps);
    try {
      return await handleResponse(task, landed, how, exchange, deps);
    } finally {
      landed.release();
    }
  } finally {
    watch.dispose();
    // The body has been read to the end or abandoned by now; drop the one-off connection.
    if (fresh) await dispatcher.destroy().catch(() => undefined);
  }
}

/**
 * Requests `url` and follows redirects ourselves, so credentials and secure-http are decided again
 * for every hop, as Composer's `CurlDownloader::handleRedirect` does. Each hop takes its origin's
 * gate and a global slot; a redirect gives them back (the next hop may be another origin).
 */
async function followRedirects(task: SettledTask, url: string, attempt: number, how: Attempt, exchange: Exchange, deps: Deps): Promise<Landed> {
  const { resumeFrom, watch } = exchange;
  let current = new URL(url);
  for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
    task.policy.assertAllowed(current);
    const shown = task.policy.redact(current.href);
    const headers: Record<string, string> = {
      ...task.policy.headersFor(current),
      'user-agent': deps.userAgent,
      // The sha1 in the lock is of the bytes as served; a transparent gzip layer would change nothing
      // on disk but cost CPU, and a server that mislabels it would corrupt the archive.
      'accept-encoding': 'identity',
    };
    if (resumeFrom && resumeFrom.validator !== undefined && resumeFrom.bytes > 0) {
      headers['range'] = `bytes=${resumeFrom.bytes}-`;
      headers['if-range'] = resumeFrom.validator.value;
    }
    const release = await deps.budget.acquire(current.host, watch.signal);
    let landed = false;
    try {
      if (hop === 0) {
        how.started();
        deps.ctx.emit({ type: 'started', task, url: task.policy.redact(url), attempt });
      }
      const sentAt = deps.budget.gate.now();
      let response: Dispatcher.ResponseData;
      try {
        response = await exchange.dispatcher.request({
          origin: current.origin,
          path: `${current.pathname}${current.search}`,
          method: 'GET',
          headers,
          signal: watch.signal,
        });
      } catch (error) {
        // Sent but unanswered: the server may well have seen it.
        if (!watch.signal.aborted) deps.ctx.emit({ type: 'exchange', task, url: shown, status: undefined });
        if (isResetLike(error)) deps.budget.gate.reset(current.host, sentAt);
        throw networkError(watch.explain(error), task.packageName, shown);
      }
      deps.ctx.emit({ type: 'exchange', task, url: shown, status: response.statusCode });
      const location = header(response.headers, 'location');
      if (response.statusCode >= 300 && response.statusCode < 400 && location !== undefined) {
        await response.body.dump().catch(() => undefined);
        current = new URL(location, current);
        continue;
      }
      landed = true;
      return { response, url: current, shown, headers, sentAt, release };
    } finally {
      if (!landed) release();
    }
  }
  throw new PrefetchError('E_HTTP', `${task.packageName}: more than ${MAX_REDIRECTS} redirects from ${task.policy.redact(url)}`, {
    packageName: task.packageName,
    url: task.policy.redact(url),
  });
}

/** A 200/206 becomes the staged file (split, resumed or streamed whole); any other status an `HttpStatusError`. */
async function handleResponse(
  task: SettledTask,
  landed: Landed,
  how: Attempt,
  exchange: Exchange,
  deps: Deps,
): Promise<{ staged: StagedFile; assembled: boolean }> {
  const { ctx } = deps;
  const { response, url, shown, sentAt } = landed;
  const { resumeFrom, watch } = exchange;
  const { statusCode } = response;
  if (statusCode === 200 || statusCode === 206) {
    // A big, rangeable fresh 200 is split into parallel segments (segmented.ts); a resumed
    // transfer, a whole-only refetch, or anything `decideSplit` refuses, streams on as one response.
    const split = resumeFrom || how.whole ? undefined : decideSplit(statusCode, response.headers, ctx.options);
    try {
      // An archive above --max-size is refused on its declared length, before any byte is written.
      try {
        watch.declared(statusCode === 206 ? contentRange(response.headers)?.total : numberHeader(response.headers, 'content-length'));
      } catch (error) {
        response.body.destroy();
        await how.resume.discard();
        throw error;
      }
      const staged = split
        ? {
            file: await receiveSegmented({
              task,
              url,
              shown,
              first: response,
              decision: split,
              ctx: { ...ctx, signal: watch.signal },
              dispatcher: exchange.dispatcher,
              retryPolicy: deps.policy,
              random: deps.random,
              headers: landed.headers,
              gate: { pushedBack: () => deps.budget.gate.congested(url.host), cut: () => deps.budget.gate.reset(url.host) },
              watch,
            }),
            resumed: false,
          }
        : await receive(task, response, { resume: how.resume, resumeFrom, resumable: !how.whole, shown, watch }, ctx);
      deps.budget.gate.succeeded(url.host);
      return { staged: staged.file, assembled: split !== undefined || staged.resumed };
    } catch (error) {
      if (isResetLike((error as { cause?: unknown }).cause ?? error)) deps.budget.gate.reset(url.host, sentAt);
      throw error;
    }
  }
  await response.body.dump().catch(() => undefined);
  if (isPushback(statusCode)) deps.budget.gate.congested(url.host, sentAt);
  // Our offset is no longer valid: start over on the next attempt.
  if (statusCode === 416) await how.resume.discard();
  throw statusFailure(
    {
      status: statusCode,
      url,
      retryAfter: header(response.headers, 'retry-after'),
      rateLimitRemaining: header(response.headers, 'x-ratelimit-remaining'),
      rateLimitReset: header(response.headers, 'x-ratelimit-reset'),
    },
    { packageName: task.packageName, shown, nowMs: Date.now() },
  );
}

/** Streams one response into the partial file it continues or a new one; the resume point holds it meanwhile. */
async function receive(
  task: DownloadTask,
  response: Dispatcher.ResponseData,
  how: {
    readonly resume: ResumePoint;
    readonly resumeFrom: PartialFile | undefined;
    readonly resumable: boolean;
    readonly shown: string;
    readonly watch: TransferWatch;
  },
  ctx: FetchContext,
): Promise<{ file: StagedFile; resumed: boolean }> {
  const { resume, resumeFrom, shown, watch } = how;
  // Start taking the body now, before any await: undici destroys the body stream when the
  // socket dies, and destroy() drops whatever it had buffered. Chunks already queued by
  // `batches` survive and come out before the error, so a reset mid-body still leaves
  // everything received on disk as the offset to resume from.
  const batches = new BodyBatches(response.body);
  const length = numberHeader(response.headers, 'content-length');
  let opened: { partial: PartialFile; handle: FileHandle };
  try {
    opened = await openTarget(task, response, resume, resumeFrom, shown, length);
  } catch (error) {
    batches.dispose();
    response.body.destroy();
    throw error;
  }
  const { partial, handle } = opened;
  const resumed = partial === resumeFrom;
  watch.bodyStarted(partial.bytes);
  const progress = progressReporter(task, ctx);

  // A plain loop, not pipeline() into a Writable: when the socket dies, a Writable's buffered
  // chunks are dropped on destroy while the hash may or may not have seen them. Here every
  // batch is on disk and hashed, or neither, so `partial.bytes` is a safe Range offset.
  let writeFailed = false;
  try {
    for (let batch = await batches.next(); batch !== undefined; batch = await batches.next()) {
      const size = batchBytes(batch);
      try {
        // One writev per batch (libuv completes partial writes itself).
        const { bytesWritten } = await handle.writev(batch);
        if (bytesWritten !== size) throw new Error(`short write (${bytesWritten} of ${size} bytes)`);
      } catch (error) {
        writeFailed = true;
        throw error;
      }
      if (partial.hash) for (const chunk of batch) partial.hash.update(chunk);
      partial.bytes += size;
      // Past --max-size (an endless body): throws, and the temp file goes below.
      watch.received(size);
      progress(partial.bytes, partial.total);
    }
  } catch (error) {
    batches.dispose();
    response.body.destroy();
    await handle.close().catch(() => undefined);
    const reason = watch.explain(error);
    // Without a validator a retry cannot safely continue, after a failed write the file may hold
    // bytes the hash has not seen, a whole-only refetch must not resume, and bytes past
    // --max-size are worth nothing: start over in all these cases.
    if (partial.validator === undefined || writeFailed || !how.resumable || isFinal(reason)) await resume.discard();
    if (writeFailed) {
      throw new PrefetchError('E_CACHE', `${task.packageName}: cannot write ${partial.tempPath}: ${error instanceof Error ? error.message : String(error)}`, {
        packageName: task.packageName,
        cause: error,
        hint: 'Check free space and permissions in the Composer cache directory.',
      });
    }
    throw networkError(reason, task.packageName, shown);
  }
  batches.dispose();
  const complete = partial.total === undefined || partial.bytes === partial.total;
  // fsync and times on the handle still open (commitToCache would re-open the file for them).
  if (complete) {
    try {
      await makeDurable(handle);
    } catch (error) {
      await handle.close().catch(() => undefined);
      await resume.discard();
      throw new PrefetchError('E_CACHE', `${task.packageName}: cannot write ${partial.tempPath}: ${error instanceof Error ? error.message : String(error)}`, {
        packageName: task.packageName,
        cause: error,
        hint: 'Check free space and permissions in the Composer cache directory.',
      });
    }
  }
  await handle.close();
  if (!complete) {
    // The server closed cleanly but early (or sent too much): resume if we can, else restart.
    if (partial.bytes > partial.total || partial.validator === undefined || !how.resumable) await resume.discard();
    throw new PrefetchError('E_NETWORK', `${task.packageName}: body ended after ${partial.bytes} of ${partial.total} bytes from ${shown}`, {
      packageName: task.packageName,
      url: shown,
      retryable: true,
      cause: socketCause('UND_ERR_RES_CONTENT_LENGTH_MISMATCH', 'the response ended before its Content-Length'),
    });
  }
  progress(partial.bytes, partial.bytes, true);
  return { file: { path: partial.tempPath, bytes: partial.bytes, sha1: partial.hash?.digest('hex'), url: shown, durable: true }, resumed };
}

/** A limit that no retry of this transfer can get under (the partial is worthless then). */
function isFinal(reason: unknown): boolean {
  return reason instanceof PrefetchError && reason.code === 'E_LIMIT';
}

/** The file this response's bytes go to: the partial it continues (a matching 206), or a new one, held by `resume`. */
async function openTarget(
  task: DownloadTask,
  response: Dispatcher.ResponseData,
  resume: ResumePoint,
  resumeFrom: PartialFile | undefined,
  shown: string,
  length: number | undefined,
): Promise<{ partial: PartialFile; handle: FileHandle }> {
  const mismatch = response.statusCode === 206 ? await continuationProblem(resumeFrom, response.headers) : undefined;
  if (response.statusCode === 206 && resumeFrom && mismatch === undefined) {
    return { partial: resumeFrom, handle: await open(resumeFrom.tempPath, 'a') };
  }
  // A 200 to our Range request (server ignores Range, or If-Range saw a new entity), or a 206 of
  // other bytes: the old bytes and their hash are worthless; start a new file with a new hash.
  await resume.discard();
  if (response.statusCode === 206) {
    throw new RangeMismatchError({ packageName: task.packageName, url: shown, problem: 'unexpected', detail: 'we did not ask for', ...mismatch });
  }
  await ensureContainedDir(task.cachePath, cacheRootOf(task));
  const partial: PartialFile = {
    tempPath: tempPathFor(task.cachePath),
    hash: task.expectedSha1 === undefined ? undefined : createHash('sha1'),
    bytes: 0,
    validator: validatorOf(response.headers),
    total: length,
  };
  const handle = await open(partial.tempPath, 'w');
  resume.hold(partial);
  return { partial, handle };
}

/**
 * Why a 206 cannot continue our partial, or undefined when it can: it must carry the validator
 * our If-Range sent (strong ETag or Last-Modified; changed or missing = another entity), start at
 * our offset, describe the same entity length, and the file on disk must be exactly what we hashed.
 */
async function continuationProblem(
  partial: PartialFile | undefined,
  headers: Dispatcher.ResponseData['headers'],
): Promise<{ problem: RangeMismatchError['problem']; expected?: string | undefined; received?: string | undefined; detail: string } | undefined> {
  if (partial === undefined || partial.validator === undefined) return { problem: 'unexpected', detail: 'we did not ask for' };
  const verdict = checkPartialResponse({ validator: partial.validator, start: partial.bytes, total: partial.total }, headers);
  if (!verdict.ok) return { problem: verdict.problem, expected: verdict.expected, received: verdict.received, detail: verdict.detail };
  try {
    if ((await stat(partial.tempPath)).size === partial.bytes) return undefined;
  } catch {
    // Gone: start over.
  }
  return { problem: 'unexpected', detail: 'while our partial file on disk was not as we left it' };
}
