import { readFile, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { PrefetchError } from '../errors.js';
import { isRecord, parseSecretJson } from '../json.js';
import type { AuthConfig, AuthKey, ClientCertificate, Credential } from './auth-headers.js';

/**
 * Reads credentials the way current Composer (≥ 2.7.8) does and turns them into one credential per
 * origin. Sources, lowest precedence first (`Factory::createConfig` + `Factory::createComposer`),
 * each merged per auth key and per host (`Config::merge`: a later source replaces a host's entry
 * under the same key, other hosts stay):
 *
 *   1. `$COMPOSER_HOME/config.json` → `config.{http-basic,…}`
 *   2. `$COMPOSER_HOME/auth.json`
 *   3. env `COMPOSER_AUTH` (JSON object with the same keys)
 *   4. project composer.json (env `COMPOSER`) → `config.{…}`
 *   5. project `auth.json` next to `realpath(composer.json)`
 *   6. env `COMPOSER_AUTH` again (`Factory::loadComposerAuthEnv`, 2.7.8+, composer#12084), so it
 *      beats the project files. Composer ≤ 2.7.7 stopped at 5 (project auth.json beat the env);
 *      we follow current Composer, which is what CI systems that inject COMPOSER_AUTH expect.
 *
 * Then `BaseIO::loadConfiguration` files each host's entry under that host, in this order, a later
 * key replacing an earlier one for the same host: bitbucket-oauth, github-oauth, gitlab-oauth,
 * gitlab-token, http-basic, bearer, custom-headers (2.9+), forgejo-token (2.10+).
 */

export interface LoadAuthOptions {
  readonly cwd: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly composerHome: string;
  /** The project composer.json that was read (`ComposerConfig.projectFile`), if any. */
  readonly projectFile: string | undefined;
  /** `config` sections already parsed by `loadComposerConfig`. */
  readonly projectConfig: Readonly<Record<string, unknown>> | undefined;
  readonly globalConfig: Readonly<Record<string, unknown>> | undefined;
  /** github-domains / gitlab-domains before the implicit auth rule (from `loadComposerConfig`). */
  readonly githubDomains: readonly string[];
  readonly gitlabDomains: readonly string[];
  /** Seconds since the epoch, for Bitbucket access-token expiry (injected for tests). */
  readonly nowSeconds?: number;
}

export interface LoadedAuth extends AuthConfig {
  /** Where credentials were found, in merge order (paths or `COMPOSER_AUTH`); for `-v` style output. */
  readonly sources: readonly string[];
  /** Entries that could not be used. Never contain a secret. */
  readonly warnings: readonly string[];
}

/** An auth source: its name for messages, and the auth keys it holds. */
export interface AuthSource {
  readonly name: string;
  readonly data: Readonly<Record<string, unknown>>;
}

const AUTH_KEYS: readonly AuthKey[] = [
  'bitbucket-oauth',
  'github-oauth',
  'gitlab-oauth',
  'gitlab-token',
  'http-basic',
  'bearer',
  'custom-headers',
  'forgejo-token',
];
/** Merged like the others, but not a header: a TLS setting of the connection (`client-certificate`, 2.10). */
const CLIENT_CERTIFICATE_KEY = 'client-certificate';

async function readAuthFile(file: string): Promise<AuthSource | undefined> {
  let text: string;
  try {
    if (!(await stat(file)).isFile()) return undefined;
    text = await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw new PrefetchError('E_INPUT', `cannot read ${file}: ${(error as Error).message}`, { cause: error });
  }
  const data = parseSecretJson(text, file);
  if (!isRecord(data)) throw new PrefetchError('E_INPUT', `${file}: expected a JSON object of auth settings ("http-basic", "bearer", …)`);
  return { name: file, data };
}

function envAuth(env: LoadAuthOptions['env']): AuthSource | undefined {
  // `if ($composerAuthEnv = Platform::getEnv('COMPOSER_AUTH'))`: '' and '0' are "not set".
  const raw = env['COMPOSER_AUTH'];
  if (raw === undefined || raw === '' || raw === '0') return undefined;
  const data = parseSecretJson(raw, 'COMPOSER_AUTH (environment variable)');
  if (!isRecord(data)) {
    throw new PrefetchError('E_INPUT', 'COMPOSER_AUTH environment variable is malformed, should be a valid JSON object');
  }
  return { name: 'COMPOSER_AUTH', data };
}

/** The project auth.json: beside `realpath(composer.json)`, or the working directory without one. */
async function projectAuthFile(options: LoadAuthOptions): Promise<string> {
  if (options.projectFile !== undefined) {
    try {
      return path.join(path.dirname(await realpath(options.projectFile)), 'auth.json');
    } catch {
      // fall through: Composer's dirname(false) is '.'
    }
  }
  return path.join(options.cwd, 'auth.json');
}

/** Reads every source in Composer's order and builds the per-origin credentials. */
export async function loadAuth(options: LoadAuthOptions): Promise<LoadedAuth> {
  const sources: AuthSource[] = [];
  if (options.globalConfig !== undefined) sources.push({ name: path.join(options.composerHome, 'config.json'), data: options.globalConfig });
  const globalAuth = await readAuthFile(path.resolve(options.cwd, options.composerHome, 'auth.json'));
  if (globalAuth) sources.push(globalAuth);
  const fromEnv = envAuth(options.env);
  if (fromEnv) sources.push(fromEnv);
  if (options.projectConfig !== undefined && options.projectFile !== undefined) sources.push({ name: options.projectFile, data: options.projectConfig });
  const projectAuth = await readAuthFile(await projectAuthFile(options));
  if (projectAuth) sources.push(projectAuth);
  if (fromEnv) sources.push(fromEnv);
  return buildAuthConfig(sources, options);
}

/** `Config::merge` per auth key (a later source replaces a host's entry) — pure. */
function mergeAuthSources(sources: readonly AuthSource[]): Record<AuthKey | typeof CLIENT_CERTIFICATE_KEY, Record<string, unknown>> {
  const keys = [...AUTH_KEYS, CLIENT_CERTIFICATE_KEY] as const;
  const merged = Object.fromEntries(keys.map((key) => [key, {} as Record<string, unknown>])) as Record<
    AuthKey | typeof CLIENT_CERTIFICATE_KEY,
    Record<string, unknown>
  >;
  for (const source of sources) {
    for (const key of keys) {
      const map = source.data[key];
      if (isRecord(map)) Object.assign(merged[key], map);
    }
  }
  return merged;
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' ? value : typeof value === 'number' ? String(value) : undefined;
}

/** Pure: merged sources → credentials per origin, plus the implicit github/gitlab domains. */
export function buildAuthConfig(sources: readonly AuthSource[], options: Pick<LoadAuthOptions, 'githubDomains' | 'gitlabDomains' | 'nowSeconds'>): LoadedAuth {
  const merged = mergeAuthSources(sources);
  const warnings: string[] = [];
  const credentials = new Map<string, Credential>();
  const githubDomains = [...options.githubDomains];
  const gitlabDomains = [...options.gitlabDomains];
  const now = options.nowSeconds ?? Math.floor(Date.now() / 1000);
  const skip = (key: AuthKey, host: string, expected: string): void => void warnings.push(`auth: ignoring ${key}.${host}: expected ${expected}`);

  for (const [host, value] of Object.entries(merged['bitbucket-oauth'])) {
    if (typeof value === 'string' && value !== '') {
      // Not a Composer form: a bare access token, accepted as a convenience.
      credentials.set(host, { kind: 'bitbucket-oauth', token: value });
    } else if (isRecord(value)) {
      const token = str(value['access-token']);
      const expiration = Number(value['access-token-expiration']);
      // `Bitbucket::getTokenFromConfig`: a stored token is used while it has not expired.
      if (token !== undefined && token !== '' && Number.isFinite(expiration) && now < expiration) credentials.set(host, { kind: 'bitbucket-oauth', token });
      else if (str(value['consumer-key']) !== undefined) credentials.set(host, { kind: 'bitbucket-consumer' });
      else skip('bitbucket-oauth', host, '{"consumer-key", "consumer-secret"} (optionally "access-token")');
    } else skip('bitbucket-oauth', host, 'an object');
  }
  for (const [host, value] of Object.entries(merged['github-oauth'])) {
    const token = str(value);
    if (token === undefined) {
      skip('github-oauth', host, 'a token string');
      continue;
    }
    // `BaseIO::loadConfiguration` (2.5+): auth for a host makes it a github-domain.
    if (host !== 'github.com' && !githubDomains.includes(host)) githubDomains.push(host);
    if (!/^[.A-Za-z0-9_-]+$/.test(token)) {
      throw new PrefetchError('E_INPUT', `Your github oauth token for ${host} contains invalid characters.`, {
        hint: 'Composer refuses it too (BaseIO::loadConfiguration); check for stray quotes or whitespace.',
      });
    }
    credentials.set(host, { kind: 'github-oauth', token });
  }
  for (const [host, value] of Object.entries(merged['gitlab-oauth'])) {
    const token = isRecord(value) ? str(value['token']) : str(value);
    if (token === undefined) {
      skip('gitlab-oauth', host, 'a token string or {"token"}');
      continue;
    }
    if (host !== 'gitlab.com' && !gitlabDomains.includes(host)) gitlabDomains.push(host);
    credentials.set(host, { kind: 'gitlab-oauth', token });
  }
  for (const [host, value] of Object.entries(merged['gitlab-token'])) {
    const token = isRecord(value) ? str(value['token']) : str(value);
    const username = isRecord(value) ? str(value['username']) : undefined;
    if (token === undefined || (isRecord(value) && username === undefined)) {
      skip('gitlab-token', host, 'a token string or {"username", "token"}');
      continue;
    }
    if (host !== 'gitlab.com' && !gitlabDomains.includes(host)) gitlabDomains.push(host);
    credentials.set(host, { kind: 'gitlab-token', token, username });
  }
  for (const [host, value] of Object.entries(merged['http-basic'])) {
    const username = isRecord(value) ? str(value['username']) : undefined;
    const password = isRecord(value) ? str(value['password']) : undefined;
    if (username === undefined) {
      skip('http-basic', host, '{"username", "password"}');
      continue;
    }
    credentials.set(host, { kind: 'http-basic', username, password: password ?? '' });
  }
  for (const [host, value] of Object.entries(merged['bearer'])) {
    const token = str(value);
    if (token === undefined) {
      skip('bearer', host, 'a token string');
      continue;
    }
    credentials.set(host, { kind: 'bearer', token });
  }
  for (const [host, value] of Object.entries(merged['custom-headers'])) {
    if (!Array.isArray(value) || !value.every((line) => typeof line === 'string')) {
      skip('custom-headers', host, 'a list of "Name: value" strings');
      continue;
    }
    credentials.set(host, { kind: 'custom-headers', lines: value as string[] });
  }
  for (const [host, value] of Object.entries(merged['forgejo-token'])) {
    const username = isRecord(value) ? str(value['username']) : undefined;
    const token = isRecord(value) ? str(value['token']) : undefined;
    if (username === undefined || token === undefined) {
      skip('forgejo-token', host, '{"username", "token"}');
      continue;
    }
    credentials.set(host, { kind: 'forgejo-token', username, token });
  }

  const clientCertificates = new Map<string, ClientCertificate>();
  for (const [host, value] of Object.entries(merged[CLIENT_CERTIFICATE_KEY])) {
    const localCert = isRecord(value) ? str(value['local_cert']) : undefined;
    if (localCert === undefined || localCert === '') {
      warnings.push(`auth: ignoring client-certificate.${host}: expected {"local_cert", "local_pk" (optional), "passphrase" (optional)}`);
      continue;
    }
    const record = value as Record<string, unknown>;
    clientCertificates.set(host, { localCert, localPk: str(record['local_pk']), passphrase: str(record['passphrase']) });
  }

  const names = [...new Set(sources.filter((s) => [...AUTH_KEYS, CLIENT_CERTIFICATE_KEY].some((k) => isRecord(s.data[k]))).map((s) => s.name))];
  return { credentials, clientCertificates, githubDomains, gitlabDomains, sources: names, warnings };
}
