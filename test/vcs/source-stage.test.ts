import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { AuthConfig, Credential } from '../../src/auth/auth-headers.js';
import { parseInput } from '../../src/lockfile/parse-input.js';
import type { Plan, PrefetchEvent, Summary } from '../../src/types.js';
import { prefetchSources, withSources } from '../../src/vcs/source-stage.js';
import { GitServer } from '../helpers/git-server.js';
import { tempDir } from '../helpers/run.js';

describe('prefetchSources: the source stage as the pipeline runs it', () => {
  const server = new GitServer();
  let tmp: Awaited<ReturnType<typeof tempDir>>;
  before(async () => {
    await server.start();
    tmp = await tempDir('cp-vcs-stage-');
  });
  after(async () => {
    await server.close();
    await tmp.cleanup();
  });

  const stage = async (
    packages: unknown[],
    credentials: [string, Credential][],
    extra: { githubDomains?: string[]; gitlabDomains?: string[]; mode?: 'plan' | 'check' | 'fetch' } = {},
  ) => {
    const events: PrefetchEvent[] = [];
    const auth: AuthConfig = {
      credentials: new Map(credentials),
      githubDomains: extra.githubDomains ?? ['github.com'],
      gitlabDomains: extra.gitlabDomains ?? ['gitlab.com'],
    };
    const outcome = await prefetchSources({
      projects: [
        {
          inputs: [parseInput({ 'content-hash': 'x', packages, 'packages-dev': [] }, 'composer.lock')],
          dir: tmp.dir,
          cacheVcsDir: path.join(tmp.dir, 'vcs'),
          preferredInstall: 'dist',
          auth,
          configSections: [],
          secureHttp: false,
        },
      ],
      noDev: false,
      download: { concurrency: 8, perOrigin: 4, retries: 1, retryMaxTimeMs: 60_000, stallTimeoutMs: 30_000, connectTimeoutMs: 10_000, lowSpeedLimit: 1024 },
      mode: extra.mode ?? 'fetch',
      env: { PATH: process.env['PATH'], HOME: tmp.dir },
      signal: new AbortController().signal,
      emit: (e) => events.push(e),
    });
    return { outcome, events };
  };
  const host = () => new URL(server.origin).host;

  it('github-oauth on a GitHub Enterprise host (github-domains) reaches git as token:x-oauth-basic', async () => {
    const ref = await server.commit('ghe/lib', { basic: { username: 'gh-token', password: 'x-oauth-basic' } });
    const pkg = { name: 'ghe/lib', version: 'dev-main', source: { type: 'git', url: server.url('ghe/lib'), reference: ref } };
    const { outcome, events } = await stage([pkg], [[host(), { kind: 'github-oauth', token: 'gh-token' }]], { githubDomains: ['github.com', host()] });
    assert.deepEqual(outcome.failures, []);
    const done = events.find((e) => e.type === 'done');
    assert.equal(done?.type === 'done' && done.task.packageName, 'ghe/lib');
    assert.equal(done?.type === 'done' && done.task.cachePath, path.join(tmp.dir, 'vcs', server.url('ghe/lib').replace(/[^a-z0-9.]/gi, '-')));
  });

  it('gitlab-token reaches git as private-token:<token> (Git::runCommand swaps the pair)', async () => {
    const ref = await server.commit('gl/lib', { basic: { username: 'private-token', password: 'gl-token' } });
    const pkg = { name: 'gl/lib', version: 'dev-main', source: { type: 'git', url: server.url('gl/lib'), reference: ref } };
    const { outcome } = await stage([pkg], [[host(), { kind: 'gitlab-token', token: 'gl-token', username: undefined }]], {
      gitlabDomains: ['gitlab.com', host()],
    });
    assert.deepEqual(outcome.failures, []);
  });

  it('a refused credential fails the package by name (E_AUTH), counted in the summary; hg is named and skipped', async () => {
    const ref = await server.commit('priv/lib', { basic: { username: 'u', password: 'right' } });
    const packages = [
      { name: 'priv/lib', version: 'dev-main', source: { type: 'git', url: server.url('priv/lib'), reference: ref } },
      { name: 'hg/lib', version: '1.0.0', source: { type: 'hg', url: 'https://hg.example/lib', reference: 'abc' } },
    ];
    const { outcome, events } = await stage(packages, [[host(), { kind: 'http-basic', username: 'u', password: 'wrong' }]]);
    assert.deepEqual(
      outcome.failures.map((f) => [f.packageName, f.code]),
      [['priv/lib', 'E_AUTH']],
    );
    assert.ok(events.some((e) => e.type === 'warning' && e.message.startsWith('hg/lib 1.0.0') && e.message.includes('hg')));
    assert.ok(events.some((e) => e.type === 'failed' && e.task.packageName === 'priv/lib'));
    assert.doesNotMatch(JSON.stringify(events.map((e) => ('error' in e ? e.error.message : e))), /wrong/);
    const summary = { planned: 0, downloaded: 0, cached: 0, skipped: 0, failed: 0, unfinished: 0, bytes: 0, failures: [] } as unknown as Summary;
    const counted = withSources({ skipped: [] } as unknown as Plan, summary, outcome).summary;
    assert.equal(counted.failed, 1);
    assert.deepEqual(
      counted.failures.map((f) => [f.packageName, f.vcs]),
      [['priv/lib', 'git']],
    );
    assert.deepEqual(counted.git, { planned: 1, downloaded: 0, cached: 0, failed: 1, bytes: 0, bytesUnknown: 0 });
  });

  it('plan mode (--dry-run) runs no git at all', async () => {
    const since = server.requests.length;
    const pkg = { name: 'dry/lib', version: 'dev-main', source: { type: 'git', url: server.url('dry/lib'), reference: 'a'.repeat(40) } };
    const { outcome } = await stage([pkg], [], { mode: 'plan' });
    assert.equal(outcome.plans[0]!.tasks.length, 1);
    assert.deepEqual(outcome.results, []);
    assert.equal(server.count(undefined, since), 0);
  });
});
