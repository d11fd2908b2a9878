/**
 * Which credential goes to which URL, ported from Composer 2.x (facts, not code):
 * `BaseIO::loadConfiguration` (how auth.json keys become one credential per origin),
 * `Url::getOrigin` (the origin a URL is looked up under) and
 * `AuthHelper::addAuthenticationHeader` / `addAuthenticationOptions` (the header it becomes).
 * Pure: no I/O, no environment. Loading lives in `load-auth.ts`.
 */
import { basicAuthorization, originKey, parseHeaderLines } from '../net/request-headers.js';

/** The auth.json key a credential came from; shown in messages (never the secret itself). */
export type AuthKey = 'http-basic' | 'bearer' | 'github-oauth' | 'gitlab-oauth' | 'gitlab-token' | 'bitbucket-oauth' | 'custom-headers' | 'forgejo-token';

/**
 * One origin's credential, as Composer's IO stores it (`setAuthentication($origin, $user, $pass)`),
 * kept typed instead of Composer's magic passwords (`bearer`, `x-oauth-basic`, `oauth2`, …).
 */
export type Credential =
  | { readonly kind: 'http-basic'; readonly username: string; readonly password: string }
  | { readonly kind: 'bearer'; readonly token: string }
  | { readonly kind: 'github-oauth'; readonly token: string }
  | { readonly kind: 'gitlab-oauth'; readonly token: string }
  /** `gitlab-token.{host}: "token"` → PRIVATE-TOKEN; `{username, token}` → Basic username:token. */
  | { readonly kind: 'gitlab-token'; readonly token: string; readonly username: string | undefined }
  /** An OAuth access token (`x-token-auth` in Composer's IO). */
  | { readonly kind: 'bitbucket-oauth'; readonly token: string }
  /**
   * Only a consumer key/secret: Composer first sends them as Basic, then on 401 POSTs them to
   * Bitbucket's token endpoint (`Bitbucket::requestAccessToken`). We do neither (see README):
   * nothing is sent, and a 401/403 explains what to configure instead.
   */
  | { readonly kind: 'bitbucket-consumer' }
  /** Composer 2.9+: raw `Name: value` header lines for the origin. */
  | { readonly kind: 'custom-headers'; readonly lines: readonly string[] }
  /** Composer 2.10+: `forgejo-token.{host}: {username, token}`, sent as Basic username:token. */
  | { readonly kind: 'forgejo-token'; readonly username: string; readonly token: string };

/**
 * Composer 2.10's `client-certificate.{host}`: a TLS client certificate for that origin
 * (`local_cert`, optional `local_pk` and `passphrase`, as PHP's ssl stream context names them).
 * Paths as written, resolved against the working directory when read.
 */
export interface ClientCertificate {
  readonly localCert: string;
  readonly localPk: string | undefined;
  readonly passphrase: string | undefined;
}

export interface AuthConfig {
  /** Origin (`host[:port]`, as `Url::getOrigin` computes it) → its one credential. */
  readonly credentials: ReadonlyMap<string, Credential>;
  /** Origin → the TLS client certificate presented to it (none by default). */
  readonly clientCertificates?: ReadonlyMap<string, ClientCertificate>;
  /** Effective github-domains, including hosts added implicitly because they have github-oauth. */
  readonly githubDomains: readonly string[];
  /** Effective gitlab-domains, including hosts added implicitly for gitlab-oauth / gitlab-token. */
  readonly gitlabDomains: readonly string[];
}

/** `Bitbucket::OAUTH2_ACCESS_TOKEN_URL`: never gets a Bearer header. */
const BITBUCKET_TOKEN_URL = 'https://bitbucket.org/site/oauth2/access_token';

/**
 * `Url::getOrigin` (composer/composer main, after #12988): `host[:port]` with an explicit port; any
 * `*.github.com` becomes `github.com` except `codeload.github.com` (the zipball redirect target,
 * which must not get GitHub credentials); `repo.packagist.org` becomes `packagist.org`.
 *
 * A gitlab-domains entry served below a path (`gitlab.example.com/gitlab`) is found from the bare
 * host: the entry, with any port removed, must equal the origin or start with `origin + "/"`.
 * Composer ≤ 2.9 matched by string prefix (`gitlab.example.com` claimed `gitlab.ex`, and
 * `127.0.0.1:80800` claimed `127.0.0.1:8080`), which sent the token to a look-alike host; we
 * follow the fixed rule.
 *
 * Hosts come from the WHATWG parser, so they are lowercase and a default port (`:443` on https)
 * is dropped; PHP keeps both as written. Auth keys are normally lowercase without default ports,
 * so this only matters for unusual locks.
 */
export function getOrigin(url: URL, gitlabDomains: readonly string[]): string {
  if (url.protocol === 'file:') return url.href;
  const origin = originKey(url);
  if (origin.endsWith('.github.com') && origin !== 'codeload.github.com') return 'github.com';
  if (origin === 'repo.packagist.org') return 'packagist.org';
  if (origin === '') return url.href;
  if (!origin.includes('/') && !gitlabDomains.includes(origin)) {
    for (const domain of gitlabDomains) {
      // `Preg::replace('{^([^/]+):\d+}', '$1', $gitlabDomain)`: the configured port may be one the URL omits.
      const withoutPort = domain.replace(/^([^/]+):\d+/, '$1');
      if (withoutPort === origin || withoutPort.startsWith(`${origin}/`)) return domain;
    }
  }
  return origin;
}

/** The credential Composer would use for this URL, with the origin it is filed under. */
export function credentialFor(config: AuthConfig, url: URL): { origin: string; credential: Credential } | undefined {
  const origin = getOrigin(url, config.gitlabDomains);
  const own = config.credentials.get(origin);
  if (own !== undefined) return { origin, credential: own };
  // `addAuthenticationHeader`: api.github.com / api.bitbucket.org borrow the bare domain's auth.
  if (origin === 'api.github.com' || origin === 'api.bitbucket.org') {
    const bare = origin.slice('api.'.length);
    const borrowed = config.credentials.get(bare);
    if (borrowed !== undefined) return { origin: bare, credential: borrowed };
  }
  return undefined;
}

/** `AuthHelper::isPublicBitBucketDownload`: amazonaws-hosted files and `/{user}/{repo}/downloads/…`. */
function isPublicBitbucketDownload(url: URL): boolean {
  if (!url.hostname.includes('bitbucket.org')) return true;
  return url.pathname.split('/')[3] === 'downloads';
}

/**
 * The headers for one request to `url` (`AuthHelper::addAuthenticationHeader`). Decided from the
 * URL alone, so a backend that calls it again at every redirect hop never carries a credential
 * to another origin. Header names are lowercase.
 */
export function authHeaders(config: AuthConfig, url: URL): Record<string, string> {
  const found = credentialFor(config, url);
  if (found === undefined) return {};
  const { origin, credential } = found;
  switch (credential.kind) {
    case 'bearer':
      return { authorization: `Bearer ${credential.token}` };
    case 'github-oauth':
      // On github.com only API URLs get the token: never codeload, never www/raw/objects hosts.
      if (origin === 'github.com') {
        return /^https?:\/\/api\.github\.com\//.test(url.href) ? { authorization: `token ${credential.token}` } : {};
      }
      // GitHub Enterprise (a github-domains host): falls through to Basic token:x-oauth-basic.
      return { authorization: basicAuthorization(credential.token, 'x-oauth-basic') };
    case 'gitlab-oauth':
      return config.gitlabDomains.includes(origin)
        ? { authorization: `Bearer ${credential.token}` }
        : { authorization: basicAuthorization(credential.token, 'oauth2') };
    case 'gitlab-token':
      if (credential.username !== undefined) return { authorization: basicAuthorization(credential.username, credential.token) };
      return config.gitlabDomains.includes(origin)
        ? { 'private-token': credential.token }
        : { authorization: basicAuthorization(credential.token, 'private-token') };
    case 'bitbucket-oauth':
      if (origin === 'bitbucket.org') {
        if (url.href === BITBUCKET_TOKEN_URL || isPublicBitbucketDownload(url)) return {};
        return { authorization: `Bearer ${credential.token}` };
      }
      return { authorization: basicAuthorization('x-token-auth', credential.token) };
    case 'bitbucket-consumer':
      return {};
    case 'custom-headers':
      return parseHeaderLines(credential.lines);
    case 'http-basic':
      return { authorization: basicAuthorization(credential.username, credential.password) };
    case 'forgejo-token':
      // `AuthHelper::addAuthenticationHeader` has no Forgejo branch: its final else sends Basic.
      return { authorization: basicAuthorization(credential.username, credential.token) };
  }
}
