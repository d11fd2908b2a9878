import { setMaxListeners } from 'node:events';
import { createHash } from 'node:crypto';
import { open, type FileHandle } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Dispatcher } from 'undici';
import { makeDurable } from '../cache/commit.js';
import { cacheRootOf, ensureContainedDir } from '../cache/contained-dir.js';
import { removeQuietly, tempPathFor } from '../cache/temp-files.js';
import { PrefetchError, RangeMismatchError, toPrefetchError } from '../errors.js';
import { isResetLike, networkError, socketCause } from '../net/network-error.js';
import { contentRange, header, numberHeader } from '../net/response-headers.js';
import { checkPartialResponse, validatorOf, type Validator } from '../net/transfer-bounds.js';
import { decideRetry, type AttemptHistory, type RetryPolicy } from '../net/retry-policy.js';
import { isPushback, statusFailure } from '../net/http-status.js';
import type { DownloadOptions, DownloadTask, FetchContext, StagedFile } from '../types.js';
import { progressReporter } from './progress.js';
import { BodyBatches } from './body-batches.js';
import type { TransferWatch } from './transfer-watch.js';

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

export interface SplitDecision {
  readonly total: number;
  /** Sent as every segment's If-Range; every segment's 206 must carry it too. */
  readonly validator: Validator;
  readonly segments: number;
}

type Headers = Dispatcher.ResponseData['headers'];

/**
 * Whether a fresh 200 response may be split. Without Content-Length (chunked, on-the-fly
 * zipballs), without `Accept-Ranges: bytes`, or without a strong validator the bytes of
 * different requests could belong to different entities: one stream then.
 */
export function decideSplit(
  statusCode: number,
  headers: Headers,
  options: Pick<DownloadOptions, 'splitMinBytes' | 'splitSegments'>,
): SplitDecision | undefined {
  if (statusCode !== 200 || options.splitMinBytes <= 0 || options.splitSegments < 2) return undefined;
  const total = numberHeader(headers, 'content-length');
  if (total === undefined) return undefined;
  if (total < options.splitMinBytes) return undefined;
  if (!/\bbytes\b/i.test(header(headers, 'accept-ranges') ?? '')) return undefined;
  const encoding = header(headers, 'content-encoding');
  if (encoding !== undefined && encoding !== 'identity') return undefined;
  const validator = validatorOf(headers);
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
  /** The origin's adaptive cap: told when a segment's request is throttled (429/503) or its connection cut. */
  readonly gate?: { readonly pushedBack: () => void; readonly cut: () => void };
  /** The attempt's bounds (low speed over all segments together, `--max-size`); its signal is `ctx.signal`. */
  readonly watch?: TransferWatch;
}

/** Byte range [start, end) of one segment; `pos` is how far it got. */
interface Segment {
  readonly index: number;
  readonly start: number;
  /** Moves down once, when a probed stream hands its tail to new segments (`planTail`). */
  end: number;
  pos: number;
}

/** Below this much time left, a split cannot pay back the extra requests' round trips. */
const SPLIT_WORTH_MS = 1000;

/**
 * Pure: whether a stream that has run alone for `elapsedMs` should hand its tail to parallel
 * segments, and how. Yes when, at its pace so far, the rest would take over `SPLIT_WORTH_MS`
 * (or nothing arrived yet). The head keeps its share `[pos, cut)`; the others cover `[cut, total)`.
 */
export function planTail(head: Pick<Segment, 'pos'>, total: number, wanted: number, elapsedMs: number): { cut: number; segments: Segment[] } | undefined {
  const remaining = total - head.pos;
  const count = Math.min(wanted, Math.floor(remaining / MIN_SEGMENT_BYTES));
  if (count < 2) return undefined;
  const bytesPerMs = head.pos / Math.max(elapsedMs, 1);
  if (bytesPerMs > 0 && remaining / bytesPerMs <= SPLIT_WORTH_MS) return undefined;
  const size = Math.ceil(remaining / count);
  const segments: Segment[] = [];
  for (let index = 1; index < count; index++) {
    const start = head.pos + index * size;
    segments.push({ index, start, end: index === count - 1 ? total : start + size, pos: start });
  }
  return { cut: head.pos + size, segments };
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
  await ensureContainedDir(task.cachePath, cacheRootOf(task));
  const tempPath = tempPathFor(task.cachePath);
  // Read as well as write: InOrderHash reads back bytes that arrived ahead of the hash frontier.
  const handle = await open(tempPath, 'w+');
  const abort = new AbortController();
  // One listener per segment request and retry sleep, by design (see prefetch.ts).
  setMaxListeners(0, abort.signal);
  const onOuterAbort = (): void => abort.abort(ctx.signal.reason);
  ctx.signal.addEventListener('abort', onOuterAbort, { once: true });

  // Probing: the first response streams alone at first (one segment for the whole file) and is
  // split later only if it turns out slow; without a probe, split at once.
  const probeMs = ctx.options.splitProbeMs;
  const segments: Segment[] = probeMs > 0 ? [{ index: 0, start: 0, end: decision.total, pos: 0 }] : planSegments(decision.total, decision.segments);
  let received = 0;
  t.watch?.bodyStarted(0);
  const report = progressReporter(task, ctx);
  const progress = (n: number): void => {
    received += n;
    t.watch?.received(n);
    report(received, decision.total);
  };

  let probe: NodeJS.Timeout | undefined;
  // Only worth hashing when the lock has a shasum to compare with (see verify-download.ts).
  const hasher = task.expectedSha1 === undefined ? undefined : new InOrderHash(segments, handle);
  try {
    // A sparse file of the final size: positional writes never extend it out of order.
    await handle.truncate(decision.total);
    const runs: Promise<void>[] = [];
    const start = (segment: Segment): void => {
      runs.push(
        runSegment(segment, segment.index === 0 ? t.first : undefined, t, handle, abort.signal, progress, hasher).catch((error: unknown) => {
          // First failure wins; the others see the abort and stop.
          if (!abort.signal.aborted) abort.abort(error);
          throw error;
        }),
      );
    };
    segments.forEach(start);
    if (probeMs > 0) {
      const head = segments[0]!;
      const startedAt = Date.now();
      probe = setInterval(() => {
        const tail = abort.signal.aborted ? undefined : planTail(head, decision.total, decision.segments, Date.now() - startedAt);
        if (tail === undefined) return;
        clearInterval(probe);
        head.end = tail.cut;
        for (const segment of tail.segments) {
          segments.push(segment);
          start(segment);
        }
      }, probeMs);
    }
    // Segments a probe adds while we wait are waited for too.
    let settled: PromiseSettledResult<void>[] = [];
    for (let seen = -1; seen !== runs.length; ) {
      seen = runs.length;
      settled = await Promise.allSettled(runs);
    }
    clearInterval(probe);
    if (abort.signal.aborted) {
      const reason: unknown = ctx.signal.aborted ? ctx.signal.reason : abort.signal.reason;
      throw networkError(reason, task.packageName, t.shown);
    }
    const failed = settled.find((s) => s.status === 'rejected');
    if (failed) throw networkError(failed.reason, task.packageName, t.shown);
    const sha1 = await hasher?.digest(decision.total);
    // fsync and times on the handle still open (commitToCache would re-open the file for them).
    try {
      await makeDurable(handle);
    } catch (error) {
      throw new PrefetchError('E_CACHE', `${task.packageName}: cannot write ${tempPath}: ${error instanceof Error ? error.message : String(error)}`, {
        packageName: task.packageName,
        cause: error,
        hint: 'Check free space and permissions in the Composer cache directory.',
      });
    }
    await handle.close();
    ctx.emit({ type: 'progress', task, bytes: decision.total, total: decision.total });
    return { path: tempPath, bytes: decision.total, sha1, url: t.shown, durable: true };
  } catch (error) {
    await hasher?.settle();
    await handle.close().catch(() => undefined);
    await removeQuietly(tempPath);
    // Any stream we did not finish must not keep its socket busy.
    await t.first.body.dump().catch(() => undefined);
    throw error;
  } finally {
    clearInterval(probe);
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
  hasher: InOrderHash | undefined,
): Promise<void> {
  let attempts = 0;
  const startedAt = Date.now();
  let response = initial;
  for (;;) {
    signal.throwIfAborted();
    attempts++;
    try {
      if (response === undefined) response = await requestRange(segment, t, signal);
      await writeBody(segment, response, handle, signal, progress, hasher);
      if (segment.pos < segment.end) {
        throw new PrefetchError(
          'E_NETWORK',
          `${t.task.packageName}: segment ${segment.index} ended at ${segment.pos} of ${segment.end} bytes from ${t.shown}`,
          {
            packageName: t.task.packageName,
            url: t.shown,
            retryable: true,
            cause: socketCause('UND_ERR_RES_CONTENT_LENGTH_MISMATCH', 'the range response ended before its end'),
          },
        );
      }
      return;
    } catch (thrown) {
      if (response) await response.body.dump().catch(() => undefined);
      response = undefined;
      if (signal.aborted) throw signal.reason;
      // Retrying this segment alone cannot help: the whole archive must start over (caller's loop).
      if (thrown instanceof RangeMismatchError) throw thrown;
      // A bound of the whole attempt (--max-size, low speed) is not this segment's to retry.
      if (thrown instanceof PrefetchError && thrown.code === 'E_LIMIT') throw thrown;
      const error = toPrefetchError(networkError(thrown, t.task.packageName, t.shown));
      if (isResetLike(thrown)) t.gate?.cut();
      // The package's retry policy, with this segment's own attempt history. A segment retried
      // here is not a package retry: the package's attempt is still running (no `retried` event);
      // its requests are counted as the `exchange`s they are.
      const verdict = decideRetry(
        error,
        { attempts, integrityFailures: 0, elapsedMs: Date.now() - startedAt } satisfies AttemptHistory,
        t.retryPolicy,
        t.random,
      );
      if (verdict.action !== 'retry') throw error;
      await sleep(verdict.delayMs, undefined, { signal });
    }
  }
}

async function requestRange(segment: Segment, t: SegmentedTransfer, signal: AbortSignal): Promise<Dispatcher.ResponseData> {
  let response: Dispatcher.ResponseData;
  try {
    response = await t.dispatcher.request({
      origin: t.url.origin,
      path: `${t.url.pathname}${t.url.search}`,
      method: 'GET',
      headers: { ...t.headers, range: `bytes=${segment.pos}-${segment.end - 1}`, 'if-range': t.decision.validator.value },
      signal,
    });
  } catch (error) {
    if (!signal.aborted) t.ctx.emit({ type: 'exchange', task: t.task, url: t.shown, status: undefined });
    throw error;
  }
  t.ctx.emit({ type: 'exchange', task: t.task, url: t.shown, status: response.statusCode });
  const verdict =
    response.statusCode === 206
      ? checkPartialResponse({ validator: t.decision.validator, start: segment.pos, total: t.decision.total }, response.headers)
      : undefined;
  if (verdict?.ok === true && contentRange(response.headers)?.total === t.decision.total) return response;
  await response.body.dump().catch(() => undefined);
  if (verdict !== undefined && !verdict.ok && verdict.problem !== 'offset' && verdict.problem !== 'unexpected') {
    // Bytes of another entity (a changed or missing validator, another length) under our
    // If-Range: the server ignored it. The other segments' bytes may not match these.
    throw new RangeMismatchError({ packageName: t.task.packageName, url: t.shown, ...verdict });
  }
  if (response.statusCode === 200) {
    // If-Range did not match: the entity changed between requests. Our other segments hold
    // bytes of the old one, so the only safe move is to start the archive over.
    throw new RangeMismatchError({
      packageName: t.task.packageName,
      url: t.shown,
      problem: 'validator-changed',
      detail: 'with the whole file instead (its If-Range no longer matched: the file changed)',
    });
  }
  if (response.statusCode === 206) {
    // A 206 of the right entity at the wrong offset: ask again.
    throw new PrefetchError('E_HTTP', `${t.task.packageName}: a byte range of ${t.shown} came back at another offset`, {
      packageName: t.task.packageName,
      url: t.shown,
      retryable: true,
    });
  }
  if (isPushback(response.statusCode)) t.gate?.pushedBack();
  // The same status rules as a whole download (an HttpStatusError: http5xx is http5xx, Retry-After honoured).
  throw statusFailure(
    {
      status: response.statusCode,
      url: t.url,
      retryAfter: header(response.headers, 'retry-after'),
      rateLimitRemaining: header(response.headers, 'x-ratelimit-remaining'),
      rateLimitReset: header(response.headers, 'x-ratelimit-reset'),
    },
    { packageName: t.task.packageName, shown: t.shown, nowMs: Date.now() },
  );
}

/** Writes the body at the segment's offsets and stops at the segment's end (the first response runs to the end of the file otherwise). */
async function writeBody(
  segment: Segment,
  response: Dispatcher.ResponseData,
  handle: FileHandle,
  signal: AbortSignal,
  progress: (n: number) => void,
  hasher: InOrderHash | undefined,
): Promise<void> {
  const body = response.body;
  // Batches: one positional writev for everything that arrived during the previous write.
  const batches = new BodyBatches(body);
  const onAbort = (): void => void body.destroy();
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    for (let batch = await batches.next(); batch !== undefined; batch = await batches.next()) {
      const room = segment.end - segment.pos;
      const pieces: Buffer[] = [];
      let size = 0;
      let overran = false;
      for (const chunk of batch) {
        if (size + chunk.length > room) {
          if (room > size) pieces.push(chunk.subarray(0, room - size));
          size = room;
          overran = true;
          break;
        }
        pieces.push(chunk);
        size += chunk.length;
      }
      // Positional write: segments finish in any order, the file is right regardless.
      await writeAt(handle, pieces, size, segment.pos);
      const at = segment.pos;
      segment.pos += size;
      hasher?.written(at, pieces, size);
      progress(size);
      if (segment.pos >= segment.end) {
        // Only the first (un-ranged) response can overrun; closing it is cheaper than draining megabytes.
        if (overran || !body.readableEnded) body.destroy();
        return;
      }
    }
  } finally {
    batches.dispose();
    signal.removeEventListener('abort', onAbort);
  }
}

/** All of `pieces` (`size` bytes) at `position`. */
async function writeAt(handle: FileHandle, pieces: Buffer[], size: number, position: number): Promise<void> {
  const { bytesWritten } = await handle.writev(pieces, position);
  if (bytesWritten >= size) return;
  // libuv completes partial writes itself; this only runs if it ever stops short.
  const rest = Buffer.concat(pieces, size).subarray(bytesWritten);
  for (let written = 0; written < rest.length; ) {
    const r = await handle.write(rest, written, rest.length - written, position + bytesWritten + written);
    written += r.bytesWritten;
  }
}

/** Read-back buffer of `InOrderHash`, per archive being split. */
const READ_BACK_BYTES = 256 * 1024;

/**
 * The sha1 of the file in byte order while segments arrive in any order, computed during the
 * download instead of by re-reading the finished file. The segment at the frontier (the first
 * byte not hashed yet) is hashed from memory as each batch of it lands on disk; bytes other
 * segments wrote ahead of the frontier are read back from the file (page cache) as soon as the
 * frontier reaches them. Every byte is hashed once, in order, and only after its write has
 * completed, so the digest is of the bytes on disk (resume and verification rely on that).
 */
class InOrderHash {
  readonly #hash = createHash('sha1');
  readonly #segments: readonly Segment[];
  readonly #handle: FileHandle;
  #hashed = 0;
  #pumping: Promise<void> | undefined;
  #failure: unknown;
  #buffer: Buffer | undefined;

  constructor(segments: readonly Segment[], handle: FileHandle) {
    this.#segments = segments;
    this.#handle = handle;
  }

  /** `pieces` (`size` bytes) are on disk at `position`; call right after the segment's `pos` moved past them. */
  written(position: number, pieces: readonly Buffer[], size: number): void {
    if (position === this.#hashed && this.#pumping === undefined) {
      for (const piece of pieces) this.#hash.update(piece);
      this.#hashed += size;
    }
    this.#kick();
  }

  /** Waits for the read-back to catch up with the finished file and returns the hex digest. */
  async digest(total: number): Promise<string> {
    for (;;) {
      await this.settle();
      if (this.#failure !== undefined) throw this.#failure;
      if (this.#hashed >= total) break;
      const before = this.#hashed;
      this.#kick();
      if (this.#pumping === undefined && this.#hashed === before) throw new Error(`internal: hashed ${before} of ${total} bytes`);
    }
    return this.#hash.digest('hex');
  }

  /** Lets a read-back in flight finish (before the handle is closed); never throws. */
  async settle(): Promise<void> {
    while (this.#pumping !== undefined) await this.#pumping;
  }

  /** Starts reading back bytes that sit on disk at the frontier, if any and not already doing so. */
  #kick(): void {
    if (this.#pumping !== undefined || this.#failure !== undefined) return;
    const segment = this.#frontier();
    if (segment === undefined || segment.pos <= this.#hashed) return;
    this.#pumping = this.#pump().then(
      () => {
        this.#pumping = undefined;
        // A batch that landed while this read-back was finishing was left to it: look again.
        this.#kick();
      },
      (error: unknown) => {
        this.#failure = error;
        this.#pumping = undefined;
      },
    );
  }

  async #pump(): Promise<void> {
    for (;;) {
      const segment = this.#frontier();
      if (segment === undefined || segment.pos <= this.#hashed) return;
      this.#buffer ??= Buffer.allocUnsafe(READ_BACK_BYTES);
      const buffer = this.#buffer;
      const want = Math.min(segment.pos - this.#hashed, buffer.length);
      const { bytesRead } = await this.#handle.read(buffer, 0, want, this.#hashed);
      if (bytesRead === 0) throw new Error(`unexpected end of file at ${this.#hashed}`);
      this.#hash.update(buffer.subarray(0, bytesRead));
      this.#hashed += bytesRead;
    }
  }

  /** The segment holding the first unhashed byte. */
  #frontier(): Segment | undefined {
    for (const segment of this.#segments) if (segment.end > this.#hashed) return segment;
    return undefined;
  }
}
