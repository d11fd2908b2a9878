import type { ProxySettings } from '../net/dispatcher.js';
import type { DownloadOptions } from '../types.js';

/** aria2c older than this lacks pieces we rely on (`--rpc-secret` tokens, `system.multicall` with tokens, `--stop-with-process`). */
export const MIN_ARIA2_VERSION: readonly [number, number, number] = [1, 19, 0];

/** aria2's own ceiling for `max-connection-per-server`. */
const ARIA2_MAX_CONNECTIONS_PER_SERVER = 16;
/** aria2 accepts `min-split-size` only within 1M..1024M. */
const MIN_SPLIT_FLOOR = 1024 * 1024;
const MIN_SPLIT_CEILING = 1024 * 1024 * 1024;

/** `aria2 version 1.36.0` → [1, 36, 0]; undefined when the output is not aria2's. */
export function parseAria2Version(stdout: string): [number, number, number] | undefined {
  const match = /aria2 version (\d+)\.(\d+)\.(\d+)/.exec(stdout);
  if (!match) return undefined;
  return [Number(match[1]), Number(match[2]), Number(match[3])];
}

export function isSupportedAria2Version(version: readonly [number, number, number]): boolean {
  for (let i = 0; i < 3; i++) {
    if (version[i]! !== MIN_ARIA2_VERSION[i]!) return version[i]! > MIN_ARIA2_VERSION[i]!;
  }
  return true;
}

export interface Aria2ProcessSettings {
  /** Config file holding the RPC secret (never on argv: argv is world-readable through `ps` and /proc). */
  readonly confPath: string;
  readonly port: number;
  readonly download: DownloadOptions;
  /** aria2 stops by itself when this process is gone (our CLI killed with SIGKILL). */
  readonly parentPid: number;
}

/**
 * argv for the long-running aria2c. Nothing secret goes here; per-download settings go through
 * RPC. `--conf-path` also keeps the user's own ~/.aria2/aria2.conf out (it could set `dir`,
 * `continue`, `check-certificate=false`, …).
 */
export function aria2ProcessArgs(s: Aria2ProcessSettings): string[] {
  return [
    `--conf-path=${s.confPath}`,
    '--enable-rpc=true',
    '--rpc-listen-all=false',
    `--rpc-listen-port=${s.port}`,
    `--stop-with-process=${s.parentPid}`,
    `--max-concurrent-downloads=${s.download.concurrency}`,
    // Only credentials we decide per URL: aria2 would otherwise read ~/.netrc for every host.
    '--no-netrc=true',
    // Results are read and removed by us; keep enough that none is dropped before we saw it.
    '--max-download-result=100000',
    // Its log on stdout, for the HTTP exchanges it shows (backends/aria2-log.ts); nothing secret
    // is in it: aria2 masks Authorization headers, and tasks with credentials never come here.
    '--log=-',
    '--log-level=info',
    '--console-log-level=error',
    '--summary-interval=0',
    '--show-console-readout=false',
    '--download-result=hide',
    '--auto-save-interval=0',
    '--force-save=false',
  ];
}

/** Proxies (Composer's rules, resolved by net/dispatcher.ts) and the CA bundle aria2 must use. */
export interface Aria2Network {
  readonly proxies: ProxySettings;
  /** A PEM file with Composer's cafile/capath certificates, when configured. */
  readonly caFile: string | undefined;
}

/**
 * The config file content: one `key=value` a line, as aria2 reads `--conf-path`. It holds what
 * must not be on argv: the RPC secret and proxy credentials (the file is 0600 and deleted once
 * aria2 has read it). Proxies are given explicitly, and aria2 is started without the proxy
 * environment, so it follows Composer's rules (no https → http fallback, no `all_proxy`), not its own.
 */
export function aria2ConfFile(secret: string, network?: Aria2Network): string {
  if (!/^[0-9a-f]+$/.test(secret)) throw new Error('the RPC secret must be hex');
  const lines = [`rpc-secret=${secret}`];
  if (network !== undefined) {
    const bypassAll = network.proxies.noProxy.some((rule) => rule.host === '*');
    for (const [scheme, endpoint] of [
      ['http', network.proxies.http],
      ['https', network.proxies.https],
    ] as const) {
      if (endpoint === undefined || bypassAll) continue;
      lines.push(`${scheme}-proxy=${endpoint.uri}`);
      const credentials = proxyCredentials(endpoint.authorization);
      if (credentials !== undefined) lines.push(`${scheme}-proxy-user=${credentials.user}`, `${scheme}-proxy-passwd=${credentials.password}`);
    }
    // aria2 matches hosts, domain suffixes and CIDR blocks, not ports: a port-specific rule
    // bypasses the proxy for every port of that host.
    const noProxy = network.proxies.noProxy.map((rule) => (rule.prefix === undefined ? rule.host : `${rule.host}/${rule.prefix}`));
    if (noProxy.length > 0 && !bypassAll) lines.push(`no-proxy=${noProxy.join(',')}`);
    if (network.caFile !== undefined) lines.push(`ca-certificate=${network.caFile}`);
  }
  for (const line of lines) if (/[\r\n]/.test(line)) throw new Error('an aria2 option value contains a line break');
  return `${lines.join('\n')}\n`;
}

/** `Basic base64(user:password)` back into its parts, for aria2's separate user/passwd options. */
function proxyCredentials(authorization: string | undefined): { user: string; password: string } | undefined {
  if (authorization === undefined || !authorization.startsWith('Basic ')) return undefined;
  const decoded = Buffer.from(authorization.slice('Basic '.length), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? { user: decoded, password: '' } : { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/** The environment for aria2c: ours, minus every proxy variable (the conf file says which proxy). */
export function aria2Environment(env: Readonly<Record<string, string | undefined>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) {
    if (value === undefined || /^(https?|ftp|all|no|cgi_http)_proxy$/i.test(key)) continue;
    out[key] = value;
  }
  return out;
}

export interface Aria2DownloadSettings {
  /** Private staging dir (same filesystem as the cache, so the commit is a rename). */
  readonly dir: string;
  /** File name inside `dir`. */
  readonly out: string;
  /** Lowercase hex sha1 from `dist.shasum`, when known. */
  readonly expectedSha1: string | undefined;
  readonly download: DownloadOptions;
  readonly userAgent: string;
  /**
   * One connection, one response: after a file aria2 may have assembled from several ranges
   * failed verification. aria2 neither sends If-Range nor compares the validators of its
   * segments' responses, so only an unsplit download is sure to be one representation.
   */
  readonly whole?: boolean;
}

const seconds = (ms: number): string => String(Math.max(1, Math.ceil(ms / 1000)));

/**
 * Per-download `aria2.addUri` options (values are strings, as the RPC wants them). Pure.
 *
 * - `max-tries=1`: we retry ourselves with the shared retry policy, so both backends emit the
 *   same `retried` events, honour Retry-After and never retry a 404/401.
 * - `timeout` is aria2's socket-read timeout: no byte for that long = stalled, as `stallTimeoutMs`.
 * - `lowest-speed-limit` is `--low-speed-limit`: aria2 closes a connection at or under that
 *   speed (error 5, retried by us), judged after its own fixed 10 s start-up grace, not over our
 *   stall window; the per-package deadline and `--max-size` are enforced over RPC (aria2.ts).
 * - `file-allocation=none`: preallocation writes a full-size zero-filled file first; such a file
 *   must never be a candidate for the cache.
 * - `remote-time=false`: the committed file gets a fresh mtime (Composer's TTL GC reads it).
 * - No `header=`: a task whose URLs carry credentials is never given to aria2 (see aria2.ts).
 */
export function aria2DownloadOptions(s: Aria2DownloadSettings): Record<string, string> {
  const d = s.download;
  const options: Record<string, string> = {
    dir: s.dir,
    out: s.out,
    'max-tries': '1',
    'retry-wait': '0',
    'connect-timeout': seconds(d.connectTimeoutMs),
    timeout: seconds(Math.max(d.stallTimeoutMs, d.headersTimeoutMs)),
    'lowest-speed-limit': String(Math.max(0, Math.floor(d.lowSpeedLimit))),
    'max-connection-per-server': s.whole === true ? '1' : String(Math.min(Math.max(1, d.perOrigin), ARIA2_MAX_CONNECTIONS_PER_SERVER)),
    split: d.splitMinBytes > 0 && s.whole !== true ? String(Math.max(1, d.splitSegments)) : '1',
    // aria2 splits a download only when it is at least 2 × min-split-size.
    'min-split-size': String(Math.min(MIN_SPLIT_CEILING, Math.max(MIN_SPLIT_FLOOR, Math.ceil(d.splitMinBytes / 2)))),
    'remote-time': 'false',
    'allow-overwrite': 'true',
    'auto-file-renaming': 'false',
    'file-allocation': 'none',
    continue: 'false',
    'conditional-get': 'false',
    'http-accept-gzip': 'false',
    'check-integrity': 'false',
    'user-agent': s.userAgent,
  };
  if (s.expectedSha1 !== undefined && /^[0-9a-f]{40}$/.test(s.expectedSha1)) options['checksum'] = `sha-1=${s.expectedSha1}`;
  return options;
}
