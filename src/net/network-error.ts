import { PrefetchError } from '../errors.js';

/** Maps undici/socket failures to a retryable E_NETWORK error with a short, stable cause name. */
export function networkError(error: unknown, packageName: string, url: string): PrefetchError {
  if (error instanceof PrefetchError) return error;
  const code = (error as { code?: string } | undefined)?.code;
  const name = (error as { name?: string } | undefined)?.name;
  if (name === 'AbortError' || code === 'ABORT_ERR') {
    return new PrefetchError('E_ABORTED', `${packageName}: interrupted`, { packageName, url, cause: error });
  }
  const cause = networkCause(code);
  const detail = error instanceof Error ? error.message : String(error);
  return new PrefetchError('E_NETWORK', `${packageName}: ${cause} while downloading ${url} (${detail})`, {
    packageName,
    url,
    cause: error,
    retryable: true,
  });
}

/** Failure classes for statistics and messages. */
export function networkCause(code: string | undefined): string {
  switch (code) {
    case 'UND_ERR_CONNECT_TIMEOUT':
      return 'connect timeout';
    case 'UND_ERR_HEADERS_TIMEOUT':
      return 'no response headers in time';
    case 'UND_ERR_BODY_TIMEOUT':
      return 'transfer stalled';
    case 'ECONNRESET':
    case 'UND_ERR_SOCKET':
      return 'connection reset';
    case 'ECONNREFUSED':
      return 'connection refused';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'DNS lookup failed';
    case 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH':
      return 'truncated body';
    default:
      return 'network error';
  }
}
