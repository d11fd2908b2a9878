import { HttpStatusError, PrefetchError } from '../errors.js';
import { isRetryableStatus } from '../net/retry-policy.js';

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
export function aria2FailureToError(failure: Aria2Failure, context: { packageName: string; url: string }): PrefetchError {
  const code = Number(failure.errorCode ?? '1');
  const message = (failure.errorMessage ?? '').trim() || `aria2 error ${code}`;
  const status = /status=(\d{3})/.exec(message);
  if (status) {
    const n = Number(status[1]);
    return new HttpStatusError({
      status: n,
      url: context.url,
      packageName: context.packageName,
      retryable: isRetryableStatus(n),
      hint: n === 401 || n === 403 ? `${new URL(context.url).host} refused the request: add credentials for it to auth.json or COMPOSER_AUTH.` : n === 404 || n === 410 ? 'The archive is not at this URL: check the lock (`composer update <package>`) or the mirror.' : undefined,
    });
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
  return new PrefetchError('E_NETWORK', `${context.packageName}: ${message} (aria2 error ${code}) from ${context.url}`, {
    packageName: context.packageName,
    url: context.url,
    retryable: RETRYABLE_CODES.has(code),
  });
}
