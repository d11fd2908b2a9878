/**
 * Golden test against the REAL Composer: `composer config --absolute cache-files-dir` in controlled
 * environments (composer-cache.md §10.7) must equal `resolveCacheDirs` fed by `loadComposerConfig`.
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
import { composers, titled } from '../helpers/composers.js';

const run = promisify(execFile);

interface Scenario {
  readonly name: string;
  /** Directories to create, relative to the scenario root. */
  readonly dirs?: readonly string[];
  /** Files to write, relative to the scenario root. */
  readonly files?: Readonly<Record<string, unknown>>;
  /** Env; `<T>` is replaced by the scenario root. HOME defaults to <T>/home. */
  readonly env?: Readonly<Record<string, string>>;
  /** The project's composer.json `config` section. */
  readonly project?: Readonly<Record<string, unknown>>;
  /** Documented result (§10.7) where there is one, `<T>`-relative. */
  readonly documented?: string;
}

const SCENARIOS: readonly Scenario[] = [
  { name: 'HOME only, no ~/.composer', documented: '<T>/home/.cache/composer/files' },
  { name: 'HOME with ~/.composer/cache', dirs: ['home/.composer/cache'], documented: '<T>/home/.composer/cache/files' },
  {
    name: 'HOME with ~/.config/composer and ~/.composer/cache',
    dirs: ['home/.config/composer', 'home/.composer/cache'],
    documented: '<T>/home/.cache/composer/files',
  },
  { name: 'HOME + XDG_CACHE_HOME', env: { XDG_CACHE_HOME: '<T>/xc' }, documented: '<T>/xc/composer/files' },
  {
    name: 'legacy ~/.composer/cache + XDG_CACHE_HOME',
    dirs: ['home/.composer/cache'],
    env: { XDG_CACHE_HOME: '<T>/xc' },
    documented: '<T>/home/.composer/cache/files',
  },
  { name: 'COMPOSER_HOME + XDG_CACHE_HOME', env: { COMPOSER_HOME: '<T>/ch', XDG_CACHE_HOME: '<T>/xc' }, documented: '<T>/ch/cache/files' },
  { name: 'COMPOSER_HOME + COMPOSER_CACHE_DIR', env: { COMPOSER_HOME: '<T>/ch', COMPOSER_CACHE_DIR: '<T>/cc' }, documented: '<T>/cc/files' },
  { name: 'COMPOSER_CACHE_DIR + COMPOSER_CACHE_FILES_DIR', env: { COMPOSER_CACHE_DIR: '<T>/cc', COMPOSER_CACHE_FILES_DIR: '<T>/cfd' }, documented: '<T>/cfd' },
  { name: 'COMPOSER_CACHE_DIR set but empty', env: { COMPOSER_CACHE_DIR: '' }, documented: '<T>/proj//files' },
  {
    name: 'global config.json cache-dir',
    env: { COMPOSER_HOME: '<T>/ch' },
    files: { 'ch/config.json': { config: { 'cache-dir': '<T>/global-cache' } } },
    documented: '<T>/global-cache/files',
  },
  {
    name: 'project cache-dir (relative) beats global',
    env: { COMPOSER_HOME: '<T>/ch' },
    files: { 'ch/config.json': { config: { 'cache-dir': '<T>/global-cache' } } },
    project: { 'cache-dir': 'relcache' },
    documented: '<T>/proj/relcache/files',
  },
  {
    name: 'COMPOSER_CACHE_DIR beats project cache-dir',
    env: { COMPOSER_CACHE_DIR: '<T>/cc' },
    project: { 'cache-dir': 'relcache' },
    documented: '<T>/cc/files',
  },
  { name: 'project cache-dir ~/tildecache', project: { 'cache-dir': '~/tildecache' }, documented: '<T>/home/tildecache/files' },
  { name: 'project cache-dir $HOME/envcache', project: { 'cache-dir': '$HOME/envcache' }, documented: '<T>/home/envcache/files' },
  { name: 'project cache-dir %HOME%/pct', project: { 'cache-dir': '%HOME%/pct' } },
  {
    name: 'project cache-files-dir {$home}/myfiles',
    env: { COMPOSER_HOME: '<T>/ch' },
    project: { 'cache-files-dir': '{$home}/myfiles' },
    documented: '<T>/ch/myfiles',
  },
  {
    name: 'COMPOSER_CACHE_FILES_DIR beats project cache-files-dir',
    env: { COMPOSER_CACHE_FILES_DIR: '<T>/cfd' },
    project: { 'cache-files-dir': 'x' },
    documented: '<T>/cfd',
  },
  { name: 'COMPOSER_CACHE_DIR=/dev/null (what --no-cache sets)', env: { COMPOSER_CACHE_DIR: '/dev/null' }, documented: '/dev/null/files' },
  {
    name: 'global cache-files-dir relative to the project',
    env: { COMPOSER_HOME: '<T>/ch' },
    files: { 'ch/config.json': { config: { 'cache-files-dir': 'relfiles/' } } },
  },
  { name: 'relative COMPOSER_HOME', env: { COMPOSER_HOME: 'relhome' }, files: { 'proj/relhome/config.json': { config: { 'cache-files-ttl': 5 } } } },
  { name: 'trailing slashes trimmed, {$cache-dir} in cache-files-dir', project: { 'cache-dir': '<T>/abs//', 'cache-files-dir': '{$cache-dir}/arch/' } },
  {
    name: 'home from XDG_CONFIG_HOME with its config.json',
    dirs: ['xdgconf/composer'],
    env: { XDG_CONFIG_HOME: '<T>/xdgconf' },
    files: { 'xdgconf/composer/config.json': { config: { 'cache-dir': '{$home}/c' } } },
  },
  { name: '{$home} in project cache-dir with default home', project: { 'cache-dir': '{$home}/hc' } },
];

function sub(value: string, root: string): string {
  return value.split('<T>').join(root);
}

function subDeep(value: unknown, root: string): unknown {
  if (typeof value === 'string') return sub(value, root);
  if (Array.isArray(value)) return value.map((v) => subDeep(v, root));
  if (typeof value === 'object' && value !== null) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, subDeep(v, root)]));
  return value;
}

for (const c of composers)
  describe(`golden: cache-files-dir as \`composer config --absolute\` of Composer ${c.label} reports it`, { skip: c.skip }, () => {
    let base = '';
    const composer = c.composer?.bin ?? 'composer';
    before(() => {
      base = mkdtempSync(path.join(os.tmpdir(), 'cp-golden-cachedir-'));
    });
    after(() => {
      if (base !== '') rmSync(base, { recursive: true, force: true });
    });

    it(titled(c, 'every scenario matches real Composer'), async () => {
      const results = await Promise.all(
        SCENARIOS.map(async (scenario, i) => {
          const root = path.join(base, `s${i}`);
          const proj = path.join(root, 'proj');
          mkdirSync(path.join(root, 'home'), { recursive: true });
          mkdirSync(proj, { recursive: true });
          for (const dir of scenario.dirs ?? []) mkdirSync(path.join(root, dir), { recursive: true });
          for (const [file, content] of Object.entries(scenario.files ?? {})) {
            mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
            writeFileSync(path.join(root, file), JSON.stringify(subDeep(content, root)));
          }
          writeFileSync(path.join(proj, 'composer.json'), JSON.stringify(scenario.project ? { config: subDeep(scenario.project, root) } : {}));
          const env: Record<string, string> = {
            PATH: process.env['PATH'] ?? '/usr/bin:/bin',
            HOME: path.join(root, 'home'),
            COMPOSER_ALLOW_SUPERUSER: '1',
            COMPOSER_NO_INTERACTION: '1',
            COMPOSER_DISABLE_NETWORK: '1',
          };
          for (const [key, value] of Object.entries(scenario.env ?? {})) env[key] = sub(value, root);

          const { stdout } = await run(composer, ['config', '--absolute', 'cache-files-dir', '--no-ansi'], { cwd: proj, env, timeout: 30_000 });
          const actual = stdout.trim().split('\n').at(-1) ?? '';

          const e: Environment = { ...defaultEnvironment(), env, cwd: proj };
          const config = await loadComposerConfig({ cwd: proj, env, composerHome: resolveComposerHome(e) });
          const ours = resolveCacheDirs(e, { project: config.project, global: config.global });
          return { scenario, root, actual, ours };
        }),
      );
      for (const { scenario, root, actual, ours } of results) {
        assert.equal(ours.cacheFilesDir, actual, `${scenario.name} (our rule: ${ours.source})`);
        if (scenario.documented !== undefined) assert.equal(actual, sub(scenario.documented, root), `${scenario.name}: composer-cache.md §10.7`);
      }
    });
  });
