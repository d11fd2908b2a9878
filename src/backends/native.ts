import { createHash, type Hash } from 'node:crypto';
import { mkdir, open, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import pLimit from 'p-limit';
import type { Dispatcher } from 'undici';
import { removeQuietly, tempPathFor } from '../cache/temp-files.js';
import { HttpStatusError, PrefetchError, toPrefetchError } from '../errors.js';
import { decideRetry, defaultRetryPolicy, isRetryableStatus, parseRetryAfter, type RetryPolicy } from '../net/retry-policy.js';
import { OriginGate } from '../net/origin-gate.js';
import { networkError } from '../net/network-error.js';
import type { DownloadTask } from '../plan/types.js';
import type { Backend, FetchContext, StagedFile, TaskResult } from './types.js';
import { decideSplit, receiveSegmented } from './segmented.js';

const MAX_REDIRECTS = 20; // as Composer (`CurlDownloader::handleRedirect`)
const PROGRESS_INTERVAL_MS = 200;

export interface NativeBackendOptions {
  readonly dispatcher: Dispatcher;
  readonly retryPolicy?: RetryPolicy;
  readonly random?: () => number;
  readonly userAgent?: string;
}

/** A partly written temp file that a retry may continue with `Range` instead of starting over. */
interface Partial {
  readonly tempPath: string;
  readonly hash: Hash;
  bytes: number;
  /** Strong ETag or Last-Modified of the first response, for `If-Range`. */
  validator: string | undefined;
  total: number | undefined;
}

/** Downloads with undici: one keep-alive pool per origin, streaming to a temp file while hashing. */
export function createNativeBackend(options: NativeBackendOptions): Backend {
  const policy = options.retryPolicy ?? defaultRetryPolicy;
  const random = options.random ?? Math.random;
  const userAgent = options.userAgent ?? 'composer-prefetch';

  return {
    name: 'native',
    async fetchAll(tasks: readonly DownloadTask[], ctx: FetchContext): Promise<TaskResult[]> {
      const limit = pLimit(ctx.options.concurrency);
      const gate = new OriginGate(ctx.options.perOrigin);
      // `--retries` bounds every kind of retry, integrity ones included.
      const retries = ctx.options.retries;
      const effective = { ...policy, retries, integrityRetries: Math.min(policy.integrityRetries, retries) };
      const deps = { ctx, gate, limit, policy: effective, random, userAgent, dispatcher: options.dispatcher };
      return Promise.all(tasks.map((task) => runTask(task, deps)));
    },
    async close() {
      // The dispatcher belongs to the caller, who may share it.
    },
  };
}

interface Deps {
  readonly ctx: FetchContext;
  readonly gate: OriginGate;
  readonly limit: ReturnType<typeof pLimit>;
  readonly policy: RetryPolicy;
  readonly random: () => number;
  readonly userAgent: string;
  readonly dispatcher: Dispatcher;
}

async function runTask(task: DownloadTask, deps: Deps): Promise<TaskResult> {
  const { ctx } = deps;
  let attempts = 0;
  let lastError: PrefetchError | undefined;
  for (const url of task.urls) {
    let urlAttempts = 0;
    let integrityFailures = 0;
    let partial: Partial | undefined;
    for (;;) {
      if (ctx.signal.aborted) {
        if (partial) await removeQuietly(partial.tempPath);
        return { kind: 'failed', task, attempts, error: abortedError(task) };
      }
      attempts++;
      urlAttempts++;
      const shown = ctx.policy.redact(url);
      try {
        const staged = await deps.limit(() => {
          ctx.emit({ type: 'started', task, url: shown, attempt: attempts });
          return transfer(task, url, partial, deps, (p) => (partial = p));
        });
        partial = undefined;
        await ctx.accept(task, staged);
        ctx.emit({ type: 'done', task, result: 'downloaded', bytes: staged.bytes, url: shown });
        return { kind: 'downloaded', task, url: shown, bytes: staged.bytes, attempts };
      } catch (thrown) {
        const error = ctx.signal.aborted ? abortedError(task) : toPrefetchError(thrown, 'E_NETWORK', { packageName: task.packageName, url: shown });
        lastError = error;
        if (ctx.signal.aborted) continue;
        if (error.code === 'E_CHECKSUM' || error.code === 'E_CORRUPT') integrityFailures++;
        const verdict = decideRetry(error, { attempts: urlAttempts, integrityFailures }, deps.policy, deps.random);
        if (verdict.action === 'next-url') {
          if (partial) await removeQuietly(partial.tempPath);
          partial = undefined;
          break;
        }
        ctx.emit({ type: 'retried', task, url: shown, attempt: attempts, delayMs: verdict.delayMs, error });
        await sleep(verdict.delayMs, undefined, { signal: ctx.signal }).catch(() => undefined);
      }
    }
  }
  const error = lastError ?? new PrefetchError('E_NETWORK', `${task.packageName}: no URL to download from`, { packageName: task.packageName });
  ctx.emit({ type: 'failed', task, error });
  return { kind: 'failed', task, attempts, error };
}

function abortedError(task: DownloadTask): PrefetchError {
  return new PrefetchError('E_ABORTED', `${task.packageName}: interrupted`, { packageName: task.packageName });
}

/**
 * One attempt: follow redirects ourselves (so credentials are decided again for every hop,
 * as Composer's `CurlDownloader::handleRedirect` does), then stream the body to the temp file.
 */
async function transfer(task: DownloadTask, url: string, resumeFrom: Partial | undefined, deps: Deps, keep: (p: Partial | undefined) => void): Promise<StagedFile> {
  const { ctx } = deps;
  let current = new URL(url);
  for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
    ctx.policy.assertAllowed(current);
    const shown = ctx.policy.redact(current.href);
    const headers: Record<string, string> = {
      ...ctx.policy.headersFor(current),
      'user-agent': deps.userAgent,
      // The sha1 in the lock is of the bytes as served; a transparent gzip layer would change nothing
      // on disk but cost CPU, and a server that mislabels it would corrupt the archive.
      'accept-encoding': 'identity',
    };
    if (resumeFrom && resumeFrom.validator !== undefined && resumeFrom.bytes > 0) {
      headers['range'] = `bytes=${resumeFrom.bytes}-`;
      headers['if-range'] = resumeFrom.validator;
    }
    const release = await deps.gate.acquire(current.host, ctx.signal);
    let response: Dispatcher.ResponseData;
    try {
      response = await deps.dispatcher.request({
        origin: current.origin,
        path: `${current.pathname}${current.search}`,
        method: 'GET',
        headers,
        signal: ctx.signal,
      });
    } catch (error) {
      release();
      if (isResetLike(error)) deps.gate.congested(current.host);
      throw networkError(error, task.packageName, shown);
    }
    try {
      const { statusCode } = response;
      const location = header(response.headers, 'location');
      if (statusCode >= 300 && statusCode < 400 && location !== undefined) {
        await response.body.dump();
        current = new URL(location, current);
        continue;
      }
      if (statusCode === 200 || statusCode === 206) {
        // Large, rangeable and validated: split into parallel Range segments (backends/segmented.ts).
        const split = resumeFrom ? undefined : decideSplit(statusCode, response.headers, ctx.options);
        const host = current.host;
        const staged = split
          ? await receiveSegmented({ task, url: current, shown, first: response, decision: split, ctx, dispatcher: deps.dispatcher, retryPolicy: deps.policy, random: deps.random, headers, onCongested: () => deps.gate.congested(host) })
          : await receive(task, response, resumeFrom, shown, deps, keep);
        deps.gate.succeeded(current.host);
        return staged;
      }
      await response.body.dump().catch(() => undefined);
      if (statusCode === 429 || statusCode === 503) deps.gate.congested(current.host);
      if (statusCode === 416 && resumeFrom) {
        // Our offset is no longer valid: start over on the next attempt.
        await removeQuietly(resumeFrom.tempPath);
        keep(undefined);
      }
      throw new HttpStatusError({
        status: statusCode,
        url: shown,
        packageName: task.packageName,
        retryable: isRetryableStatus(statusCode) || statusCode === 416,
        retryAfterMs: statusCode === 429 || statusCode === 503 ? parseRetryAfter(header(response.headers, 'retry-after'), Date.now()) : undefined,
        hint: statusHint(statusCode, current),
      });
    } finally {
      release();
    }
  }
  throw new PrefetchError('E_HTTP', `${task.packageName}: more than ${MAX_REDIRECTS} redirects from ${ctx.policy.redact(url)}`, {
    packageName: task.packageName,
    url: ctx.policy.redact(url),
  });
}

async function receive(
  task: DownloadTask,
  response: Dispatcher.ResponseData,
  resumeFrom: Partial | undefined,
  shown: string,
  deps: Deps,
  keep: (p: Partial | undefined) => void,
): Promise<StagedFile> {
  const { ctx } = deps;
  const length = numberHeader(response.headers, 'content-length');
  let partial: Partial;
  let handle: FileHandle;
  if (response.statusCode === 206 && resumeFrom && contentRangeStart(response.headers) === resumeFrom.bytes) {
    partial = resumeFrom;
    handle = await open(partial.tempPath, 'a');
  } else {
    if (resumeFrom) await removeQuietly(resumeFrom.tempPath);
    if (response.statusCode === 206) {
      await response.body.dump().catch(() => undefined);
      keep(undefined);
      throw new PrefetchError('E_NETWORK', `${task.packageName}: unexpected partial response from ${shown}`, { packageName: task.packageName, url: shown, retryable: true });
    }
    await mkdir(path.dirname(task.cachePath), { recursive: true });
    partial = { tempPath: tempPathFor(task.cachePath), hash: createHash('sha1'), bytes: 0, validator: validatorOf(response.headers), total: length };
    handle = await open(partial.tempPath, 'w');
  }
  keep(partial);

  let lastProgress = 0;
  const sink = new Writable({
    highWaterMark: 1 << 20,
    writev(chunks, callback) {
      const buffers = chunks.map((c) => c.chunk as Buffer);
      handle.writev(buffers).then(
        () => {
          for (const buffer of buffers) {
            partial.hash.update(buffer);
            partial.bytes += buffer.length;
          }
          const now = Date.now();
          if (now - lastProgress >= PROGRESS_INTERVAL_MS) {
            lastProgress = now;
            ctx.emit({ type: 'progress', task, bytes: partial.bytes, total: partial.total });
          }
          callback();
        },
        (error: Error) => callback(error),
      );
    },
  });
  try {
    await pipeline(response.body, sink);
  } catch (error) {
    await handle.close().catch(() => undefined);
    // Without a validator a retry cannot safely continue: start over.
    if (partial.validator === undefined) {
      await removeQuietly(partial.tempPath);
      keep(undefined);
    }
    throw networkError(error, task.packageName, shown);
  }
  await handle.close();
  if (partial.total !== undefined && partial.bytes !== partial.total) {
    await removeQuietly(partial.tempPath);
    keep(undefined);
    throw new PrefetchError('E_NETWORK', `${task.packageName}: body ended after ${partial.bytes} of ${partial.total} bytes from ${shown}`, {
      packageName: task.packageName,
      url: shown,
      retryable: true,
    });
  }
  ctx.emit({ type: 'progress', task, bytes: partial.bytes, total: partial.bytes });
  return { path: partial.tempPath, bytes: partial.bytes, sha1: partial.hash.digest('hex'), url: shown };
}

function header(headers: Dispatcher.ResponseData['headers'], name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function numberHeader(headers: Dispatcher.ResponseData['headers'], name: string): number | undefined {
  const value = header(headers, name);
  if (value === undefined || !/^\d+$/.test(value)) return undefined;
  return Number(value);
}

/** Full length of the entity from `Content-Range: bytes a-b/total` or Content-Length. */
function contentRangeStart(headers: Dispatcher.ResponseData['headers']): number | undefined {
  const match = /^bytes (\d+)-\d+\/(\d+|\*)$/.exec(header(headers, 'content-range') ?? '');
  return match ? Number(match[1]) : undefined;
}

/** `If-Range` needs a strong ETag or a Last-Modified date (RFC 9110 §13.1.5). */
function validatorOf(headers: Dispatcher.ResponseData['headers']): string | undefined {
  const etag = header(headers, 'etag');
  if (etag !== undefined && !etag.startsWith('W/')) return etag;
  return header(headers, 'last-modified');
}

function isResetLike(error: unknown): boolean {
  const code = (error as { code?: string } | undefined)?.code;
  return code === 'ECONNRESET' || code === 'UND_ERR_SOCKET' || code === 'ECONNREFUSED';
}

function statusHint(status: number, url: URL): string | undefined {
  if (status === 401 || status === 403) {
    return `${url.host} refused the request: add credentials for it to auth.json (e.g. "http-basic", "bearer" or "github-oauth" under "${url.host}") or COMPOSER_AUTH.`;
  }
  if (status === 404 || status === 410) return 'The archive is not at this URL: check the lock (`composer update <package>`) or the mirror.';
  return undefined;
}
