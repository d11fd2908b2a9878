import type { Dispatcher } from 'undici';
import { contentRange, header } from './response-headers.js';

/**
 * Pure decisions about one transfer: is this 206 the continuation of the bytes we have, is the
 * archive too large, is the attempt too slow. No clock, no I/O: the callers pass times and bytes.
 */

type Headers = Dispatcher.ResponseData['headers'];

/**
 * What an `If-Range` may carry (RFC 9110 §13.1.5): a strong ETag, else Last-Modified. A weak
 * ETag (`W/"…"`) never: it promises "equivalent", not "byte-identical", and Range needs bytes.
 */
export type Validator = { readonly kind: 'etag'; readonly value: string } | { readonly kind: 'last-modified'; readonly value: string };

export function validatorOf(headers: Headers): Validator | undefined {
  const etag = header(headers, 'etag');
  if (etag !== undefined && !etag.startsWith('W/')) return { kind: 'etag', value: etag };
  const modified = header(headers, 'last-modified');
  if (modified !== undefined) return { kind: 'last-modified', value: modified };
  return undefined;
}

/** The validator a response carries of the same kind as `expected` (what our If-Range sent), as text. */
function sameKind(expected: Validator, headers: Headers): string | undefined {
  return expected.kind === 'etag' ? header(headers, 'etag') : header(headers, 'last-modified');
}

/** Strong comparison (RFC 9110 §8.8.3.2): both strong and equal octet by octet; dates as instants. */
function matches(expected: Validator, received: string): boolean {
  if (expected.kind === 'etag') return !received.startsWith('W/') && received === expected.value;
  if (received === expected.value) return true;
  const a = Date.parse(expected.value);
  return !Number.isNaN(a) && a === Date.parse(received);
}

export type PartialVerdict =
  | { readonly ok: true }
  | {
      readonly ok: false;
      readonly problem: 'validator-changed' | 'validator-missing' | 'offset' | 'length' | 'unexpected';
      readonly expected?: string | undefined;
      readonly received?: string | undefined;
      /** Completes "answered a byte range …" in a person's words. */
      readonly detail: string;
    };

/**
 * Whether a 206 continues the entity we hold `[.., start)` of. Servers that ignore If-Range (or
 * caches that mix versions) answer a Range from another representation; curl and Composer glue
 * such bytes on unseen. We compare the 206's own validator with the one our If-Range carried:
 * changed or missing means other bytes, even when offset and length fit. Missing is no excuse: a
 * 206 must carry the ETag a 200 would have (RFC 9110 §15.3.7), so a server that drops it costs
 * us only a whole refetch.
 */
export function checkPartialResponse(
  expect: { readonly validator: Validator; readonly start: number; readonly total: number | undefined },
  headers: Headers,
): PartialVerdict {
  const received = sameKind(expect.validator, headers);
  const name = expect.validator.kind === 'etag' ? 'ETag' : 'Last-Modified';
  if (received === undefined) {
    return {
      ok: false,
      problem: 'validator-missing',
      expected: expect.validator.value,
      detail: `without the ${name} (${expect.validator.value}) of the first response`,
    };
  }
  if (!matches(expect.validator, received)) {
    return {
      ok: false,
      problem: 'validator-changed',
      expected: expect.validator.value,
      received,
      detail: `from another version (${name} ${received}, expected ${expect.validator.value})`,
    };
  }
  const range = contentRange(headers);
  if (range === undefined) return { ok: false, problem: 'unexpected', detail: 'without a usable Content-Range' };
  if (range.start !== expect.start) return { ok: false, problem: 'offset', detail: `starting at byte ${range.start} instead of ${expect.start}` };
  if (expect.total !== undefined && range.total !== undefined && range.total !== expect.total) {
    return { ok: false, problem: 'length', detail: `of a ${range.total}-byte file instead of ${expect.total} bytes` };
  }
  return { ok: true };
}

/** True when `bytes` (declared or received) is over `maxSize`; 0 means no limit. */
export function exceedsMaxSize(bytes: number | undefined, maxSize: number): boolean {
  return maxSize > 0 && bytes !== undefined && bytes > maxSize;
}

export interface SpeedSample {
  readonly at: number;
  readonly bytes: number;
}

export interface LowSpeedCheck {
  /** Samples to keep for the next check (the oldest is the window's base). */
  readonly samples: readonly SpeedSample[];
  /** The average over the last full window, when it is below the limit. */
  readonly tooSlow: number | undefined;
}

/**
 * curl's `--speed-limit/--speed-time` idea, over a sliding window: once the attempt has run for
 * `windowMs`, its average over the last `windowMs` must be at least `limit` bytes/s. A server that
 * trickles a byte every few seconds never trips a per-read timeout (undici's bodyTimeout,
 * aria2's `--timeout`); this catches it. `limit` 0 disables the check.
 */
export function checkLowSpeed(samples: readonly SpeedSample[], now: number, bytes: number, limit: number, windowMs: number): LowSpeedCheck {
  const next = [...samples, { at: now, bytes }];
  if (limit <= 0 || windowMs <= 0) return { samples: next.slice(-1), tooSlow: undefined };
  // The base is the newest sample at least a window old; older ones are of no further use.
  let base = -1;
  for (let i = 0; i < next.length; i++) if (now - next[i]!.at >= windowMs) base = i;
  if (base < 0) return { samples: next, tooSlow: undefined };
  const from = next[base]!;
  const rate = ((bytes - from.bytes) * 1000) / Math.max(1, now - from.at);
  return { samples: next.slice(base), tooSlow: rate < limit ? rate : undefined };
}
