import { setMaxListeners } from 'node:events';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Dispatcher } from 'undici';
import { removeQuietly, tempPathFor } from '../cache/temp-files.js';
import { PrefetchError, toPrefetchError } from '../errors.js';
import { networkError } from '../net/network-error.js';
import { decideRetry, isRetryableStatus, type AttemptHistory, type RetryPolicy } from '../net/retry-policy.js';
import type { DownloadTask } from '../plan/types.js';
import type { DownloadOptions, FetchContext, StagedFile } from './types.js';

/**
 * Segmented (aria2 `-x/-s/-k` style) downloads for the native backend.
 *
 * Why: a per-connection bandwidth cap (CDNs, long fat pipes, TCP windows) makes the largest
 * archive over one connection the floor of a whole run; Composer has exactly that floor.
 * When the first response shows a large Content-Length, `Accept-Ranges: bytes` and a validator
 * for `If-Range`, the first response keeps streaming its own segment while the rest of the file
 * is fetched as `Range` segments on extra connections, each written at its offset.
 * The sha1 is computed over the finished file (page cache: cheap next to the network), and the
 * result goes through the same `ctx.accept` verify-then-commit path as a single stream.
 */

/** Segments smaller than this are not worth a request round trip (aria2's `-k` default is 20 MiB; our caps are per connection, so smaller pays). */
const MIN_SEGMENT_BYTES = 512 * 1024;
const PROGRESS_INTERVAL_MS = 200;

export interface SplitDecision {
  readonly total: number;
  readonly validator: string;
  readonly segments: number;
}

type Headers = Dispatcher.ResponseData['headers'];

/**
 * Whether a fresh 200 response may be split. Without Content-Length (chunked, on-the-fly
 * zipballs), without `Accept-Ranges: bytes`, or without a strong validator the bytes of
 * different requests could belong to different entities: one stream then.
 */
export function decideSplit(statusCode: number, headers: Headers, options: Pick<DownloadOptions, 'splitMinBytes' | 'splitSegments'>): SplitDecision | undefined {
  if (statusCode !== 200 || options.splitMinBytes <= 0 || options.splitSegments < 2) return undefined;
  const lengthHeader = headerOf(headers, 'content-length');
  if (lengthHeader === undefined || !/^\d+$/.test(lengthHeader)) return undefined;
  const total = Number(lengthHeader);
  if (total < options.splitMinBytes) return undefined;
  if (!/\bbytes\b/i.test(headerOf(headers, 'accept-ranges') ?? '')) return undefined;
  const encoding = headerOf(headers, 'content-encoding');
  if (encoding !== undefined && encoding !== 'identity') return undefined;
  const validator = strongValidator(headers);
  if (validator === undefined) return undefined;
  const segments = Math.max(1, Math.min(options.splitSegments, Math.floor(total / MIN_SEGMENT_BYTES)));
  if (segments < 2) return undefined;
  return { total, validator, segments };
}

export interface SegmentedTransfer {
  readonly task: DownloadTask;
  /** The final URL (after redirects) that answered with `first`. */
  readonly url: URL;
  /** Redacted URL for messages. */
  readonly shown: string;
  readonly first: Dispatcher.ResponseData;
  readonly decision: SplitDecision;
  readonly ctx: FetchContext;
  readonly dispatcher: Dispatcher;
  readonly retryPolicy: RetryPolicy;
  readonly random: () => number;
  /** Request headers for `url` (credentials, user agent, identity encoding), without Range. */
  readonly headers: Readonly<Record<string, string>>;
  /** Told about throttling/resets and clean segments, so the origin's adaptive cap sees them. */
  readonly onCongested?: () => void;
}

/** Byte range [start, end) of one segment; `pos` is how far it got. */
interface Segment {
  readonly index: number;
  readonly start: number;
  readonly end: number;
  pos: number;
}

/**
 * Downloads the whole entity as segments into one temp file and returns it staged with its sha1.
 * A failed segment is retried alone from where it stopped (the retry policy's count and backoff,
 * per segment); if any segment gives up, or the entity changed under us (`If-Range` answered
 * with 200), everything is aborted, the temp file removed, and the error thrown to the caller's
 * retry loop, which starts the archive over.
 */
export async function receiveSegmented(t: SegmentedTransfer): Promise<StagedFile> {
  const { task, decision, ctx } = t;
  await mkdir(path.dirname(task.cachePath), { recursive: true });
  const tempPath = tempPathFor(task.cachePath);
  const handle = await open(tempPath, 'w');
  const abort = new AbortController();
  // One listener per segment request and retry sleep, by design (see prefetch.ts).
  setMaxListeners(0, abort.signal);
  const onOuterAbort = (): void => abort.abort(ctx.signal.reason);
  ctx.signal.addEventListener('abort', onOuterAbort, { once: true });

  const segments = planSegments(decision.total, decision.segments);
  let received = 0;
  let lastProgress = 0;
  const progress = (n: number): void => {
    received += n;
    const now = Date.now();
    if (now - lastProgress >= PROGRESS_INTERVAL_MS) {
      lastProgress = now;
      ctx.emit({ type: 'progress', task, bytes: received, total: decision.total });
    }
  };

  try {
    // A sparse file of the final size: positional writes never extend it out of order.
    await handle.truncate(decision.total);
    const runs = segments.map((segment) =>
      runSegment(segment, segment.index === 0 ? t.first : undefined, t, handle, abort.signal, progress).catch((error: unknown) => {
        // First failure wins; the others see the abort and stop.
        if (!abort.signal.aborted) abort.abort(error);
        throw error;
      }),
    );
    const settled = await Promise.allSettled(runs);
    if (abort.signal.aborted) {
      const reason: unknown = ctx.signal.aborted ? ctx.signal.reason : abort.signal.reason;
      throw networkError(reason, task.packageName, t.shown);
    }
    const failed = settled.find((s) => s.status === 'rejected');
    if (failed) throw networkError(failed.reason, task.packageName, t.shown);
    await handle.close();
    const sha1 = await sha1OfFile(tempPath);
    ctx.emit({ type: 'progress', task, bytes: decision.total, total: decision.total });
    return { path: tempPath, bytes: decision.total, sha1, url: t.shown };
  } catch (error) {
    await handle.close().catch(() => undefined);
    await removeQuietly(tempPath);
    // Any stream we did not finish must not keep its socket busy.
    await t.first.body.dump().catch(() => undefined);
    throw error;
  } finally {
    ctx.signal.removeEventListener('abort', onOuterAbort);
  }
}

/** Equal segments; the remainder goes to the last one. */
export function planSegments(total: number, count: number): Segment[] {
  const size = Math.floor(total / count);
  return Array.from({ length: count }, (_, index) => {
    const start = index * size;
    const end = index === count - 1 ? total : start + size;
    return { index, start, end, pos: start };
  });
}

async function runSegment(
  segment: Segment,
  initial: Dispatcher.ResponseData | undefined,
  t: SegmentedTransfer,
  handle: FileHandle,
  signal: AbortSignal,
  progress: (n: number) => void,
): Promise<void> {
  let attempts = 0;
  const startedAt = Date.now();
  let response = initial;
  for (;;) {
    signal.throwIfAborted();
    attempts++;
    try {
      if (response === undefined) response = await requestRange(segment, t, signal);
      await writeBody(segment, response, handle, signal, progress);
      if (segment.pos < segment.end) {
        throw new PrefetchError('E_NETWORK', `${t.task.packageName}: segment ${segment.index} ended at ${segment.pos} of ${segment.end} bytes from ${t.shown}`, {
          packageName: t.task.packageName,
          url: t.shown,
          retryable: true,
        });
      }
      return;
    } catch (thrown) {
      if (response) await response.body.dump().catch(() => undefined);
      response = undefined;
      if (signal.aborted) throw signal.reason;
      // Retrying this segment alone cannot help: the whole archive must start over (caller's loop).
      if (thrown instanceof EntityChangedError) throw thrown;
      const error = toPrefetchError(networkError(thrown, t.task.packageName, t.shown));
      if (isResetLike(thrown)) t.onCongested?.();
      const verdict = decideRetry(error, { attempts, integrityFailures: 0, elapsedMs: Date.now() - startedAt } as AttemptHistory, t.retryPolicy, t.random);
      if (verdict.action !== 'retry') throw error;
      t.ctx.emit({ type: 'retried', task: t.task, url: t.shown, attempt: attempts, delayMs: verdict.delayMs, error });
      await sleep(verdict.delayMs, undefined, { signal });
    }
  }
}

async function requestRange(segment: Segment, t: SegmentedTransfer, signal: AbortSignal): Promise<Dispatcher.ResponseData> {
  const response = await t.dispatcher.request({
    origin: t.url.origin,
    path: `${t.url.pathname}${t.url.search}`,
    method: 'GET',
    headers: { ...t.headers, range: `bytes=${segment.pos}-${segment.end - 1}`, 'if-range': t.decision.validator },
    signal,
  });
  const start = contentRange(response.headers);
  if (response.statusCode === 206 && start !== undefined && start.start === segment.pos && start.total === t.decision.total) return response;
  await response.body.dump().catch(() => undefined);
  if (response.statusCode === 200) {
    // If-Range did not match: the entity changed between requests. Our other segments hold
    // bytes of the old one, so the only safe move is to start the archive over.
    throw new EntityChangedError(t.task.packageName, t.shown);
  }
  if (response.statusCode === 429 || response.statusCode === 503) t.onCongested?.();
  throw new PrefetchError('E_HTTP', `${t.task.packageName}: HTTP ${response.statusCode} for a byte range of ${t.shown}`, {
    packageName: t.task.packageName,
    url: t.shown,
    retryable: isRetryableStatus(response.statusCode) || response.statusCode === 206,
  });
}

/** Writes the body at the segment's offsets and stops at the segment's end (the first response runs to the end of the file otherwise). */
async function writeBody(segment: Segment, response: Dispatcher.ResponseData, handle: FileHandle, signal: AbortSignal, progress: (n: number) => void): Promise<void> {
  const body = response.body;
  const onAbort = (): void => void body.destroy();
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    for await (const chunk of body as AsyncIterable<Buffer>) {
      const room = segment.end - segment.pos;
      const piece = chunk.length > room ? chunk.subarray(0, room) : chunk;
      // Positional write: segments finish in any order, the file is right regardless.
      let written = 0;
      while (written < piece.length) {
        const { bytesWritten } = await handle.write(piece, written, piece.length - written, segment.pos + written);
        written += bytesWritten;
      }
      segment.pos += piece.length;
      progress(piece.length);
      if (segment.pos >= segment.end) {
        // Only the first (un-ranged) response can overrun; closing it is cheaper than draining megabytes.
        if (chunk.length > room || !body.readableEnded) body.destroy();
        return;
      }
    }
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}

/** Retryable for the archive, never for one segment. */
class EntityChangedError extends PrefetchError {
  constructor(packageName: string, url: string) {
    super('E_NETWORK', `${packageName}: ${url} changed during a segmented download`, { packageName, url, retryable: true });
  }
}

async function sha1OfFile(file: string): Promise<string> {
  const hash = createHash('sha1');
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

function headerOf(headers: Headers, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function contentRange(headers: Headers): { start: number; total: number } | undefined {
  const match = /^bytes (\d+)-\d+\/(\d+)$/.exec(headerOf(headers, 'content-range') ?? '');
  return match ? { start: Number(match[1]), total: Number(match[2]) } : undefined;
}

/** `If-Range` needs a strong ETag or a Last-Modified date (RFC 9110 §13.1.5). */
function strongValidator(headers: Headers): string | undefined {
  const etag = headerOf(headers, 'etag');
  if (etag !== undefined && !etag.startsWith('W/')) return etag;
  return headerOf(headers, 'last-modified');
}

function isResetLike(error: unknown): boolean {
  const code = (error as { code?: string; cause?: { code?: string } } | undefined)?.code ?? (error as { cause?: { code?: string } } | undefined)?.cause?.code;
  return code === 'ECONNRESET' || code === 'UND_ERR_SOCKET';
}
