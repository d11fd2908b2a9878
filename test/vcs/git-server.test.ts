import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { execa } from 'execa';
import { GitServer, plainGitEnv } from '../helpers/git-server.js';
import { tempDir } from '../helpers/run.js';

describe('test helper: git http-backend on loopback', () => {
  const server = new GitServer();
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  before(async () => {
    await server.start();
    tmp = await tempDir('cp-git-helper-');
  });
  after(async () => {
    await server.close();
    await tmp.cleanup();
  });

  it('serves a public repository to git clone --mirror and counts the requests', async () => {
    const head = await server.commit('acme/pub', { tag: 'v1.0.0' });
    const since = server.requests.length;
    const dir = path.join(tmp.dir, 'pub.git');
    await execa('git', ['clone', '--quiet', '--mirror', server.url('acme/pub'), dir], { env: plainGitEnv(tmp.dir), extendEnv: false });
    const { stdout } = await execa('git', ['rev-parse', 'v1.0.0^{commit}'], { cwd: dir });
    assert.equal(stdout.trim(), head);
    assert.ok(server.count('acme/pub', since) >= 2);
  });

  it('asks for Basic credentials on a private repository', async () => {
    await server.commit('acme/priv', { basic: { username: 'u', password: 's3cret' } });
    const env = plainGitEnv(tmp.dir);
    const denied = await execa('git', ['ls-remote', server.url('acme/priv')], { env, extendEnv: false, reject: false });
    assert.notEqual(denied.exitCode, 0);
    assert.equal(server.requests.at(-1)!.status, 401);
    const header = `Authorization: Basic ${Buffer.from('u:s3cret').toString('base64')}`;
    const allowed = await execa('git', ['ls-remote', server.url('acme/priv')], {
      env: { ...env, GIT_CONFIG_COUNT: '1', GIT_CONFIG_KEY_0: 'http.extraHeader', GIT_CONFIG_VALUE_0: header },
      extendEnv: false,
    });
    assert.match(allowed.stdout, /refs\/heads\/main/);
  });
});
