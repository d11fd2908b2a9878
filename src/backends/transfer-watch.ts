import { setMaxListeners } from 'node:events';
import { PrefetchError, TransferLimitError } from '../errors.js';
import { formatBytes } from '../bytes.js';
import { checkLowSpeed, exceedsMaxSize, type SpeedSample } from '../net/transfer-bounds.js';
import type { DownloadOptions } from '../types.js';

/** How often the low-speed window is looked at: often enough to cut a trickle soon after its window ends. */
const MAX_TICK_MS = 1000;

/**
 * The bounds of one native attempt, as an AbortSignal the attempt's requests carry: the
 * per-package signal (Ctrl-C, `--retry-max-time`) plus this attempt's own low-speed limit.
 * `--max-size` is checked synchronously on every batch (`received`) and on declared lengths
 * (`declared`), so an endless body stops within one batch of the limit.
 */
export class TransferWatch {
  readonly signal: AbortSignal;
  readonly #abort = new AbortController();
  readonly #options: Pick<DownloadOptions, 'maxSizeBytes' | 'lowSpeedLimit' | 'stallTimeoutMs'>;
  readonly #packageName: string;
  readonly #url: string;
  #samples: SpeedSample[] = [];
  /** Bytes of this attempt (for the speed) and of the archive so far (for the size). */
  #attemptBytes = 0;
  #archiveBytes = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(o: {
    parent: AbortSignal;
    options: Pick<DownloadOptions, 'maxSizeBytes' | 'lowSpeedLimit' | 'stallTimeoutMs'>;
    packageName: string;
    url: string;
  }) {
    this.#options = o.options;
    this.#packageName = o.packageName;
    this.#url = o.url;
    this.signal = AbortSignal.any([o.parent, this.#abort.signal]);
    // Segments and retry sleeps each listen to it, by design (see segmented.ts).
    setMaxListeners(0, this.signal);
  }

  /** The body starts: the speed window opens now; `offset` bytes of the archive are already on disk (a resume). */
  bodyStarted(offset = 0): void {
    this.#archiveBytes = offset;
    const { lowSpeedLimit, stallTimeoutMs } = this.#options;
    if (lowSpeedLimit <= 0 || this.#timer !== undefined) return;
    this.#samples = [{ at: Date.now(), bytes: 0 }];
    const tick = Math.max(50, Math.min(MAX_TICK_MS, Math.floor(stallTimeoutMs / 4)));
    this.#timer = setInterval(() => this.#check(), tick);
    this.#timer.unref();
  }

  /** A declared archive size (Content-Length of a 200, the total of a Content-Range); throws when over `--max-size`. */
  declared(total: number | undefined): void {
    if (exceedsMaxSize(total, this.#options.maxSizeBytes)) throw this.#tooLarge(total!, true);
  }

  /** `n` more bytes arrived; throws (and aborts the attempt) when the archive grows over `--max-size`. */
  received(n: number): void {
    this.#attemptBytes += n;
    this.#archiveBytes += n;
    if (exceedsMaxSize(this.#archiveBytes, this.#options.maxSizeBytes)) {
      const error = this.#tooLarge(this.#archiveBytes, false);
      this.#abort.abort(error);
      throw error;
    }
  }

  /** The bound that ended the attempt, if one did; else `error` unchanged. */
  explain(error: unknown): unknown {
    const reason: unknown = this.#abort.signal.aborted ? this.#abort.signal.reason : undefined;
    if (reason instanceof PrefetchError) return reason;
    // Ctrl-C and the per-package deadline abort with their own reason: keep it.
    if (this.signal.aborted && this.signal.reason instanceof PrefetchError) return this.signal.reason;
    return error;
  }

  dispose(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #check(): void {
    const { lowSpeedLimit, stallTimeoutMs } = this.#options;
    const result = checkLowSpeed(this.#samples, Date.now(), this.#attemptBytes, lowSpeedLimit, stallTimeoutMs);
    this.#samples = [...result.samples];
    if (result.tooSlow === undefined) return;
    this.dispose();
    this.#abort.abort(
      new TransferLimitError({
        packageName: this.#packageName,
        url: this.#url,
        limit: { kind: 'low-speed', option: '--low-speed-limit', limitBytesPerSecond: lowSpeedLimit, windowMs: stallTimeoutMs, bytesPerSecond: result.tooSlow },
        message: `${this.#packageName}: transfer stalled: ${this.#url} sent ${formatBytes(result.tooSlow)}/s over the last ${stallTimeoutMs / 1000} s, under the ${formatBytes(lowSpeedLimit)}/s floor (--low-speed-limit over --stall-timeout)`,
        hint: 'A link this slow is cut and retried (resuming where it can). Lower --low-speed-limit (0 turns it off) if such speeds are normal here.',
      }),
    );
  }

  #tooLarge(bytes: number, declared: boolean): TransferLimitError {
    return maxSizeError({ packageName: this.#packageName, url: this.#url, limitBytes: this.#options.maxSizeBytes, bytes, declared });
  }
}

/** `--max-size` refused a declared length (`declared`) or stopped a body that grew past it; shared by both backends. */
export function maxSizeError(o: { packageName: string; url: string; limitBytes: number; bytes: number; declared: boolean }): TransferLimitError {
  const what = o.declared
    ? `declares ${formatBytes(o.bytes)}, above the ${formatBytes(o.limitBytes)} limit (--max-size); nothing was downloaded`
    : `grew past the ${formatBytes(o.limitBytes)} limit (--max-size) and was stopped; the partial file was removed`;
  return new TransferLimitError({
    packageName: o.packageName,
    url: o.url,
    limit: { kind: 'max-size', option: '--max-size', limitBytes: o.limitBytes, bytes: o.bytes, declared: o.declared },
    message: `${o.packageName}: the archive at ${o.url} ${what}`,
    hint: 'Raise --max-size (e.g. --max-size 4G) if the package really is that large; otherwise the server is sending something that is not the archive.',
  });
}
