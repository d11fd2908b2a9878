import { describeWait, HttpStatusError, TransferLimitError, type PrefetchError } from '../errors.js';
import type { FailureCause } from '../types.js';

export const FAILURE_CAUSES: readonly FailureCause[] = ['timeout', 'reset', 'connect', 'http4xx', 'http5xx', 'checksum', 'corrupt', 'limit', 'other'];

const TIMEOUT_CODES = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'ETIMEDOUT', 'ESOCKETTIMEDOUT']);
const RESET_CODES = new Set(['ECONNRESET', 'UND_ERR_SOCKET', 'EPIPE', 'ECONNABORTED', 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH']);
const CONNECT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

/**
 * Classifies by error code, HTTP status and the underlying socket error, never by the message:
 * every transport puts the socket-level code into the error's `cause` (aria2's reports are
 * translated where they are read, backends/aria2-errors.ts).
 */
export function failureCause(error: PrefetchError): FailureCause {
  if (error.code === 'E_CHECKSUM') return 'checksum';
  if (error.code === 'E_CORRUPT') return 'corrupt';
  if (error.code === 'E_LIMIT') return 'limit';
  // Under --low-speed-limit for the whole window: a stall, as undici's body timeout is.
  if (error instanceof TransferLimitError && error.limit.kind === 'low-speed') return 'timeout';
  const status = statusOf(error);
  if (status !== undefined) {
    if (status >= 400 && status < 500) return 'http4xx';
    if (status >= 500 && status < 600) return 'http5xx';
  }
  const code = causeCode(error);
  if (code !== undefined) {
    if (TIMEOUT_CODES.has(code)) return 'timeout';
    if (RESET_CODES.has(code)) return 'reset';
    if (CONNECT_CODES.has(code)) return 'connect';
  }
  return 'other';
}

/** Both backends report every HTTP status as an `HttpStatusError`. */
function statusOf(error: PrefetchError): number | undefined {
  return error instanceof HttpStatusError ? error.status : undefined;
}

/** The first `code` down the `cause` chain (undici wraps socket errors). */
function causeCode(error: unknown): string | undefined {
  let current: unknown = (error as { cause?: unknown }).cause;
  for (let depth = 0; depth < 5 && current !== undefined && current !== null; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

const REASON_BY_CODE: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'connection refused',
  ENOTFOUND: 'host name not found',
  EAI_AGAIN: 'host name lookup failed',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ECONNRESET: 'connection reset',
  EPIPE: 'connection reset',
  ECONNABORTED: 'connection aborted',
};

/**
 * Why a package failed, in words that are the same for every package hit by the same problem
 * (no package name, no URL), so failures can be grouped: `connection refused`, `HTTP 404`, …
 */
export function failureReason(error: PrefetchError): string {
  const status = statusOf(error);
  if (status !== undefined) {
    const wait = error instanceof HttpStatusError ? error.retryAfterMs : undefined;
    return wait === undefined ? `HTTP ${status}` : `HTTP ${status} (Retry-After: ${describeWait(wait)})`;
  }
  if (error.code === 'E_CHECKSUM') return 'sha1 mismatch';
  if (error.code === 'E_CORRUPT') return 'not a valid archive';
  if (error instanceof TransferLimitError) return LIMIT_REASON[error.limit.kind];
  const code = causeCode(error);
  if (code !== undefined && REASON_BY_CODE[code] !== undefined) return REASON_BY_CODE[code];
  switch (failureCause(error)) {
    case 'timeout':
      return 'timed out';
    case 'reset':
      return 'connection cut';
    case 'connect':
      return 'cannot connect';
    default:
      return REASON_BY_ERROR_CODE[error.code] ?? error.code;
  }
}

const LIMIT_REASON: Readonly<Record<TransferLimitError['limit']['kind'], string>> = {
  'max-size': 'larger than --max-size',
  'low-speed': 'slower than --low-speed-limit',
  deadline: 'not done within --retry-max-time',
};

/** Words for failures no socket code or status explains. */
const REASON_BY_ERROR_CODE: Readonly<Partial<Record<PrefetchError['code'], string>>> = {
  E_NETWORK: 'network error',
  E_AUTH: 'credentials refused',
  E_INSECURE: 'URL refused by secure-http',
  E_CACHE: 'cannot write to the cache',
  E_BACKEND: 'download backend failed',
  E_PACKAGE: 'invalid package entry',
  E_HTTP: 'HTTP error',
  E_LIMIT: 'a download limit was reached',
};

/**
 * What to check when packages fail this way; undefined when only the error's own hint can say.
 * `url` (the one asked for) picks the proxy variable: Composer takes http_proxy for http:// URLs
 * and https_proxy for https:// ones, without falling back (`ProxyManager::getProxyData`, ≥ 2.7.3).
 */
export function failureGuidance(cause: FailureCause, url?: string | undefined): string | undefined {
  switch (cause) {
    case 'connect':
      return `is the host reachable? a proxy needed (${proxyVariable(url)})?`;
    case 'timeout':
      return 'the host is slow or unreachable: check the network or proxy, or try again later';
    case 'reset':
      return 'connections were cut: check a proxy or firewall, or try again later';
    case 'http5xx':
      return 'the server is failing: try again later';
    default:
      return undefined;
  }
}

function proxyVariable(url: string | undefined): string {
  if (url?.startsWith('http://') === true) return 'HTTP_PROXY';
  if (url?.startsWith('https://') === true) return 'HTTPS_PROXY';
  return 'HTTPS_PROXY or HTTP_PROXY';
}

/**
 * The one hint a failure is shown with, on the terminal, in the JSON report, the ndjson events and
 * the GitHub job summary alike: the error's own, else the guidance for its class.
 */
export function failureHint(error: PrefetchError): string | undefined {
  return error.hint ?? failureGuidance(failureCause(error), error.url);
}
