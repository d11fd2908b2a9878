/**
 * Golden test against the REAL Composer: `composer config --absolute cache-vcs-dir` must equal
 * `resolveCacheDirs(...).cacheVcsDir`, and `GitDownloader::doDownload`'s folder rule (run by
 * Composer's own PHP, `Preg::replace`) must equal `mirrorDirName`.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { resolveCacheDirs } from '../../src/config/cache-dir.js';
import { defaultEnvironment, loadComposerConfig } from '../../src/config/composer-config.js';
import { type Environment, resolveComposerHome } from '../../src/config/composer-home.js';
import { mirrorDirName } from '../../src/vcs/plan-mirrors.js';
import { findComposerAutoload, requireComposer, requirePhp } from '../helpers/composer-php.js';

const run = promisify(execFile);

const SCENARIOS: readonly { name: string; env?: Record<string, string>; project?: Record<string, unknown>; global?: Record<string, unknown> }[] = [
  { name: 'HOME only' },
  { name: 'COMPOSER_CACHE_DIR', env: { COMPOSER_CACHE_DIR: '<T>/cc' } },
  { name: 'COMPOSER_CACHE_VCS_DIR beats COMPOSER_CACHE_DIR', env: { COMPOSER_CACHE_DIR: '<T>/cc', COMPOSER_CACHE_VCS_DIR: '<T>/vcs' } },
  { name: 'project cache-vcs-dir, relative', project: { 'cache-vcs-dir': 'myvcs/' } },
  { name: 'global cache-vcs-dir, project cache-dir', env: { COMPOSER_HOME: '<T>/ch' }, global: { 'cache-vcs-dir': '{$cache-dir}/g' }, project: { 'cache-dir': '<T>/pc' } },
  { name: 'COMPOSER_HOME', env: { COMPOSER_HOME: '<T>/ch' } },
];

const sub = (v: unknown, root: string): unknown =>
  typeof v === 'string' ? v.split('<T>').join(root) : v !== null && typeof v === 'object' ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, sub(x, root)])) : v;

describe('golden: cache-vcs-dir and the mirror folder name, as real Composer has them', () => {
  let base = '';
  before(() => {
    requireComposer();
    base = mkdtempSync(path.join(os.tmpdir(), 'cp-golden-vcsdir-'));
  });
  after(() => {
    if (base !== '') rmSync(base, { recursive: true, force: true });
  });

  it('every scenario matches `composer config --absolute cache-vcs-dir`', async () => {
    const composer = requireComposer();
    const results = await Promise.all(
      SCENARIOS.map(async (scenario, i) => {
        const root = path.join(base, `s${i}`);
        const proj = path.join(root, 'proj');
        mkdirSync(path.join(root, 'home'), { recursive: true });
        mkdirSync(proj, { recursive: true });
        if (scenario.global) {
          mkdirSync(path.join(root, 'ch'), { recursive: true });
          writeFileSync(path.join(root, 'ch', 'config.json'), JSON.stringify({ config: sub(scenario.global, root) }));
        }
        writeFileSync(path.join(proj, 'composer.json'), JSON.stringify(scenario.project ? { config: sub(scenario.project, root) } : {}));
        const env: Record<string, string> = { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: path.join(root, 'home'), COMPOSER_ALLOW_SUPERUSER: '1', COMPOSER_NO_INTERACTION: '1', COMPOSER_DISABLE_NETWORK: '1' };
        for (const [k, v] of Object.entries(scenario.env ?? {})) env[k] = sub(v, root) as string;
        const { stdout } = await run(composer, ['config', '--absolute', 'cache-vcs-dir', '--no-ansi'], { cwd: proj, env, timeout: 30_000 });
        const e: Environment = { ...defaultEnvironment(), env, cwd: proj };
        const config = await loadComposerConfig({ cwd: proj, env, composerHome: resolveComposerHome(e) });
        return { name: scenario.name, actual: stdout.trim().split('\n').at(-1) ?? '', ours: resolveCacheDirs(e, { project: config.project, global: config.global }).cacheVcsDir };
      }),
    );
    for (const { name, actual, ours } of results) assert.equal(ours, actual, name);
  });

  it("mirrorDirName equals GitDownloader::doDownload's Preg::replace", async () => {
    const urls = ['https://github.com/mautic/SpBundle.git', 'git@gitee.com:a/b.git', 'ssh://git@h.example:2222/x/y', 'https://h.example/ä/😀', 'https://codeberg.org/icewind/SMB'];
    const code = `require ${JSON.stringify(findComposerAutoload())}; foreach (json_decode(stream_get_contents(STDIN)) as $u) echo Composer\\Pcre\\Preg::replace('{[^a-z0-9.]}i', '-', $u), "\\n";`;
    const child = execFile(requirePhp(), ['-r', code]);
    child.stdin!.end(JSON.stringify(urls));
    const out = await new Promise<string>((resolve, reject) => {
      let text = '';
      child.stdout!.on('data', (d: Buffer) => (text += d.toString()));
      child.on('error', reject);
      child.on('close', () => resolve(text));
    });
    assert.deepEqual(out.trimEnd().split('\n'), urls.map(mirrorDirName));
  });
});
