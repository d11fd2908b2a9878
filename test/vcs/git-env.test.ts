import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AuthConfig, Credential } from '../../src/auth/auth-headers.js';
import { gitAuthorization, gitEnv, gitHost, sanitizeGitUrl } from '../../src/vcs/git-env.js';

const b64 = (s: string) => `Basic ${Buffer.from(s).toString('base64')}`;
const auth = (origin: string, credential: Credential): AuthConfig => ({ credentials: new Map([[origin, credential]]), githubDomains: ['github.com'], gitlabDomains: ['gitlab.com'] });

describe('gitAuthorization: the pairs Git::runCommand puts into the URL, as a header', () => {
  const cases: [string, AuthConfig, string, string | undefined][] = [
    ['http-basic', auth('git.example', { kind: 'http-basic', username: 'u', password: 'p' }), 'https://git.example/a.git', b64('u:p')],
    ['github-oauth', auth('github.com', { kind: 'github-oauth', token: 'T' }), 'https://github.com/a/b.git', b64('T:x-oauth-basic')],
    ['gitlab-token', auth('gitlab.com', { kind: 'gitlab-token', token: 'T', username: undefined }), 'https://gitlab.com/a/b.git', b64('private-token:T')],
    ['gitlab-oauth', auth('gitlab.com', { kind: 'gitlab-oauth', token: 'T' }), 'https://gitlab.com/a/b.git', b64('oauth2:T')],
    ['bitbucket-oauth', auth('bitbucket.org', { kind: 'bitbucket-oauth', token: 'T' }), 'https://bitbucket.org/a/b.git', b64('x-token-auth:T')],
    ['forgejo-token', auth('codeberg.org', { kind: 'forgejo-token', username: 'u', token: 'T' }), 'https://codeberg.org/a/b.git', b64('u:T')],
    ['other host gets nothing', auth('git.example', { kind: 'http-basic', username: 'u', password: 'p' }), 'https://other.example/a.git', undefined],
    ['ssh URL gets nothing', auth('git.example', { kind: 'http-basic', username: 'u', password: 'p' }), 'ssh://git@git.example/a.git', undefined],
  ];
  for (const [what, config, url, expected] of cases) it(what, () => assert.equal(gitAuthorization(config, new URL(url)), expected));
});

describe('gitEnv', () => {
  it('credentials only through GIT_CONFIG_*, scoped to their origin; no prompts; the user\'s GIT_CONFIG_* and GIT_DIR dropped', () => {
    const env = gitEnv({ base: { PATH: '/bin', GIT_DIR: '/x', GIT_CONFIG_COUNT: '1', GIT_CONFIG_KEY_0: 'a.b', GIT_CONFIG_VALUE_0: 'c' }, headers: new Map([['https://h.example/', 'Basic abc']]), caFile: '/ca.pem', lowSpeedSeconds: 30 });
    assert.equal(env['GIT_DIR'], undefined);
    assert.equal(env['GIT_TERMINAL_PROMPT'], '0');
    assert.equal(env['GIT_SSH_COMMAND'], 'ssh -o BatchMode=yes');
    const config = Object.fromEntries(Array.from({ length: Number(env['GIT_CONFIG_COUNT']) }, (_, i) => [env[`GIT_CONFIG_KEY_${i}`], env[`GIT_CONFIG_VALUE_${i}`]]));
    assert.deepEqual(config, {
      'protocol.ext.allow': 'never',
      'protocol.fd.allow': 'never',
      'protocol.version': '0',
      'http.https://h.example/.extraHeader': 'Authorization: Basic abc',
      'http.sslCAInfo': '/ca.pem',
    });
    assert.equal(env['GIT_CONFIG_KEY_9'], undefined);
  });
  it('HTTP_PROXY reaches git as http_proxy, which is the name curl reads; a lower-case one wins', () => {
    assert.equal(gitEnv({ base: { HTTP_PROXY: 'http://p:3128' }, lowSpeedSeconds: 30 })['http_proxy'], 'http://p:3128');
    assert.equal(gitEnv({ base: { HTTP_PROXY: 'http://p:3128', http_proxy: 'http://q:8080' }, lowSpeedSeconds: 30 })['http_proxy'], 'http://q:8080');
  });
  it("keeps the user's own ssh command", () => {
    assert.equal(gitEnv({ base: { GIT_SSH_COMMAND: 'ssh -i k' }, lowSpeedSeconds: 30 })['GIT_SSH_COMMAND'], 'ssh -i k');
  });
  it('sanitizes and finds hosts as Composer does', () => {
    assert.equal(sanitizeGitUrl('https://u:p@h.example/a.git'), 'https://h.example/a.git');
    assert.equal(gitHost('git@gitee.com:a/b.git'), 'gitee.com');
    assert.equal(gitHost('https://codeberg.org/a/b'), 'codeberg.org');
  });
});
