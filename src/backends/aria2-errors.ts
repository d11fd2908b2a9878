import { HttpStatusError, PrefetchError } from '../errors.js';
import { statusFailure, type HttpAnswer } from '../net/http-status.js';
import { socketCause } from '../net/network-error.js';

export interface Aria2Failure {
  /** aria2's per-download `errorCode` (the exit-code table of aria2c(1)), as a string from RPC. */
  readonly errorCode: string | undefined;
  readonly errorMessage: string | undefined;
}

/** aria2 exit/error codes that are worth another attempt on the same URL (transient network trouble). */
const RETRYABLE_CODES = new Set([1, 2, 5, 6, 8, 19, 23, 29]);
/** Local disk trouble: the cache dir is the problem, not the server. */
const DISK_CODES = new Set([9, 13, 14, 15, 16, 17, 18]);

/**
 * Pure: turns one failed aria2 download into the same error family the native backend throws,
 * so the retry policy, the summary and `--json` cannot tell the backends apart. `errorCode`
 * 32 (checksum) is handled by the caller, which runs the left-over file through the shared
 * verification gate to get the real expected/actual pair.
 */
export function aria2FailureToError(
  failure: Aria2Failure,
  context: { packageName: string; url: string; answer?: HttpAnswer | undefined; nowMs?: number },
): PrefetchError {
  const code = Number(failure.errorCode ?? '1');
  const message = (failure.errorMessage ?? '').trim() || `aria2 error ${code}`;
  const status = /status=(\d{3})/.exec(message);
  if (status) {
    const n = Number(status[1]);
    // The answer as aria2's log showed it (the host after redirects, Retry-After); the URL asked for otherwise.
    const answer = context.answer?.status === n ? context.answer : { status: n, url: parseOr(context.url) };
    return statusFailure(answer, { packageName: context.packageName, shown: context.url, nowMs: context.nowMs ?? Date.now() });
  }
  if (code === 3) {
    return new HttpStatusError({ status: 404, url: context.url, packageName: context.packageName, retryable: false });
  }
  if (code === 24) {
    return new HttpStatusError({ status: 401, url: context.url, packageName: context.packageName, retryable: false });
  }
  if (DISK_CODES.has(code)) {
    return new PrefetchError('E_CACHE', `${context.packageName}: aria2 could not write its staging file (${message})`, {
      packageName: context.packageName,
      url: context.url,
      hint: 'Check free space and permissions of the Composer cache directory.',
    });
  }
  const socket = socketCodeOf(code, message);
  return new PrefetchError('E_NETWORK', `${context.packageName}: ${message} (aria2 error ${code}) from ${context.url}`, {
    packageName: context.packageName,
    url: context.url,
    retryable: RETRYABLE_CODES.has(code),
    ...(socket === undefined ? {} : { cause: socketCause(socket, message) }),
  });
}

/**
 * The socket-level code behind an aria2 network failure, so it is classified as the same
 * failure from undici would be. aria2 reports these as a code and its own words (aria2c(1),
 * EXIT STATUS): 2 is a timeout, 19 a failed name lookup, 6 "network problem", whose message
 * (from the socket error aria2 got) tells a refused connection from a cut one.
 */
function socketCodeOf(code: number, message: string): Parameters<typeof socketCause>[0] | undefined {
  if (code === 2) return 'ETIMEDOUT';
  if (code === 19) return 'ENOTFOUND';
  if (code !== 6) return undefined;
  if (/refused/i.test(message)) return 'ECONNREFUSED';
  if (/timed? ?out/i.test(message)) return 'ETIMEDOUT';
  return 'ECONNRESET';
}

function parseOr(url: string): URL {
  try {
    return new URL(url);
  } catch {
    return new URL('http://unknown.invalid/');
  }
}
