/** Building request headers: the pieces auth.json, URL userinfo, proxies and locks all use. */

/** An HTTP header field name (RFC 9110 token), lowercase. */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9a-z-]+$/;

/**
 * Splits `Name: value` lines into a map with lowercase names; a line without a colon or with an
 * invalid name is dropped. Used for auth.json `custom-headers` and the lock's transport headers.
 */
/** `host[:port]` of a URL as auth.json keys name origins (`Url::getOrigin`: the port only when explicit). */
export function originKey(url: URL): string {
  return url.port === '' ? url.hostname : `${url.hostname}:${url.port}`;
}

export function parseHeaderLines(lines: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    if (!HEADER_NAME.test(name)) continue;
    out[name] = line.slice(colon + 1).trim();
  }
  return out;
}

/** `Basic base64(user:password)`, or `base64(user)` alone when there is no password (a proxy's `ProxyItem`). */
export function basicAuthorization(user: string, password: string | undefined): string {
  const pair = password === undefined ? user : `${user}:${password}`;
  return `Basic ${Buffer.from(pair, 'utf8').toString('base64')}`;
}
