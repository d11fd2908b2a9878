import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { needsPerRequestHeaders as carriesCredentials } from '../../src/backends/pick-backend.js';
import { aria2FailureToError } from '../../src/backends/aria2-errors.js';
import {
  aria2ConfFile,
  aria2DownloadOptions,
  aria2Environment,
  aria2ProcessArgs,
  isSupportedAria2Version,
  parseAria2Version,
} from '../../src/backends/aria2-options.js';
import type { DownloadOptions } from '../../src/types.js';
import { defaultDownloadOptions } from '../../src/config/options.js';
import type { HttpStatusError } from '../../src/errors.js';
import { resolveProxySettings } from '../../src/net/dispatcher.js';
import { createRequestPolicy } from '../../src/net/request-policy.js';
import type { DownloadTask } from '../../src/types.js';

const d: DownloadOptions = {
  ...defaultDownloadOptions,
  concurrency: 7,
  perOrigin: 40,
  connectTimeoutMs: 2500,
  stallTimeoutMs: 9000,
  headersTimeoutMs: 3000,
  splitMinBytes: 4 * 1024 * 1024,
  splitSegments: 3,
};
const sha = 'a'.repeat(40);

function task(urls: [string, ...string[]]): DownloadTask {
  return {
    packageName: 'a/b',
    version: '1.0.0',
    distType: 'zip',
    urls,
    cacheKey: 'a/b/x.zip',
    cachePath: '/c/files/a/b/x.zip',
    expectedSha1: undefined,
    dev: false,
    origins: [],
  };
}

describe('aria2 option mapping', () => {
  it('maps per-download options: staging dir, out, checksum, one try, timeouts, connections (capped 16), no prealloc', () => {
    const o = aria2DownloadOptions({ dir: '/c/files/.stage', out: 'p0-a1.part', expectedSha1: sha, download: d, userAgent: 'ua' });
    assert.equal(o['dir'], '/c/files/.stage');
    assert.equal(o['out'], 'p0-a1.part');
    assert.equal(o['checksum'], `sha-1=${sha}`);
    assert.equal(o['max-tries'], '1');
    assert.equal(o['retry-wait'], '0');
    assert.equal(o['connect-timeout'], '3');
    assert.equal(o['timeout'], '9');
    assert.equal(o['max-connection-per-server'], '16');
    assert.equal(o['split'], '3');
    assert.equal(o['min-split-size'], String(2 * 1024 * 1024));
    assert.equal(o['file-allocation'], 'none');
    assert.equal(o['remote-time'], 'false');
    assert.equal(o['allow-overwrite'], 'true');
    assert.equal(o['auto-file-renaming'], 'false');
    assert.equal(o['http-accept-gzip'], 'false');
    assert.equal(o['user-agent'], 'ua');
    assert.equal(o['header'], undefined, 'never a header: credentialed tasks stay native');
  });

  it('leaves checksum out when the lock has no (valid) shasum, and never splits when splitting is off', () => {
    const o = aria2DownloadOptions({ dir: '/s', out: 'o', expectedSha1: undefined, download: { ...d, perOrigin: 2, splitMinBytes: 0 }, userAgent: 'ua' });
    assert.equal(o['checksum'], undefined);
    assert.equal(o['max-connection-per-server'], '2');
    assert.equal(o['split'], '1');
    assert.equal(aria2DownloadOptions({ dir: '/s', out: 'o', expectedSha1: 'nothex', download: d, userAgent: 'ua' })['checksum'], undefined);
  });

  it('maps --low-speed-limit to lowest-speed-limit, and a whole refetch to one connection, unsplit', () => {
    assert.equal(
      aria2DownloadOptions({ dir: '/s', out: 'o', expectedSha1: undefined, download: { ...d, lowSpeedLimit: 2048 }, userAgent: 'ua' })['lowest-speed-limit'],
      '2048',
    );
    assert.equal(
      aria2DownloadOptions({ dir: '/s', out: 'o', expectedSha1: undefined, download: { ...d, lowSpeedLimit: 0 }, userAgent: 'ua' })['lowest-speed-limit'],
      '0',
    );
    const whole = aria2DownloadOptions({ dir: '/s', out: 'o', expectedSha1: sha, download: d, userAgent: 'ua', whole: true });
    assert.equal(whole['split'], '1');
    assert.equal(whole['max-connection-per-server'], '1');
    assert.equal(whole['checksum'], `sha-1=${sha}`);
  });

  it('builds argv without any secret, with -j from --concurrency and a conf path', () => {
    const args = aria2ProcessArgs({ confPath: '/s/rpc.conf', port: 6801, download: d, parentPid: 42 });
    assert.ok(args.includes('--max-concurrent-downloads=7'));
    assert.ok(args.includes('--rpc-listen-all=false'));
    assert.ok(args.includes('--rpc-listen-port=6801'));
    assert.ok(args.includes('--conf-path=/s/rpc.conf'));
    assert.ok(args.includes('--stop-with-process=42'));
    assert.ok(args.includes('--no-netrc=true'));
    assert.ok(!args.some((a) => /secret|header|passwd|user=/i.test(a)), args.join(' '));
    assert.equal(aria2ConfFile('abc123'), 'rpc-secret=abc123\n');
    assert.throws(() => aria2ConfFile('a\nb=c'));
  });

  it("puts Composer's proxies, no_proxy and CA into the conf file, and keeps aria2 from its own proxy variables", () => {
    const proxies = resolveProxySettings({
      http_proxy: 'http://u:p%40ss@proxy.local:3128',
      HTTPS_PROXY: 'http://secure.local:8080',
      no_proxy: 'internal.example,10.0.0.0/8,repo.example:8443',
    });
    assert.equal(
      aria2ConfFile('ab', { proxies, caFile: '/s/ca.pem' }),
      [
        'rpc-secret=ab',
        'http-proxy=http://proxy.local:3128',
        'http-proxy-user=u',
        'http-proxy-passwd=p@ss',
        'https-proxy=http://secure.local:8080',
        'no-proxy=internal.example,10.0.0.0/8,repo.example',
        'ca-certificate=/s/ca.pem',
        '',
      ].join('\n'),
    );
    // Composer ≥ 2.7.3 has no https → http fallback: http_proxy alone leaves https direct.
    assert.doesNotMatch(aria2ConfFile('ab', { proxies: resolveProxySettings({ http_proxy: 'http://p:1' }), caFile: undefined }), /https-proxy/);
    assert.equal(aria2ConfFile('ab', { proxies: resolveProxySettings({ http_proxy: 'http://p:1', no_proxy: '*' }), caFile: undefined }), 'rpc-secret=ab\n');
    assert.deepEqual(aria2Environment({ PATH: '/bin', http_proxy: 'x', HTTPS_PROXY: 'y', all_proxy: 'z', NO_PROXY: 'n', CGI_HTTP_PROXY: 'c', HOME: '/h' }), {
      PATH: '/bin',
      HOME: '/h',
    });
  });

  it('parses and checks versions (>= 1.19)', () => {
    assert.deepEqual(parseAria2Version('aria2 version 1.36.0\nCopyright'), [1, 36, 0]);
    assert.equal(parseAria2Version('curl 8.0'), undefined);
    assert.equal(isSupportedAria2Version([1, 36, 0]), true);
    assert.equal(isSupportedAria2Version([1, 19, 0]), true);
    assert.equal(isSupportedAria2Version([1, 18, 10]), false);
    assert.equal(isSupportedAria2Version([2, 0, 0]), true);
  });
});

describe('aria2 error mapping', () => {
  const ctx = { packageName: 'a/b', url: 'https://h/x.zip' };
  const cases: { errorCode: string; errorMessage: string; code: string; retryable: boolean; status?: number }[] = [
    { errorCode: '3', errorMessage: 'Resource not found', code: 'E_HTTP', retryable: false, status: 404 },
    { errorCode: '22', errorMessage: 'The response status is not successful. status=500', code: 'E_HTTP', retryable: true, status: 500 },
    { errorCode: '22', errorMessage: 'status=403', code: 'E_AUTH', retryable: false, status: 403 },
    { errorCode: '24', errorMessage: 'Authorization failed', code: 'E_AUTH', retryable: false, status: 401 },
    { errorCode: '29', errorMessage: 'overloaded', code: 'E_NETWORK', retryable: true },
    { errorCode: '2', errorMessage: 'Timeout.', code: 'E_NETWORK', retryable: true },
    { errorCode: '6', errorMessage: 'Connection refused', code: 'E_NETWORK', retryable: true },
    { errorCode: '19', errorMessage: 'DNS', code: 'E_NETWORK', retryable: true },
    { errorCode: '9', errorMessage: 'No space', code: 'E_CACHE', retryable: false },
    { errorCode: '28', errorMessage: 'bad option', code: 'E_NETWORK', retryable: false },
  ];
  for (const c of cases) {
    it(`aria2 ${c.errorCode} "${c.errorMessage}" → ${c.code}${c.retryable ? ' (retryable)' : ''}`, () => {
      const e = aria2FailureToError({ errorCode: c.errorCode, errorMessage: c.errorMessage }, ctx);
      assert.equal(e.code, c.code);
      assert.equal(e.retryable, c.retryable);
      assert.equal(e.packageName, 'a/b');
      if (c.status !== undefined) assert.equal((e as HttpStatusError).status, c.status);
    });
  }
});

describe('which tasks aria2 may carry', () => {
  const policy = createRequestPolicy({ secureHttp: false, credentialsFor: (u) => (u.host === 'private.example' ? { authorization: 'Bearer t' } : {}) });
  it('keeps a task on the native backend when any of its URLs gets a header or has userinfo', () => {
    assert.equal(carriesCredentials({ ...task(['https://public.example/a.zip']), policy }), false);
    assert.equal(carriesCredentials({ ...task(['https://u:p@public.example/a.zip']), policy }), true);
    assert.equal(carriesCredentials({ ...task(['https://public.example/a.zip', 'https://private.example/a.zip']), policy }), true);
    assert.equal(carriesCredentials({ ...task(['not a url']), policy }), true);
  });
});
