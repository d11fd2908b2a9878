import { PrefetchError } from '../errors.js';

/** What to do about a proxy's 407, for both the CONNECT tunnel and plain-http proxying. */
export const PROXY_AUTH_HINT =
  'The proxy wants credentials: put them in the proxy URL, e.g. https_proxy=http://user:password@proxy.example:3128 (http_proxy for http:// URLs), as Composer reads them.';

/** Maps undici/socket failures to a retryable E_NETWORK error with a short, stable cause name. */
export function networkError(error: unknown, packageName: string, url: string): PrefetchError {
  if (error instanceof PrefetchError) return error;
  const code = (error as { code?: string } | undefined)?.code;
  const name = (error as { name?: string } | undefined)?.name;
  const detail = error instanceof Error ? error.message : String(error);
  // undici reports a proxy that refuses the CONNECT tunnel as an *abort* ("Proxy response (407)
  // !== 200 when HTTP Tunneling"); it is a proxy answer, not our Ctrl-C.
  const proxyStatus = /Proxy response \((\d{3})\)/.exec(detail)?.[1];
  if (proxyStatus !== undefined) {
    const status = Number(proxyStatus);
    return new PrefetchError('E_NETWORK', `${packageName}: the proxy answered HTTP ${status} to the tunnel for ${url}`, {
      packageName,
      url,
      cause: error,
      retryable: status !== 407 && status !== 403,
      hint: status === 407 ? PROXY_AUTH_HINT : 'Check the proxy set in https_proxy/HTTPS_PROXY, or list the host in no_proxy.',
    });
  }
  if (name === 'AbortError' || code === 'ABORT_ERR') {
    return new PrefetchError('E_ABORTED', `${packageName}: interrupted`, { packageName, url, cause: error });
  }
  const cause = networkCause(code);
  return new PrefetchError('E_NETWORK', `${packageName}: ${cause} while downloading ${url} (${detail})`, {
    packageName,
    url,
    cause: error,
    retryable: true,
  });
}

/** Failure classes for statistics and messages. */
function networkCause(code: string | undefined): string {
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

/** A connection the origin dropped or refused (on the error or its cause): a sign to slow down there. */
export function isResetLike(error: unknown): boolean {
  const e = error as { code?: string; cause?: { code?: string } } | undefined;
  const code = e?.code ?? e?.cause?.code;
  return code === 'ECONNRESET' || code === 'UND_ERR_SOCKET' || code === 'ECONNREFUSED';
}

/**
 * The socket-level code a failure is classified by (`failureCause`), as the `cause` of a
 * PrefetchError made by us rather than by undici: the cause says what happened, the message
 * only tells a person.
 */
export function socketCause(code: 'ETIMEDOUT' | 'ECONNRESET' | 'ECONNREFUSED' | 'ENOTFOUND' | 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH', detail: string): Error {
  return Object.assign(new Error(detail), { code });
}
