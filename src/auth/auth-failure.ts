import { HttpStatusError, type PrefetchError } from '../errors.js';
import { credentialFor, getOrigin, type AuthConfig, type Credential } from './auth-headers.js';

/**
 * Turns a bare "HTTP 401/403 from <url>" into a message that says what to do, the way Composer's
 * `AuthHelper::promptAuthIfNeeded` distinguishes "no credentials" from "Invalid credentials".
 * Only key names and hosts are printed, never a secret (the URL in the error is already redacted).
 */
export function explainAuthFailure(error: PrefetchError, auth: AuthConfig): PrefetchError {
  if (!(error instanceof HttpStatusError) || (error.status !== 401 && error.status !== 403) || error.url === undefined) return error;
  let url: URL;
  try {
    url = new URL(error.url);
  } catch {
    return error;
  }
  const host = url.host;
  const origin = getOrigin(url, auth.gitlabDomains);
  const found = credentialFor(auth, url);
  let message: string;
  let hint: string;
  if (error.rateLimit !== undefined) {
    // Composer says the same interactively (`GitHub::getRateLimit` + "API limit exhausted").
    const when =
      error.rateLimit.resetAt === undefined
        ? ''
        : `; it resets at ${error.rateLimit.resetAt.slice(11, 16)} UTC${error.rateLimit.resetInMs === undefined ? '' : ` (in ${Math.ceil(error.rateLimit.resetInMs / 60_000)} min)`}`;
    message = `HTTP ${error.status} from ${error.url}: ${host}'s API rate limit is used up (X-RateLimit-Remaining: 0)${when}`;
    hint =
      found !== undefined && !sendsNothing(found.credential, url)
        ? `The configured ${found.credential.kind} token for "${found.origin}" has used its hourly quota: wait for the reset, or use another token.`
        : `Requests without a token share a small hourly quota per IP address. Add a token: ${suggestKey(origin, url, auth)} in auth.json (in the project or $COMPOSER_HOME) or COMPOSER_AUTH.`;
    return new HttpStatusError({
      status: error.status,
      url: error.url,
      packageName: error.packageName,
      retryable: false,
      rateLimit: error.rateLimit,
      hint,
      message,
    });
  }
  if (url.username !== '') {
    message = `HTTP ${error.status} from ${error.url}: ${host} refused the credentials written into the URL`;
    hint = "Check the user:password in the lock's dist URL, or remove them and configure the host in auth.json instead.";
  } else if (found !== undefined && !sendsNothing(found.credential, url)) {
    message = `HTTP ${error.status} from ${error.url}: ${host} refused the configured ${found.credential.kind} credential for "${found.origin}"`;
    hint = `The ${found.credential.kind}."${found.origin}" entry (auth.json or COMPOSER_AUTH) is wrong, expired, or lacks access to this package.`;
  } else if (found?.credential.kind === 'bitbucket-consumer') {
    message = `HTTP ${error.status} from ${error.url}: ${host} needs an OAuth access token; only a bitbucket-oauth consumer key/secret is configured for "${found.origin}"`;
    hint =
      'composer-prefetch does not run the Bitbucket OAuth exchange: run Composer once so it stores an access-token in auth.json, or add an app password as "http-basic".';
  } else if (otherPort(auth, url) !== undefined) {
    // Keys are `host[:port]` and must match the URL's origin exactly (`Url::getOrigin`).
    const key = otherPort(auth, url)!;
    message = `HTTP ${error.status} from ${error.url}: ${host} requires authentication; the configured ${auth.credentials.get(key)!.kind} entry is for "${key}", another port`;
    hint = `auth.json keys are host[:port] and must match the URL exactly: file the entry under "${origin}" (this URL's origin).`;
  } else {
    message = `HTTP ${error.status} from ${error.url}: ${host} requires authentication and no credentials are configured for "${origin}"`;
    hint = `Add ${suggestKey(origin, url, auth)} to auth.json (in the project or $COMPOSER_HOME) or to COMPOSER_AUTH.`;
  }
  return new HttpStatusError({ status: error.status, url: error.url, packageName: error.packageName, retryable: false, hint, message });
}

/** A configured key for the same host name with another (or no) port, when there is one. */
function otherPort(auth: AuthConfig, url: URL): string | undefined {
  const name = url.hostname;
  for (const key of auth.credentials.keys()) {
    if (key !== url.host && key.replace(/:\d+$/, '') === name) return key;
  }
  return undefined;
}

/** A credential that adds no header to this URL (a github.com token on codeload, say). */
function sendsNothing(credential: Credential, url: URL): boolean {
  if (credential.kind === 'bitbucket-consumer') return true;
  if (credential.kind === 'github-oauth')
    return !/^https?:\/\/api\.github\.com\//.test(url.href) && (url.hostname === 'github.com' || url.hostname.endsWith('.github.com'));
  return false;
}

/** The auth.json entry a user most likely needs for this origin. */
function suggestKey(origin: string, url: URL, auth: AuthConfig): string {
  if (origin === 'github.com' || auth.githubDomains.includes(origin)) return `{"github-oauth": {"${origin}": "<token>"}}`;
  if (auth.gitlabDomains.includes(origin)) return `{"gitlab-token": {"${origin}": "<token>"}}`;
  if (origin === 'bitbucket.org' || url.hostname === 'api.bitbucket.org')
    return `{"http-basic": {"bitbucket.org": {"username": "<user>", "password": "<app password>"}}}`;
  return `{"http-basic": {"${origin}": {"username": "<user>", "password": "<password>"}}} (or {"bearer": {"${origin}": "<token>"}})`;
}
