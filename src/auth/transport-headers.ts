import { parseHeaderLines } from '../net/request-headers.js';
import type { DownloadTask } from '../types.js';

/** Headers that belong to the connection, not to the repository: never taken from a lock. */
const RESERVED = new Set(['host', 'content-length', 'connection', 'transfer-encoding', 'keep-alive', 'upgrade', 'range', 'if-range']);

/**
 * The lock's `transport-options.http.header` lines for a request to `url`, as a header map.
 * Composer sends them with the dist download (`FileDownloader::download` → `addCopy(…,
 * $package->getTransportOptions())`); they often carry a repository token, so they go only to
 * an origin of the lock's own URLs — never to a `--mirror` template's host, and never across a
 * redirect to another origin. Pure.
 */
export function transportHeadersFor(task: Pick<DownloadTask, 'urls' | 'transportHeaders'>, url: URL): Record<string, string> {
  if (task.transportHeaders === undefined || task.transportHeaders.length === 0) return {};
  const origins = new Set(task.urls.map((u) => originOf(u)));
  if (!origins.has(url.origin)) return {};
  const headers = parseHeaderLines(task.transportHeaders);
  for (const name of RESERVED) delete headers[name];
  return headers;
}

function originOf(url: string): string | undefined {
  try {
    return new URL(url).origin;
  } catch {
    return undefined;
  }
}
