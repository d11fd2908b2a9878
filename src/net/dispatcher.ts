import { readdir, readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import path from 'node:path';
import type { Dispatcher } from 'undici';
import { Agent, DispatcherBase, ProxyAgent } from './undici-lean.js';
import { PrefetchError } from '../errors.js';
import { basicAuthorization, originKey } from './request-headers.js';
import { redactUrl } from './redact-url.js';
export { caLocations } from './ca-locations.js';

/**
 * The HTTP dispatcher for downloads: one keep-alive Agent, or, when proxy variables are set, a
 * router that sends each origin through the proxy Composer would use for it.
 *
 * Proxy variables as Composer ≥ 2.7.3 reads them (`ProxyManager::getProxyData`, `ProxyItem`):
 * - `http_proxy` | `HTTP_PROXY` for http:// URLs (lowercase wins; empty counts as unset);
 * - `cgi_http_proxy` | `CGI_HTTP_PROXY` only when there is no http proxy;
 * - `https_proxy` | `HTTPS_PROXY` for https:// URLs, with NO fallback to the http proxy
 *   (Composer ≤ 2.7.2 fell back; undici's `EnvHttpProxyAgent` still does, so it is not used);
 * - `no_proxy` | `NO_PROXY` (`NoProxyPattern`);
 * - a proxy URL without a scheme is `http://`; only http and https proxies; proxy credentials come
 *   from the URL's userinfo (sent as `Proxy-Authorization: Basic`).
 */

export interface DispatcherOptions {
  readonly perOrigin: number;
  readonly connectTimeoutMs: number;
  readonly headersTimeoutMs: number;
  readonly stallTimeoutMs: number;
  /** PEM certificates that replace the default trust store (Composer's `cafile` / `capath`). */
  readonly ca?: readonly string[] | undefined;
  /** Origin (`host[:port]`) → the TLS client certificate presented to it (auth.json `client-certificate`). */
  readonly clientCertificates?: ReadonlyMap<string, ClientTls> | undefined;
}

/** A loaded client certificate: PEM text, as Node's TLS options take it. */
export interface ClientTls {
  readonly cert: string;
  readonly key?: string | undefined;
  readonly passphrase?: string | undefined;
}

export interface ProxyEndpoint {
  /** The proxy URL without userinfo. */
  readonly uri: string;
  /** `Basic …` from the userinfo, when there was one. */
  readonly authorization: string | undefined;
  /** The variable it came from, for messages. */
  readonly source: string;
}

export interface ProxySettings {
  readonly http: ProxyEndpoint | undefined;
  readonly https: ProxyEndpoint | undefined;
  readonly noProxy: NoProxyRule[];
}

export interface NoProxyRule {
  readonly host: string;
  readonly port: number | undefined;
  /** IPv4 CIDR prefix length, for address rules. */
  readonly prefix: number | undefined;
}

/** `ProxyManager::getProxyEnv`: lowercase first, then uppercase; an empty value counts as unset. */
function proxyEnv(env: Readonly<Record<string, string | undefined>>, name: string): { value: string; source: string } | undefined {
  for (const key of [name.toLowerCase(), name.toUpperCase()]) {
    const value = env[key];
    if (value !== undefined && value !== '') return { value, source: key };
  }
  return undefined;
}

/** `ProxyItem::__construct`: validates the proxy URL; errors never print its password. */
export function parseProxyUrl(value: string, source: string): ProxyEndpoint {
  const syntaxError = (detail: string): PrefetchError =>
    new PrefetchError('E_USAGE', `Unsupported \`${source}\` syntax: ${detail}`, { hint: `${source} must look like http://[user:password@]host:port` });
  if (/[\r\n\t]/.test(value)) throw syntaxError('control characters');
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? value : `http://${value}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw syntaxError(`cannot parse ${redactUrl(withScheme)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new PrefetchError('E_USAGE', `${source}: proxy scheme must be http or https (got ${url.protocol.slice(0, -1)})`);
  }
  if (url.hostname === '') throw new PrefetchError('E_USAGE', `Unable to find the proxy host in ${source}`);
  let authorization: string | undefined;
  if (url.username !== '') {
    // ProxyItem: rawurldecode(user)[:rawurldecode(pass)]
    authorization = basicAuthorization(decodeURIComponent(url.username), url.password !== '' ? decodeURIComponent(url.password) : undefined);
  }
  return { uri: `${url.protocol}//${url.host}`, authorization, source };
}

/** `NoProxyPattern::__construct`: entries split on commas and whitespace. */
export function parseNoProxy(value: string): NoProxyRule[] {
  const rules: NoProxyRule[] = [];
  for (const raw of value.split(/[\s,]+/)) {
    if (raw === '') continue;
    let entry = raw.toLowerCase();
    let port: number | undefined;
    let prefix: number | undefined;
    const cidr = /^(.*)\/(\d{1,2})$/.exec(entry);
    if (cidr) {
      entry = cidr[1]!;
      prefix = Number(cidr[2]);
    }
    const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(entry);
    if (bracketed) {
      entry = bracketed[1]!;
      if (bracketed[2] !== undefined) port = Number(bracketed[2]);
    } else if (isIP(entry) !== 6) {
      const hostPort = /^(.*):(\d+)$/.exec(entry);
      if (hostPort) {
        entry = hostPort[1]!;
        port = Number(hostPort[2]);
      }
    }
    rules.push({ host: entry.replace(/^\.+/, ''), port, prefix });
  }
  return rules;
}

function ipv4ToInt(ip: string): number {
  return ip.split('.').reduce((acc, part) => (acc << 8) + Number(part), 0) >>> 0;
}

/** `NoProxyPattern::test`: `*`, exact host, subdomain (`example.com` and `.example.com` both match `a.example.com`), IPv4 CIDR, optional port. */
export function bypassesProxy(url: URL, rules: readonly NoProxyRule[]): boolean {
  const host = url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  const port = url.port !== '' ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
  for (const rule of rules) {
    if (rule.host === '*') return true;
    if (rule.port !== undefined && rule.port !== port) continue;
    if (isIP(host) === 4 && isIP(rule.host) === 4) {
      const bits = rule.prefix ?? 32;
      const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
      if ((ipv4ToInt(host) & mask) === (ipv4ToInt(rule.host) & mask)) return true;
      continue;
    }
    if (host === rule.host || host.endsWith(`.${rule.host}`)) return true;
  }
  return false;
}

/** Pure: the proxy settings an environment gives. */
export function resolveProxySettings(env: Readonly<Record<string, string | undefined>>): ProxySettings {
  const httpVar = proxyEnv(env, 'http_proxy') ?? proxyEnv(env, 'cgi_http_proxy');
  const httpsVar = proxyEnv(env, 'https_proxy');
  const noProxyVar = proxyEnv(env, 'no_proxy');
  return {
    http: httpVar ? parseProxyUrl(httpVar.value, httpVar.source) : undefined,
    https: httpsVar ? parseProxyUrl(httpsVar.value, httpsVar.source) : undefined,
    noProxy: noProxyVar ? parseNoProxy(noProxyVar.value) : [],
  };
}

/** The proxy a URL goes through, or undefined for a direct connection. */
export function proxyFor(url: URL, settings: ProxySettings): ProxyEndpoint | undefined {
  const endpoint = url.protocol === 'https:' ? settings.https : url.protocol === 'http:' ? settings.http : undefined;
  if (endpoint === undefined || bypassesProxy(url, settings.noProxy)) return undefined;
  return endpoint;
}

/**
 * A dispatcher that hands each request to one of several by its origin, and closes or destroys
 * them all together. Subclasses say which one takes an origin and which ones there are.
 */
abstract class RoutingDispatcher extends DispatcherBase {
  protected abstract route(origin: string | URL | undefined): Dispatcher;
  protected abstract parts(): Dispatcher[];

  override dispatch(options: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler): boolean {
    return this.route(options.origin).dispatch(options, handler);
  }

  override close(): Promise<void>;
  override close(callback: () => void): void;
  override close(callback?: () => void): Promise<void> | void {
    const done = Promise.all(this.parts().map((d) => d.close())).then(() => undefined);
    if (callback === undefined) return done;
    void done.then(callback, callback);
  }

  override destroy(err: Error | null, callback: () => void): void;
  override destroy(callback: () => void): void;
  override destroy(err: Error | null): Promise<void>;
  override destroy(): Promise<void>;
  override destroy(a?: Error | null | (() => void), b?: () => void): Promise<void> | void {
    const err = typeof a === 'function' ? null : (a ?? null);
    const callback = typeof a === 'function' ? a : b;
    const done = Promise.all(this.parts().map((d) => d.destroy(err))).then(() => undefined);
    if (callback === undefined) return done;
    void done.then(callback, callback);
  }
}

/** Routes each request by its origin to a direct Agent or to the scheme's ProxyAgent. */
class ProxyRouter extends RoutingDispatcher {
  readonly #direct: Agent;
  readonly #proxies = new Map<string, ProxyAgent>();
  readonly #settings: ProxySettings;
  readonly #makeProxy: (endpoint: ProxyEndpoint) => ProxyAgent;

  constructor(direct: Agent, settings: ProxySettings, makeProxy: (endpoint: ProxyEndpoint) => ProxyAgent) {
    super();
    this.#direct = direct;
    this.#settings = settings;
    this.#makeProxy = makeProxy;
  }

  protected route(origin: string | URL | undefined): Dispatcher {
    if (origin === undefined) return this.#direct;
    const endpoint = proxyFor(new URL(String(origin)), this.#settings);
    if (endpoint === undefined) return this.#direct;
    let agent = this.#proxies.get(endpoint.uri + endpoint.source);
    if (agent === undefined) {
      agent = this.#makeProxy(endpoint);
      this.#proxies.set(endpoint.uri + endpoint.source, agent);
    }
    return agent;
  }

  protected parts(): Dispatcher[] {
    return [this.#direct, ...this.#proxies.values()];
  }
}

/** Sends each request to the dispatcher of its origin (one with a client certificate), or to the default one. */
class OriginRouter extends RoutingDispatcher {
  readonly #fallback: Dispatcher;
  readonly #byOrigin: ReadonlyMap<string, Dispatcher>;

  constructor(fallback: Dispatcher, byOrigin: ReadonlyMap<string, Dispatcher>) {
    super();
    this.#fallback = fallback;
    this.#byOrigin = byOrigin;
  }

  protected route(origin: string | URL | undefined): Dispatcher {
    return (origin === undefined ? undefined : this.#byOrigin.get(originKey(new URL(String(origin))))) ?? this.#fallback;
  }

  protected parts(): Dispatcher[] {
    return [this.#fallback, ...this.#byOrigin.values()];
  }
}

/**
 * The dispatcher for a run. Same pool settings direct or proxied; with a custom CA, both the
 * proxy connection (https proxies) and the origin TLS session trust only those certificates,
 * as curl does with Composer's `cafile`.
 */
export function createDispatcher(options: DispatcherOptions, env: Readonly<Record<string, string | undefined>>): Dispatcher {
  const certificates = options.clientCertificates;
  if (certificates === undefined || certificates.size === 0) return originDispatcher(options, env, undefined);
  // A client certificate belongs to its origin only: those origins get pools of their own, so the
  // certificate is never presented anywhere else (Composer 2.10 sets it per origin in the stream context).
  const byOrigin = new Map([...certificates].map(([origin, tls]) => [origin, originDispatcher(options, env, tls)]));
  return new OriginRouter(originDispatcher(options, env, undefined), byOrigin);
}

/** One connection setup: pools direct or through the proxies, with the CA and an optional client certificate. */
function originDispatcher(options: DispatcherOptions, env: Readonly<Record<string, string | undefined>>, client: ClientTls | undefined): Dispatcher {
  const tls = {
    ...(options.ca !== undefined && options.ca.length > 0 ? { ca: [...options.ca] } : {}),
    ...(client === undefined
      ? {}
      : {
          cert: client.cert,
          ...(client.key === undefined ? {} : { key: client.key }),
          ...(client.passphrase === undefined ? {} : { passphrase: client.passphrase }),
        }),
  };
  const pool = {
    connections: options.perOrigin,
    headersTimeout: options.headersTimeoutMs,
    bodyTimeout: options.stallTimeoutMs,
    keepAliveTimeout: 10_000,
  };
  const direct = new Agent({ ...pool, connect: { timeout: options.connectTimeoutMs, ...tls } });
  const settings = resolveProxySettings(env);
  if (settings.http === undefined && settings.https === undefined) return direct;
  return new ProxyRouter(
    direct,
    settings,
    (endpoint) =>
      new ProxyAgent({
        ...pool,
        uri: endpoint.uri,
        ...(endpoint.authorization === undefined ? {} : { token: endpoint.authorization }),
        // http:// targets go to an http proxy as absolute-URI requests (what curl does); https://
        // targets are tunnelled with CONNECT so the proxy never sees the request or its headers.
        proxyTunnel: false,
        // The proxy never sees the client certificate; only the origin's TLS session does.
        proxyTls: { timeout: options.connectTimeoutMs, ...(options.ca !== undefined && options.ca.length > 0 ? { ca: [...options.ca] } : {}) },
        requestTls: { timeout: options.connectTimeoutMs, ...tls },
      }),
  );
}

/**
 * Reads the PEM certificates of `cafile` (and the `*.pem`/`*.crt` files of `capath`). Undefined
 * when neither is configured: Node's own store applies then, which already includes
 * `NODE_EXTRA_CA_CERTS` (read by Node itself at startup).
 */
/** Reads the PEM files of auth.json's `client-certificate` entries (paths resolved against `cwd`). */
export async function loadClientCertificates(
  entries: ReadonlyMap<string, { readonly localCert: string; readonly localPk: string | undefined; readonly passphrase: string | undefined }>,
  cwd: string,
): Promise<Map<string, ClientTls>> {
  const read = async (file: string, origin: string, field: string): Promise<string> => {
    try {
      return await readFile(path.resolve(cwd, file), 'utf8');
    } catch (error) {
      throw new PrefetchError('E_USAGE', `Cannot read client-certificate.${origin}.${field} ${file}: ${(error as Error).message}`, {
        hint: 'Fix the path in auth.json (or COMPOSER_AUTH).',
      });
    }
  };
  const loaded = new Map<string, ClientTls>();
  for (const [origin, entry] of entries) {
    loaded.set(origin, {
      cert: await read(entry.localCert, origin, 'local_cert'),
      key: entry.localPk === undefined ? undefined : await read(entry.localPk, origin, 'local_pk'),
      passphrase: entry.passphrase,
    });
  }
  return loaded;
}

export async function loadCa(locations: { cafile: string | undefined; capath: string | undefined }): Promise<string[] | undefined> {
  const certs: string[] = [];
  const read = async (file: string, setting: string): Promise<void> => {
    try {
      certs.push(await readFile(file, 'utf8'));
    } catch (error) {
      throw new PrefetchError('E_USAGE', `Cannot read ${setting} ${file}: ${(error as Error).message}`, { hint: `Fix "${setting}" in the Composer config.` });
    }
  };
  if (locations.cafile !== undefined) await read(locations.cafile, 'cafile');
  if (locations.capath !== undefined) {
    let names: string[];
    try {
      names = await readdir(locations.capath);
    } catch (error) {
      throw new PrefetchError('E_USAGE', `Cannot read capath ${locations.capath}: ${(error as Error).message}`);
    }
    for (const name of names.sort()) if (/\.(pem|crt|cer)$/i.test(name)) await read(path.join(locations.capath, name), 'capath');
  }
  return locations.cafile === undefined && locations.capath === undefined ? undefined : certs;
}
