import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { authHeaders, getOrigin } from '../../src/auth/auth-headers.js';
import { buildAuthConfig } from '../../src/auth/load-auth.js';

/**
 * A credential configured for one host must never reach another, whatever the other host's name
 * shares with it. Every auth.json kind, against every look-alike shape, with the host listed in
 * gitlab-domains and without (the gitlab-domains lookup in `Url::getOrigin` is where Composer ≤ 2.9
 * matched by string prefix).
 */
const SECRET = 'S3cr3tT0k3n';
const FAR_FUTURE = 4_000_000_000;

type Kind = 'http-basic' | 'bearer' | 'custom-headers' | 'github-oauth' | 'gitlab-token' | 'gitlab-oauth' | 'bitbucket-oauth' | 'forgejo-token';
const KINDS: readonly Kind[] = ['http-basic', 'bearer', 'custom-headers', 'github-oauth', 'gitlab-token', 'gitlab-oauth', 'bitbucket-oauth', 'forgejo-token'];

function authJson(kind: Kind, key: string): Record<string, unknown> {
  switch (kind) {
    case 'http-basic':
      return { 'http-basic': { [key]: { username: 'u', password: SECRET } } };
    case 'bearer':
      return { bearer: { [key]: SECRET } };
    case 'custom-headers':
      return { 'custom-headers': { [key]: [`X-Api-Key: ${SECRET}`] } };
    case 'github-oauth':
      return { 'github-oauth': { [key]: SECRET } };
    case 'gitlab-token':
      return { 'gitlab-token': { [key]: SECRET } };
    case 'gitlab-oauth':
      return { 'gitlab-oauth': { [key]: SECRET } };
    case 'bitbucket-oauth':
      return { 'bitbucket-oauth': { [key]: { 'consumer-key': 'k', 'consumer-secret': 'c', 'access-token': SECRET, 'access-token-expiration': FAR_FUTURE } } };
    case 'forgejo-token':
      return { 'forgejo-token': { [key]: { username: 'u', token: SECRET } } };
  }
}

/** True when any header carries the secret, as is or inside Basic's base64. */
function carriesSecret(headers: Record<string, string>): boolean {
  return Object.values(headers).some((value) => {
    if (value.includes(SECRET)) return true;
    const basic = /^Basic (.+)$/.exec(value);
    return basic !== null && Buffer.from(basic[1]!, 'base64').toString('utf8').includes(SECRET);
  });
}

/** Hosts that look like `host` but are another server. `host` may carry a port. */
function lookAlikes(host: string): string[] {
  const [name, port] = host.split(':') as [string, string | undefined];
  const withPort = (h: string): string => (port === undefined ? h : `${h}:${port}`);
  const homoglyph = name.replace('e', '\u0435'); // Cyrillic "е": a different name once punycoded
  const all = [
    withPort(name.slice(0, -1)), // prefix: repo.example.co
    withPort(name.slice(0, name.indexOf('.') + 3)), // prefix: repo.ex
    withPort(`${name}.evil.test`), // suffix
    withPort(`evil${name}`), // glued in front
    withPort(`evil-${name}`),
    `${name}:${port === undefined ? '8443' : port.slice(0, -1)}`, // other port (and a port prefix)
    `${name}:${port === undefined ? '1' : String(Number(port) + 1)}`,
    withPort(`${name}.`), // trailing dot: Composer's parse_url keeps it, so it is another origin
    withPort(`${name.slice(0, -1)}`.toUpperCase()), // upper-case look-alike
    withPort(homoglyph), // punycode look-alike
  ];
  // Keep the shapes a URL can carry and that name another server (an IP has no homoglyph,
  // `127.0.0.:1` does not parse, and `127.0.0.1.` is the same address).
  const hostOf = (h: string): string => new URL(`https://${h}/`).host;
  return all.filter((other) => URL.canParse(`https://${other}/`) && hostOf(other) !== hostOf(host));
}

const HOSTS = ['repo.example.com', 'git.example.com:8443', '127.0.0.1:18610'];

describe('a credential never reaches a look-alike host', () => {
  for (const kind of KINDS) {
    for (const host of HOSTS) {
      for (const inGitlabDomains of [false, true]) {
        const label = `${kind} for ${host}${inGitlabDomains ? ' (in gitlab-domains)' : ''}`;
        it(label, () => {
          const auth = buildAuthConfig([{ name: 'auth.json', data: authJson(kind, host) }], {
            githubDomains: ['github.com'],
            gitlabDomains: inGitlabDomains ? ['gitlab.com', host] : ['gitlab.com'],
            nowSeconds: 0,
          });
          const genuine = new URL(`https://${host}/api/v4/dist/a.zip`);
          assert.ok(carriesSecret(authHeaders(auth, genuine)), `${label}: the genuine host gets the credential`);
          for (const other of lookAlikes(host)) {
            for (const url of [`https://${other}/api/v4/dist/a.zip`, `https://${host}@${other}/a.zip`, `https://${host}:pw@${other}/a.zip`]) {
              const parsed = new URL(url);
              assert.ok(!carriesSecret(authHeaders(auth, parsed)), `${label}: ${url} (origin ${getOrigin(parsed, auth.gitlabDomains)}) must get nothing`);
            }
          }
        });
      }
    }
  }

  it('github-oauth for github.com goes to api.github.com only, never to a look-alike', () => {
    const auth = buildAuthConfig([{ name: 'auth.json', data: authJson('github-oauth', 'github.com') }], {
      githubDomains: ['github.com'],
      gitlabDomains: ['gitlab.com'],
    });
    assert.ok(carriesSecret(authHeaders(auth, new URL('https://api.github.com/repos/a/b/zipball/r'))));
    for (const url of [
      'https://api.github.co/repos/a/b/zipball/r',
      'https://api.github.com.evil.test/repos/a',
      'https://evilgithub.com/a',
      'https://api.github.com:8443/repos/a',
      'https://api.github.com@evil.test/repos/a',
      'https://codeload.github.com/a/b/legacy.zip/r',
      'https://api.githu\u0431.com/repos/a',
    ]) {
      assert.ok(!carriesSecret(authHeaders(auth, new URL(url))), url);
    }
  });

  it('bitbucket-oauth for bitbucket.org never reaches a look-alike', () => {
    const auth = buildAuthConfig([{ name: 'auth.json', data: authJson('bitbucket-oauth', 'bitbucket.org') }], {
      githubDomains: ['github.com'],
      gitlabDomains: ['gitlab.com'],
      nowSeconds: 0,
    });
    assert.ok(carriesSecret(authHeaders(auth, new URL('https://bitbucket.org/a/b/get/r.zip'))));
    for (const url of [
      'https://bitbucket.or/a/b/get/r.zip',
      'https://bitbucket.org.evil.test/a/b/get/r.zip',
      'https://evilbitbucket.org/a/b/get/r.zip',
      'https://bitbucket.org@evil.test/a/b/get/r.zip',
    ]) {
      assert.ok(!carriesSecret(authHeaders(auth, new URL(url))), url);
    }
  });

  it('a gitlab-domains entry below a path is still found from its host, and only from it', () => {
    const domains = ['gitlab.com', 'git.example.com/gitlab'];
    assert.equal(getOrigin(new URL('https://git.example.com/gitlab/api/v4/x'), domains), 'git.example.com/gitlab');
    assert.equal(getOrigin(new URL('https://git.example.co/x'), domains), 'git.example.co');
    assert.equal(getOrigin(new URL('https://git.ex/x'), domains), 'git.ex');
  });

  it("a gitlab-domains entry whose port starts with the URL's port gets nothing (127.0.0.1:186100 vs :18610)", () => {
    const auth = buildAuthConfig([{ name: 'auth.json', data: authJson('gitlab-token', '127.0.0.1:186100') }], {
      githubDomains: ['github.com'],
      gitlabDomains: ['gitlab.com'],
    });
    assert.deepEqual(authHeaders(auth, new URL('http://127.0.0.1:18610/dist.zip')), {});
  });

  it('a configured port the URL omits still matches the same host (Composer: GitLab::authorizeOAuth)', () => {
    assert.equal(getOrigin(new URL('https://git.example.com/x'), ['git.example.com:8443']), 'git.example.com:8443');
    assert.equal(getOrigin(new URL('http://127.0.0.1:18610/x'), ['127.0.0.1:186100']), '127.0.0.1:18610');
  });
});
