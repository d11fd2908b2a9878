import { credentialFor, type AuthConfig, type Credential } from '../auth/auth-headers.js';

/** What git is given for one source URL's origin: a user and password (Basic), or a bearer token. */
export type GitCredential =
  | { readonly kind: 'basic'; readonly username: string; readonly password: string }
  | { readonly kind: 'bearer'; readonly token: string };

/**
 * The credential git should use for a source URL, or `undefined`. Composer puts it into the clone
 * URL as `user:password@` (`Git::runCommand`); we hand it to git through a credential helper that
 * answers for that origin only (`gitEnv`), so nothing lands on argv or in the mirror's config.
 * Pairs as in `Git::runCommand`: github-oauth `token:x-oauth-basic` (`GitHub::authorizeOAuth`
 * stores it so), gitlab `private-token`/`oauth2` swapped in front of the token, bitbucket
 * `x-token-auth:token`. Pure.
 */
export function gitCredential(auth: AuthConfig, url: URL): GitCredential | undefined {
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return undefined;
  const found = credentialFor(auth, url);
  return found === undefined ? undefined : credentialOf(found.credential);
}

function credentialOf(credential: Credential): GitCredential | undefined {
  const basic = (username: string, password: string): GitCredential => ({ kind: 'basic', username, password });
  switch (credential.kind) {
    case 'http-basic':
      return basic(credential.username, credential.password);
    case 'github-oauth':
      return basic(credential.token, 'x-oauth-basic');
    case 'gitlab-oauth':
      return basic('oauth2', credential.token);
    case 'gitlab-token':
      return basic(credential.username ?? 'private-token', credential.token);
    case 'bitbucket-oauth':
      return basic('x-token-auth', credential.token);
    case 'forgejo-token':
      return basic(credential.username, credential.token);
    case 'bearer':
      return { kind: 'bearer', token: credential.token };
    case 'bitbucket-consumer':
    case 'custom-headers':
      return undefined;
    default:
      // A credential kind added later must be decided here too, not fall through to nothing.
      return assertNever(credential);
  }
}

function assertNever(value: never): never {
  throw new Error(`unhandled credential kind ${JSON.stringify(value)}`);
}

export interface GitEnvOptions {
  /** The caller's environment (proxies, ssh agent, HOME for the user's ssh keys and git config). */
  readonly base: Readonly<Record<string, string | undefined>>;
  /** The credential for the origin the source URL names (`writtenOrigin`: `scheme://host[:port]` as written), if any. */
  readonly credential?: { readonly origin: string; readonly credential: GitCredential } | undefined;
  /** Composer's `secure-http`: plain `http://` and `git://` refused, at the first URL and at every redirect. */
  readonly secureHttp?: boolean;
  /** Composer's `cafile` / `capath`, absolute. */
  readonly caFile?: string | undefined;
  readonly caPath?: string | undefined;
  /** `--low-speed-limit` (bytes/s, 0 = none) over `--stall-timeout` seconds: curl's floor inside git. */
  readonly lowSpeedLimit: number;
  readonly lowSpeedSeconds: number;
  /** `--connect-timeout` in seconds, for ssh (curl's own is set through `lowSpeed*` and the stall watch). */
  readonly connectTimeoutSeconds?: number;
}

/** Environment variables the credential helper reads (never argv: `/proc/<pid>/cmdline` is world-readable). */
export const CREDENTIAL_ENV = {
  origin: 'COMPOSER_PREFETCH_GIT_ORIGIN',
  username: 'COMPOSER_PREFETCH_GIT_USERNAME',
  password: 'COMPOSER_PREFETCH_GIT_PASSWORD',
} as const;

/**
 * A `credential.helper` that answers `get` only when git asks for the exact `protocol://host[:port]`
 * the credential was filed for. git asks its helpers again for the new host after following a
 * redirect (`http.c` refills the credential from the redirected base URL), so a repository that
 * moved to another origin never receives it, as with Composer, which sends nothing there either.
 */
const CREDENTIAL_HELPER =
  // biome-ignore lint/suspicious/noTemplateCurlyInString: shell parameter expansions (${l#protocol=}) in the git credential-helper script, meant literally
  '!f() { test "$1" = get || return 0; p=; h=; while IFS= read -r l; do case "$l" in protocol=*) p=${l#protocol=};; host=*) h=${l#host=};; esac; done; ' +
  `test "$p://$h" = "$${CREDENTIAL_ENV.origin}" || return 0; printf 'username=%s\\npassword=%s\\n' "$${CREDENTIAL_ENV.username}" "$${CREDENTIAL_ENV.password}"; }; f`;

/**
 * The environment every git command runs with, settings as `GIT_CONFIG_COUNT/KEY/VALUE` (git ≥ 2.31).
 * No prompt can hang a CI run: `GIT_TERMINAL_PROMPT=0`, `GIT_ASKPASS=echo` as `Git::cleanEnv` sets
 * it, ssh in BatchMode (with a connect timeout and keep-alives) unless the user set their own
 * `GIT_SSH_COMMAND`. `GIT_DIR`/`GIT_WORK_TREE` are dropped (`Git::cleanEnv`). Proxies reach git
 * through the usual `http_proxy`/`https_proxy`/`no_proxy` variables, which libcurl reads itself.
 *
 * A credential reaches git only through the helper above, scoped to its origin, with the user's
 * own helpers for that origin switched off (so no `store` helper writes it to disk); a bearer
 * token, which git's helpers cannot carry before 2.46, goes as a header for that origin with
 * redirects off, so it cannot follow one elsewhere. Pure.
 */
export function gitEnv(options: GitEnvOptions): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(options.base)) {
    if (
      value === undefined ||
      key === 'GIT_DIR' ||
      key === 'GIT_WORK_TREE' ||
      key.startsWith('GIT_CONFIG_') ||
      Object.values(CREDENTIAL_ENV).includes(key as never)
    )
      continue;
    env[key] = value;
  }
  // libcurl reads only the lower-case `http_proxy` (CGI safety); Composer also takes `HTTP_PROXY` on
  // the command line (`ProxyManager`, 2.7.3+), so git gets it under the name curl reads.
  if (env['http_proxy'] === undefined && env['HTTP_PROXY'] !== undefined && env['HTTP_PROXY'] !== '') env['http_proxy'] = env['HTTP_PROXY'];
  env['GIT_TERMINAL_PROMPT'] = '0';
  env['GIT_ASKPASS'] = 'echo';
  env['LANGUAGE'] = 'C';
  env['LC_ALL'] = 'C';
  const stallSeconds = Math.max(1, Math.round(options.lowSpeedSeconds));
  if (env['GIT_SSH_COMMAND'] === undefined && env['GIT_SSH'] === undefined) {
    const connect = Math.max(1, Math.round(options.connectTimeoutSeconds ?? 10));
    // ConnectTimeout covers the TCP connect and the SSH handshake; keep-alives end a connection
    // whose server stopped answering at the SSH level after about --stall-timeout.
    env['GIT_SSH_COMMAND'] =
      `ssh -o BatchMode=yes -o ConnectTimeout=${connect} -o ServerAliveInterval=${Math.max(1, Math.round(stallSeconds / 3))} -o ServerAliveCountMax=3`;
  }
  if (options.lowSpeedLimit > 0) {
    env['GIT_HTTP_LOW_SPEED_LIMIT'] = String(Math.max(1, Math.round(options.lowSpeedLimit)));
    env['GIT_HTTP_LOW_SPEED_TIME'] = String(stallSeconds);
  }
  // The URLs come from a lock (untrusted): no transport that runs a command or reads a descriptor.
  const config: [string, string][] = [
    ['protocol.ext.allow', 'never'],
    ['protocol.fd.allow', 'never'],
    // A mirror wants every ref anyway: v0's up-front advertisement saves v2's separate `ls-refs`
    // round trip on every clone and update (2 requests instead of 3 over smart HTTP).
    ['protocol.version', '0'],
  ];
  // `Config::prohibitUrlByConfig` refuses http and git:// with secure-http on. git applies its
  // protocol allow-list to redirect targets too (CURLOPT_REDIR_PROTOCOLS), so an https source that
  // redirects to http:// is refused by git itself, at that hop.
  if (options.secureHttp === true) config.push(['protocol.http.allow', 'never'], ['protocol.git.allow', 'never'], ['protocol.ftp.allow', 'never']);
  const filed = options.credential;
  if (filed !== undefined) {
    const scope = `${filed.origin}/`;
    if (filed.credential.kind === 'basic') {
      // The empty value resets the helper list for this origin: only ours answers, and no
      // user-configured helper is asked to store the credential.
      config.push([`credential.${scope}.helper`, ''], [`credential.${scope}.helper`, CREDENTIAL_HELPER]);
      env[CREDENTIAL_ENV.origin] = filed.origin;
      env[CREDENTIAL_ENV.username] = filed.credential.username;
      env[CREDENTIAL_ENV.password] = filed.credential.password;
    } else {
      config.push([`http.${scope}.extraHeader`, `Authorization: Bearer ${filed.credential.token}`], [`http.${scope}.followRedirects`, 'false']);
    }
  }
  if (options.caFile !== undefined) config.push(['http.sslCAInfo', options.caFile]);
  if (options.caPath !== undefined) config.push(['http.sslCAPath', options.caPath]);
  env['GIT_CONFIG_COUNT'] = String(config.length);
  config.forEach(([key, value], i) => {
    env[`GIT_CONFIG_KEY_${i}`] = key;
    env[`GIT_CONFIG_VALUE_${i}`] = value;
  });
  return env;
}

/**
 * Host a git URL talks to, for the per-host bound: `host[:port]` of a URL, the host of scp-like
 * `user@host:path`, or the whole string.
 */
export function gitHost(url: string): string {
  if (URL.canParse(url)) return new URL(url).host;
  const scp = /^(?:[^@/]+@)?([^:/]+):/.exec(url);
  return scp?.[1] ?? url;
}
