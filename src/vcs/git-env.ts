import { credentialFor, type AuthConfig, type Credential } from '../auth/auth-headers.js';
import { basicAuthorization } from '../net/request-headers.js';

/**
 * The `Authorization` header git should send to a source URL, or `undefined`. Composer puts
 * the same credential into the clone URL as `user:password@` (`Git::runCommand`), which git turns
 * into Basic auth; we hand git the header instead, so nothing lands on argv or in the mirror's
 * config. Pairs as in `Git::runCommand`: github-oauth `token:x-oauth-basic` (`GitHub::authorizeOAuth`
 * stores it so), gitlab `private-token`/`oauth2` swapped in front of the token, bitbucket
 * `x-token-auth:token`. Pure.
 */
export function gitAuthorization(auth: AuthConfig, url: URL): string | undefined {
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return undefined;
  const found = credentialFor(auth, url);
  return found === undefined ? undefined : headerOf(found.credential);
}

function headerOf(credential: Credential): string | undefined {
  switch (credential.kind) {
    case 'http-basic':
      return basicAuthorization(credential.username, credential.password);
    case 'github-oauth':
      return basicAuthorization(credential.token, 'x-oauth-basic');
    case 'gitlab-oauth':
      return basicAuthorization('oauth2', credential.token);
    case 'gitlab-token':
      return basicAuthorization(credential.username ?? 'private-token', credential.token);
    case 'bitbucket-oauth':
      return basicAuthorization('x-token-auth', credential.token);
    case 'forgejo-token':
      return basicAuthorization(credential.username, credential.token);
    case 'bearer':
      return `Bearer ${credential.token}`;
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
  /** Origin prefix (`https://host[:port]/`) → `Authorization` value, scoped by git's `http.<url>.*` matching. */
  readonly headers?: ReadonlyMap<string, string>;
  /** Composer's `cafile` / `capath`, absolute. */
  readonly caFile?: string | undefined;
  readonly caPath?: string | undefined;
  /** Seconds below 1 KiB/s before git gives up on a transfer (`GIT_HTTP_LOW_SPEED_TIME`). */
  readonly lowSpeedSeconds: number;
}

/**
 * The environment every git command runs with. Credentials travel as `http.<origin>.extraHeader`
 * through `GIT_CONFIG_COUNT/KEY/VALUE` (git ≥ 2.31): never argv, never a file, and only to that
 * origin. No prompt can hang a CI run: `GIT_TERMINAL_PROMPT=0`, `GIT_ASKPASS=echo` as
 * `Git::cleanEnv` sets it, ssh in BatchMode unless the user set their own `GIT_SSH_COMMAND`.
 * `GIT_DIR`/`GIT_WORK_TREE` are dropped (`Git::cleanEnv`). Proxies reach git through the usual
 * `http_proxy`/`https_proxy`/`no_proxy` variables, which libcurl reads itself. Pure.
 */
export function gitEnv(options: GitEnvOptions): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(options.base)) {
    if (value === undefined || key === 'GIT_DIR' || key === 'GIT_WORK_TREE' || key.startsWith('GIT_CONFIG_')) continue;
    env[key] = value;
  }
  // libcurl reads only the lower-case `http_proxy` (CGI safety); Composer also takes `HTTP_PROXY` on
  // the command line (`ProxyManager`, 2.7.3+), so git gets it under the name curl reads.
  if (env['http_proxy'] === undefined && env['HTTP_PROXY'] !== undefined && env['HTTP_PROXY'] !== '') env['http_proxy'] = env['HTTP_PROXY'];
  env['GIT_TERMINAL_PROMPT'] = '0';
  env['GIT_ASKPASS'] = 'echo';
  env['LANGUAGE'] = 'C';
  env['LC_ALL'] = 'C';
  if (env['GIT_SSH_COMMAND'] === undefined && env['GIT_SSH'] === undefined) env['GIT_SSH_COMMAND'] = 'ssh -o BatchMode=yes';
  env['GIT_HTTP_LOW_SPEED_LIMIT'] = '1024';
  env['GIT_HTTP_LOW_SPEED_TIME'] = String(Math.max(1, Math.round(options.lowSpeedSeconds)));
  // The URLs come from a lock (untrusted): no transport that runs a command or reads a descriptor.
  const config: [string, string][] = [
    ['protocol.ext.allow', 'never'],
    ['protocol.fd.allow', 'never'],
    // A mirror wants every ref anyway: v0's up-front advertisement saves v2's separate `ls-refs`
    // round trip on every clone and update (2 requests instead of 3 over smart HTTP).
    ['protocol.version', '0'],
  ];
  for (const [origin, value] of options.headers ?? []) config.push([`http.${origin}.extraHeader`, `Authorization: ${value}`]);
  if (options.caFile !== undefined) config.push(['http.sslCAInfo', options.caFile]);
  if (options.caPath !== undefined) config.push(['http.sslCAPath', options.caPath]);
  env['GIT_CONFIG_COUNT'] = String(config.length);
  config.forEach(([key, value], i) => {
    env[`GIT_CONFIG_KEY_${i}`] = key;
    env[`GIT_CONFIG_VALUE_${i}`] = value;
  });
  return env;
}

/** `scheme://host[:port]/` of a URL: the scope of its credential in git's config. */
export function originPrefix(url: URL): string {
  return `${url.protocol}//${url.host}/`;
}

/** The URL as it may be shown or stored: `Git::syncMirror`'s sanitizing (`://user:pass@` dropped). */
export function sanitizeGitUrl(url: string): string {
  return url.replace(/:\/\/([^@]+?):(.+?)@/, '://');
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
