import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AuthConfig, Credential } from '../../src/auth/auth-headers.js';
import { gitCredential, gitEnv, gitHost } from '../../src/vcs/git-env.js';
import { stripCredentials } from '../../src/vcs/git-url.js';

const auth = (origin: string, credential: Credential): AuthConfig => ({
  credentials: new Map([[origin, credential]]),
  githubDomains: ['github.com'],
  gitlabDomains: ['gitlab.com'],
});
const basic = (username: string, password: string) => ({ kind: 'basic' as const, username, password });

describe('gitCredential: the pairs Git::runCommand puts into the URL', () => {
  const cases: [string, AuthConfig, string, ReturnType<typeof gitCredential>][] = [
    ['http-basic', auth('git.example', { kind: 'http-basic', username: 'u', password: 'p' }), 'https://git.example/a.git', basic('u', 'p')],
    ['github-oauth', auth('github.com', { kind: 'github-oauth', token: 'T' }), 'https://github.com/a/b.git', basic('T', 'x-oauth-basic')],
    ['gitlab-token', auth('gitlab.com', { kind: 'gitlab-token', token: 'T', username: undefined }), 'https://gitlab.com/a/b.git', basic('private-token', 'T')],
    ['gitlab-oauth', auth('gitlab.com', { kind: 'gitlab-oauth', token: 'T' }), 'https://gitlab.com/a/b.git', basic('oauth2', 'T')],
    ['bitbucket-oauth', auth('bitbucket.org', { kind: 'bitbucket-oauth', token: 'T' }), 'https://bitbucket.org/a/b.git', basic('x-token-auth', 'T')],
    ['forgejo-token', auth('codeberg.org', { kind: 'forgejo-token', username: 'u', token: 'T' }), 'https://codeberg.org/a/b.git', basic('u', 'T')],
    ['bearer', auth('git.example', { kind: 'bearer', token: 'B' }), 'https://git.example/a.git', { kind: 'bearer', token: 'B' }],
    ['other host gets nothing', auth('git.example', { kind: 'http-basic', username: 'u', password: 'p' }), 'https://other.example/a.git', undefined],
    ['ssh URL gets nothing', auth('git.example', { kind: 'http-basic', username: 'u', password: 'p' }), 'ssh://git@git.example/a.git', undefined],
  ];
  for (const [what, config, url, expected] of cases) it(what, () => assert.deepEqual(gitCredential(config, new URL(url)), expected));
});

const configOf = (env: Record<string, string>) =>
  Array.from({ length: Number(env['GIT_CONFIG_COUNT']) }, (_, i) => [env[`GIT_CONFIG_KEY_${i}`]!, env[`GIT_CONFIG_VALUE_${i}`]!] as const);

describe('gitEnv', () => {
  it('a Basic credential reaches git only through a helper scoped to its origin (user helpers reset there), in the environment; no prompts; GIT_CONFIG_* and GIT_DIR dropped', () => {
    const env = gitEnv({
      base: {
        PATH: '/bin',
        GIT_DIR: '/x',
        GIT_CONFIG_COUNT: '1',
        GIT_CONFIG_KEY_0: 'a.b',
        GIT_CONFIG_VALUE_0: 'c',
        COMPOSER_PREFETCH_GIT_PASSWORD: 'from-outside',
      },
      credential: { origin: 'https://h.example', credential: basic('u', 's3cret') },
      caFile: '/ca.pem',
      lowSpeedLimit: 1024,
      lowSpeedSeconds: 30,
    });
    assert.equal(env['GIT_DIR'], undefined);
    assert.equal(env['GIT_TERMINAL_PROMPT'], '0');
    assert.equal(env['GIT_SSH_COMMAND'], 'ssh -o BatchMode=yes -o ConnectTimeout=10 -o ServerAliveInterval=10 -o ServerAliveCountMax=3');
    assert.equal(env['GIT_HTTP_LOW_SPEED_LIMIT'], '1024');
    assert.equal(env['GIT_HTTP_LOW_SPEED_TIME'], '30');
    const config = configOf(env);
    assert.deepEqual(config.slice(0, 3), [
      ['protocol.ext.allow', 'never'],
      ['protocol.fd.allow', 'never'],
      ['protocol.version', '0'],
    ]);
    assert.deepEqual(config[3], ['credential.https://h.example/.helper', '']);
    assert.equal(config[4]![0], 'credential.https://h.example/.helper');
    assert.match(config[4]![1], /^!f\(\) \{/);
    assert.doesNotMatch(config.map((c) => c.join('=')).join('\n'), /s3cret/);
    assert.deepEqual(config[5], ['http.sslCAInfo', '/ca.pem']);
    assert.equal(config.length, 6);
    assert.equal(env['COMPOSER_PREFETCH_GIT_ORIGIN'], 'https://h.example');
    assert.equal(env['COMPOSER_PREFETCH_GIT_USERNAME'], 'u');
    assert.equal(env['COMPOSER_PREFETCH_GIT_PASSWORD'], 's3cret');
  });
  it('a bearer token goes as a header for its origin only, with redirects off there', () => {
    const config = configOf(
      gitEnv({ base: {}, credential: { origin: 'https://h.example', credential: { kind: 'bearer', token: 'B' } }, lowSpeedLimit: 0, lowSpeedSeconds: 30 }),
    );
    assert.deepEqual(config.slice(3), [
      ['http.https://h.example/.extraHeader', 'Authorization: Bearer B'],
      ['http.https://h.example/.followRedirects', 'false'],
    ]);
  });
  it('secure-http refuses http, git and ftp transports in git itself (redirect targets included); no credential env without a credential', () => {
    const env = gitEnv({ base: { COMPOSER_PREFETCH_GIT_PASSWORD: 'x' }, secureHttp: true, lowSpeedLimit: 0, lowSpeedSeconds: 30 });
    assert.deepEqual(configOf(env).slice(3), [
      ['protocol.http.allow', 'never'],
      ['protocol.git.allow', 'never'],
      ['protocol.ftp.allow', 'never'],
    ]);
    assert.equal(env['COMPOSER_PREFETCH_GIT_PASSWORD'], undefined);
    // --low-speed-limit 0: no floor inside git either.
    assert.equal(env['GIT_HTTP_LOW_SPEED_LIMIT'], undefined);
  });
  it('HTTP_PROXY reaches git as http_proxy, which is the name curl reads; a lower-case one wins', () => {
    assert.equal(gitEnv({ base: { HTTP_PROXY: 'http://p:3128' }, lowSpeedLimit: 1024, lowSpeedSeconds: 30 })['http_proxy'], 'http://p:3128');
    assert.equal(
      gitEnv({ base: { HTTP_PROXY: 'http://p:3128', http_proxy: 'http://q:8080' }, lowSpeedLimit: 1024, lowSpeedSeconds: 30 })['http_proxy'],
      'http://q:8080',
    );
  });
  it("keeps the user's own ssh command", () => {
    assert.equal(gitEnv({ base: { GIT_SSH_COMMAND: 'ssh -i k' }, lowSpeedLimit: 1024, lowSpeedSeconds: 30 })['GIT_SSH_COMMAND'], 'ssh -i k');
  });
  it('sanitizes and finds hosts as Composer does', () => {
    assert.equal(stripCredentials('https://u:p@h.example/a.git'), 'https://h.example/a.git');
    // A bare token in the user slot is a credential too (Url::stripCredentials); ssh keeps its user.
    assert.equal(stripCredentials('https://ghp_abcdef123456@github.com/a/b.git'), 'https://github.com/a/b.git');
    assert.equal(stripCredentials('ssh://git@h.example:2222/a.git'), 'ssh://git@h.example:2222/a.git');
    assert.equal(stripCredentials('ssh://u:p@h.example/a.git'), 'ssh://h.example/a.git');
    assert.equal(gitHost('git@gitee.com:a/b.git'), 'gitee.com');
    assert.equal(gitHost('https://codeberg.org/a/b'), 'codeberg.org');
  });
});
