import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { authHeaders, getOrigin, type AuthConfig, type Credential } from '../../src/auth/auth-headers.js';
import { explainAuthFailure } from '../../src/auth/auth-failure.js';
import { buildAuthConfig } from '../../src/auth/load-auth.js';
import { HttpStatusError } from '../../src/errors.js';
import { createRequestPolicy, redactUrl } from '../../src/net/request-policy.js';

const b64 = (s: string): string => Buffer.from(s).toString('base64');

function config(entries: Record<string, Credential>, extra: Partial<AuthConfig> = {}): AuthConfig {
  return { credentials: new Map(Object.entries(entries)), githubDomains: ['github.com'], gitlabDomains: ['gitlab.com'], ...extra };
}

describe('getOrigin (Url::getOrigin)', () => {
  const cases: [string, string][] = [
    ['https://api.github.com/repos/a/b/zipball/x', 'github.com'],
    ['https://codeload.github.com/a/b/legacy.zip/x', 'codeload.github.com'],
    ['https://objects.github.com/x', 'github.com'],
    ['https://repo.packagist.org/p2/a/b.json', 'packagist.org'],
    ['https://repo.example.com:8443/dist.zip', 'repo.example.com:8443'],
    ['http://127.0.0.1:1234/x', '127.0.0.1:1234'],
  ];
  for (const [url, origin] of cases) it(`${url} → ${origin}`, () => assert.equal(getOrigin(new URL(url), ['gitlab.com']), origin));
  it('a gitlab-domain with a path is found by host prefix', () => {
    assert.equal(getOrigin(new URL('https://git.example.com/api/v4/x'), ['gitlab.com', 'git.example.com/gitlab']), 'git.example.com/gitlab');
  });
});

describe('authHeaders (AuthHelper::addAuthenticationHeader)', () => {
  const table: { name: string; cfg: AuthConfig; url: string; expect: Record<string, string> }[] = [
    {
      name: 'http-basic',
      cfg: config({ 'repo.example.com': { kind: 'http-basic', username: 'u', password: 'p' } }),
      url: 'https://repo.example.com/a.zip',
      expect: { authorization: `Basic ${b64('u:p')}` },
    },
    {
      name: 'http-basic on another host: nothing',
      cfg: config({ 'repo.example.com': { kind: 'http-basic', username: 'u', password: 'p' } }),
      url: 'https://cdn.example.com/a.zip',
      expect: {},
    },
    {
      name: 'http-basic port must match',
      cfg: config({ 'repo.example.com': { kind: 'http-basic', username: 'u', password: 'p' } }),
      url: 'https://repo.example.com:8443/a.zip',
      expect: {},
    },
    { name: 'bearer', cfg: config({ 'x.example': { kind: 'bearer', token: 'tok' } }), url: 'https://x.example/a', expect: { authorization: 'Bearer tok' } },
    {
      name: 'github-oauth on api.github.com',
      cfg: config({ 'github.com': { kind: 'github-oauth', token: 'ghp_x' } }),
      url: 'https://api.github.com/repos/a/b/zipball/r',
      expect: { authorization: 'token ghp_x' },
    },
    {
      name: 'github-oauth never to codeload',
      cfg: config({ 'github.com': { kind: 'github-oauth', token: 'ghp_x' } }),
      url: 'https://codeload.github.com/a/b/legacy.zip/r',
      expect: {},
    },
    {
      name: 'github-oauth not to github.com web URLs',
      cfg: config({ 'github.com': { kind: 'github-oauth', token: 'ghp_x' } }),
      url: 'https://github.com/a/b/archive/r.zip',
      expect: {},
    },
    {
      name: 'github-oauth for GitHub Enterprise: Basic token:x-oauth-basic',
      cfg: config({ 'ghe.example': { kind: 'github-oauth', token: 't1' } }, { githubDomains: ['github.com', 'ghe.example'] }),
      url: 'https://ghe.example/api/v3/repos/a/b/zipball/r',
      expect: { authorization: `Basic ${b64('t1:x-oauth-basic')}` },
    },
    {
      name: 'gitlab-oauth: Bearer',
      cfg: config({ 'gitlab.com': { kind: 'gitlab-oauth', token: 'gl' } }),
      url: 'https://gitlab.com/api/v4/projects/1/repository/archive.zip?sha=r',
      expect: { authorization: 'Bearer gl' },
    },
    {
      name: 'gitlab-token: PRIVATE-TOKEN',
      cfg: config({ 'gitlab.com': { kind: 'gitlab-token', token: 'pt', username: undefined } }),
      url: 'https://gitlab.com/x',
      expect: { 'private-token': 'pt' },
    },
    {
      name: 'gitlab-token with username: Basic',
      cfg: config({ 'gitlab.com': { kind: 'gitlab-token', token: 'pt', username: 'me' } }),
      url: 'https://gitlab.com/x',
      expect: { authorization: `Basic ${b64('me:pt')}` },
    },
    {
      name: 'gitlab-token on a host outside gitlab-domains: Basic token:private-token',
      cfg: config({ 'git.example': { kind: 'gitlab-token', token: 'pt', username: undefined } }),
      url: 'https://git.example/x',
      expect: { authorization: `Basic ${b64('pt:private-token')}` },
    },
    {
      name: 'bitbucket access token: Bearer',
      cfg: config({ 'bitbucket.org': { kind: 'bitbucket-oauth', token: 'bb' } }),
      url: 'https://bitbucket.org/a/b/get/r.zip',
      expect: { authorization: 'Bearer bb' },
    },
    {
      name: 'bitbucket public downloads: nothing',
      cfg: config({ 'bitbucket.org': { kind: 'bitbucket-oauth', token: 'bb' } }),
      url: 'https://bitbucket.org/a/b/downloads/x.zip',
      expect: {},
    },
    {
      name: 'api.bitbucket.org borrows bitbucket.org',
      cfg: config({ 'bitbucket.org': { kind: 'bitbucket-oauth', token: 'bb' } }),
      url: 'https://api.bitbucket.org/2.0/x',
      expect: { authorization: 'Bearer bb' },
    },
    {
      name: 'bitbucket consumer key only: nothing',
      cfg: config({ 'bitbucket.org': { kind: 'bitbucket-consumer' } }),
      url: 'https://bitbucket.org/a/b/get/r.zip',
      expect: {},
    },
    {
      name: 'custom-headers',
      cfg: config({ 'h.example': { kind: 'custom-headers', lines: ['X-Api-Key: k1', 'bad line', 'X-Other:  v '] } }),
      url: 'https://h.example/a',
      expect: { 'x-api-key': 'k1', 'x-other': 'v' },
    },
  ];
  for (const row of table) it(row.name, () => assert.deepEqual(authHeaders(row.cfg, new URL(row.url)), row.expect));
});

describe('precedence (Factory + BaseIO::loadConfiguration, Composer ≥ 2.7.8)', () => {
  const domains = { githubDomains: ['github.com'], gitlabDomains: ['gitlab.com'] };
  const basic = (user: string) => ({ 'http-basic': { 'r.example': { username: user, password: 'p' } } });
  const order = ['global config.json', 'global auth.json', 'COMPOSER_AUTH', 'project composer.json', 'project auth.json', 'COMPOSER_AUTH'];
  it('COMPOSER_AUTH beats the project auth.json, which beats composer.json and the global files', () => {
    const sources = order.map((name) => ({ name, data: basic(name) }));
    const cred = buildAuthConfig(sources, domains).credentials.get('r.example');
    assert.deepEqual(cred, { kind: 'http-basic', username: 'COMPOSER_AUTH', password: 'p' });
    const withoutEnv = order.filter((n) => n !== 'COMPOSER_AUTH').map((name) => ({ name, data: basic(name) }));
    assert.deepEqual(buildAuthConfig(withoutEnv, domains).credentials.get('r.example'), { kind: 'http-basic', username: 'project auth.json', password: 'p' });
  });
  it('merges per host: other hosts of an earlier source survive', () => {
    const a = { name: 'a', data: { 'http-basic': { 'one.example': { username: 'a', password: 'p' }, 'two.example': { username: 'a', password: 'p' } } } };
    const b = { name: 'b', data: { 'http-basic': { 'two.example': { username: 'b', password: 'p' } } } };
    const creds = buildAuthConfig([a, b], domains).credentials;
    assert.equal((creds.get('one.example') as { username: string }).username, 'a');
    assert.equal((creds.get('two.example') as { username: string }).username, 'b');
  });
  it('for one host, bearer beats http-basic beats gitlab-token beats github-oauth (loadConfiguration order)', () => {
    const data = {
      'github-oauth': { 'h.example': 'tok' },
      'gitlab-token': { 'h.example': 'tok' },
      'http-basic': { 'h.example': { username: 'u', password: 'p' } },
      bearer: { 'h.example': 'bt' },
    };
    assert.equal(buildAuthConfig([{ name: 'x', data }], domains).credentials.get('h.example')?.kind, 'bearer');
    const { bearer: _b, ...noBearer } = data;
    assert.equal(buildAuthConfig([{ name: 'x', data: noBearer }], domains).credentials.get('h.example')?.kind, 'http-basic');
  });
  it('hosts with github-oauth / gitlab-oauth / gitlab-token join github-domains / gitlab-domains (2.5+)', () => {
    const data = { 'github-oauth': { 'github.com': 'a', 'ghe.example': 'b' }, 'gitlab-oauth': { 'gl.example': 'c' }, 'gitlab-token': { 'gl2.example': 'd' } };
    const auth = buildAuthConfig([{ name: 'x', data }], domains);
    assert.deepEqual(auth.githubDomains, ['github.com', 'ghe.example']);
    assert.deepEqual(auth.gitlabDomains, ['gitlab.com', 'gl.example', 'gl2.example']);
  });
  it('bitbucket-oauth: an unexpired access-token is used, an expired one is not', () => {
    const entry = (exp: number) => ({
      'bitbucket-oauth': { 'bitbucket.org': { 'consumer-key': 'k', 'consumer-secret': 's', 'access-token': 'at', 'access-token-expiration': exp } },
    });
    assert.deepEqual(buildAuthConfig([{ name: 'x', data: entry(2000) }], { ...domains, nowSeconds: 1000 }).credentials.get('bitbucket.org'), {
      kind: 'bitbucket-oauth',
      token: 'at',
    });
    assert.deepEqual(buildAuthConfig([{ name: 'x', data: entry(500) }], { ...domains, nowSeconds: 1000 }).credentials.get('bitbucket.org'), {
      kind: 'bitbucket-consumer',
    });
  });
  it('a github token with invalid characters is refused as Composer does, without printing it', () => {
    assert.throws(
      () => buildAuthConfig([{ name: 'x', data: { 'github-oauth': { 'github.com': 'bad token"SECRET' } } }], domains),
      (e: Error) => {
        assert.match(e.message, /github oauth token for github.com contains invalid characters/);
        assert.doesNotMatch(e.message, /SECRET/);
        return true;
      },
    );
  });
  it('malformed entries are warnings that name the key and host only', () => {
    const auth = buildAuthConfig([{ name: 'x', data: { 'http-basic': { 'h.example': 'just-a-SECRET-string' } } }], domains);
    assert.equal(auth.credentials.size, 0);
    assert.equal(auth.warnings.length, 1);
    assert.doesNotMatch(auth.warnings[0]!, /SECRET/);
  });
});

describe('request policy and redaction', () => {
  const policy = createRequestPolicy({
    secureHttp: true,
    credentialsFor: (url) => authHeaders(config({ 'a.example': { kind: 'bearer', token: 'T0KEN' } }), url),
  });
  it('headers are decided per URL: a redirect target on another origin gets none', () => {
    assert.deepEqual(policy.headersFor(new URL('https://a.example/x')), { authorization: 'Bearer T0KEN' });
    assert.deepEqual(policy.headersFor(new URL('https://b.example/x')), {});
    assert.deepEqual(policy.headersFor(new URL('https://a.example:444/x')), {});
  });
  it('userinfo in the URL beats auth.json (HttpDownloader::addJob)', () => {
    assert.deepEqual(policy.headersFor(new URL('https://me:pw@a.example/x')), { authorization: `Basic ${b64('me:pw')}` });
  });
  it('redacts userinfo and token query parameters', () => {
    assert.equal(redactUrl('https://me:s3cret@a.example/x.zip?access_token=abc&v=1'), 'https://***@a.example/x.zip?access_token=***&v=1');
  });
  it('plain http is refused with a message that covers redirects', () => {
    assert.throws(
      () => policy.assertAllowed(new URL('http://u:pw@a.example/x')),
      (e: Error) => {
        assert.match(e.message, /Refusing plain-http URL http:\/\/\*\*\*@a\.example\/x .*redirect target.*secure-http/);
        assert.doesNotMatch(e.message, /pw/);
        return true;
      },
    );
    const open = createRequestPolicy({ secureHttp: false });
    assert.doesNotThrow(() => open.assertAllowed(new URL('http://a.example/x')));
  });
});

describe('401/403 messages', () => {
  const err = (url: string, status = 401) => new HttpStatusError({ status, url, retryable: false });
  it('no credential: names the host and the auth.json key to add', () => {
    const e = explainAuthFailure(err('https://repo.example.com/a.zip'), config({}));
    assert.match(e.message, /repo\.example\.com requires authentication and no credentials are configured/);
    assert.match(e.hint ?? '', /"http-basic": \{"repo\.example\.com"/);
    assert.equal(e.code, 'E_AUTH');
    assert.match(explainAuthFailure(err('https://api.github.com/repos/a/b/zipball/r', 403), config({})).hint ?? '', /github-oauth.*github\.com/);
  });
  it("GitHub's API rate limit says so, when it resets, and how to add a token", () => {
    const limited = (status: number) =>
      new HttpStatusError({
        status,
        url: 'https://api.github.com/repos/a/b/zipball/r',
        retryable: false,
        rateLimit: { resetAt: '2026-12-02T12:45:00.000Z', resetInMs: 17 * 60_000 },
      });
    const anonymous = explainAuthFailure(limited(403), config({}));
    assert.match(anonymous.message, /api\.github\.com's API rate limit is used up \(X-RateLimit-Remaining: 0\); it resets at 12:45 UTC \(in 17 min\)/);
    assert.doesNotMatch(anonymous.message, /requires authentication/);
    assert.match(anonymous.hint ?? '', /Add a token: \{"github-oauth": \{"github\.com": "<token>"\}\} in auth\.json .* or COMPOSER_AUTH/);
    const withToken = explainAuthFailure(limited(403), config({ 'github.com': { kind: 'github-oauth', token: 'ghp_SECRET' } }));
    assert.match(withToken.hint ?? '', /The configured github-oauth token for "github\.com" has used its hourly quota/);
    assert.doesNotMatch(`${withToken.message} ${withToken.hint}`, /ghp_SECRET|wrong, expired/);
  });
  it('a key filed under another port says the port is the problem', () => {
    const e = explainAuthFailure(
      err('https://ghe.example.com/api/v3/repos/a/b/zipball/r'),
      config({ 'ghe.example.com:8443': { kind: 'github-oauth', token: 'TOKEN1' } }, { githubDomains: ['github.com', 'ghe.example.com:8443'] }),
    );
    assert.match(e.message, /the configured github-oauth entry is for "ghe\.example\.com:8443", another port/);
    assert.match(e.hint ?? '', /file the entry under "ghe\.example\.com"/);
    assert.doesNotMatch(`${e.message} ${e.hint}`, /TOKEN1/);
    const back = explainAuthFailure(
      err('https://repo.example.com:8443/a.zip'),
      config({ 'repo.example.com': { kind: 'http-basic', username: 'u', password: 'p' } }),
    );
    assert.match(back.message, /entry is for "repo\.example\.com", another port/);
  });
  it('credential configured: says it was refused, never shows it', () => {
    const e = explainAuthFailure(
      err('https://repo.example.com/a.zip', 403),
      config({ 'repo.example.com': { kind: 'http-basic', username: 'u', password: 'PASSWORD1' } }),
    );
    assert.match(e.message, /refused the configured http-basic credential for "repo\.example\.com"/);
    assert.doesNotMatch(`${e.message} ${e.hint}`, /PASSWORD1/);
  });
});
