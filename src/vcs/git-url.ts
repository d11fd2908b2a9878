/**
 * Credentials in a source URL, the way Composer 2.11 treats them (`Composer\Util\Url`). Pure.
 *
 * Two different things are made of a URL that carries `user:password@` or a token:
 * - what Composer shows and names the mirror folder after, `Url::sanitize`: the password masked,
 *   a long or GitHub-shaped username cut to its first three characters;
 * - what is handed to git and stored in a mirror's `remote.origin.url`, `Url::stripCredentials`:
 *   no credential at all (the credential reaches git through a helper, never argv).
 */

/** PCRE's `\s` without the `u` flag: ASCII white space only (JavaScript's `\s` has Unicode's too). */
const S = ' \\t\\n\\v\\f\\r';

/** `Url::sanitize`'s pattern: every `scheme://user[:password]@`, plus a scheme-less one at the start (`git@host:path`). */
const USERINFO = new RegExp(`(?:([a-z0-9][a-z0-9+.-]*://)|^)([^:/${S}?#]*)(?::([^${S}/?#]*))?@`, 'gi');
/** `Url::stripCredentials`'s pattern: only `scheme://user[:password]@`. */
const SCHEME_USERINFO = new RegExp(`([a-z0-9][a-z0-9+.-]*://)([^:/${S}?#]*)(?::([^${S}/?#]*))?@`, 'gi');
/** `Url::NON_SECRET_CREDENTIALS`: well-known markers, shown as they are. */
const NON_SECRET = new Set(['private-token', 'x-token-auth', 'oauth2', 'gitlab-ci-token', 'x-oauth-basic']);
/** `GitHub::GITHUB_TOKEN_REGEX`. */
const GITHUB_TOKEN = /^(?:[a-f0-9]{12,}|gh[a-z]_[a-zA-Z0-9_.-]+|github_pat_[a-zA-Z0-9_]+)$/;

/**
 * `Url::sanitize` (Composer ≥ 2.10.2) on the URL's UTF-8 bytes, one character per byte (PHP's
 * `strlen`/`substr` count bytes): the result is a latin1 "byte string". Composer 2.7.8–2.10.1
 * masked differently, and before 2.7.8 the folder held the URL as written, password and all.
 */
function sanitizeBytes(url: string): string {
  const bytes = Buffer.from(url, 'utf8').toString('latin1');
  return bytes.replace(/([&?]access_token=)[^&]+/g, '$1***').replace(USERINFO, (_m, prefix: string | undefined, user: string, password: string | undefined) => {
    const shown = NON_SECRET.has(user) ? user : GITHUB_TOKEN.test(user) || user.length >= 12 ? `${user.slice(0, 3)}***` : user;
    return `${prefix ?? ''}${shown}${(password ?? '') !== '' ? ':***' : ''}@`;
  });
}

/**
 * The folder `GitDownloader::doDownload` (Composer ≥ 2.10.2) clones into, below `cache-vcs-dir`:
 * `Url::sanitize($url)` with every `[^a-z0-9.]` (case-insensitive) replaced by `-`. The PHP pattern
 * has no `u` flag, so each UTF-8 byte of a non-ASCII character becomes one `-`. No secret ends up
 * in a folder name: a password is `***`, a token at most its first three characters.
 */
export function mirrorDirName(url: string): string {
  return sanitizeBytes(url).replace(/[^a-z0-9.]/gi, '-');
}

/**
 * `Url::stripCredentials`: the URL git is given and the mirror keeps as its origin. An http(s)
 * URL loses its whole userinfo (a bare token in the user slot is a credential too); another
 * scheme keeps a user without a password (`ssh://git@host/…`).
 */
export function stripCredentials(url: string): string {
  return url.replace(SCHEME_USERINFO, (_m, prefix: string, user: string, password: string | undefined) =>
    (password ?? '') === '' && !/^https?:\/\/$/i.test(prefix) ? `${prefix}${user}@` : prefix,
  );
}

/** The `user[:password]` a source URL carries (percent-decoded, as git reads it), if any. */
export function urlCredential(url: string): { readonly username: string; readonly password: string } | undefined {
  if (!URL.canParse(url)) return undefined;
  const parsed = new URL(url);
  if (parsed.username === '' && parsed.password === '') return undefined;
  const decode = (s: string): string => {
    try {
      return decodeURIComponent(s);
    } catch {
      return s;
    }
  };
  return { username: decode(parsed.username), password: decode(parsed.password) };
}

/** A token in the query (`?access_token=…`): git would append its own path after it, and it would sit on argv. */
export function hasQueryToken(url: string): boolean {
  return /[&?]access_token=[^&]/.test(url);
}

/**
 * `scheme://host[:port]` as written in the URL git is given (git's credential protocol compares
 * `protocol` and `host` exactly as written, port included, without normalising a default port).
 */
export function writtenOrigin(url: string): string | undefined {
  const m = /^([a-z][a-z0-9+.-]*):\/\/(?:[^@/?#]*@)?([^/?#]+)/i.exec(url);
  return m === null ? undefined : `${m[1]!.toLowerCase()}://${m[2]}`;
}

/**
 * `Config::prohibitUrlByConfig` with secure-http on: a URL whose scheme is http, git, ftp or svn
 * (after any git `<transport>::` prefix) is refused; scheme-less ones (`git@host:path`, local
 * paths) and https/ssh pass.
 */
export function insecureScheme(url: string): string | undefined {
  let checked = url;
  for (let m = /^[a-z][a-z0-9+.-]*::(.+)$/is.exec(checked); m !== null; m = /^[a-z][a-z0-9+.-]*::(.+)$/is.exec(checked)) checked = m[1]!;
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(checked)?.[1]?.toLowerCase();
  return scheme !== undefined && ['http', 'git', 'ftp', 'svn'].includes(scheme) ? scheme : undefined;
}
