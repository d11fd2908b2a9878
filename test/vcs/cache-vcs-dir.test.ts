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
import { requirePhp } from '../helpers/composer-php.js';
import { composers, titled, type RealComposer } from '../helpers/composers.js';

const run = promisify(execFile);

const SCENARIOS: readonly { name: string; env?: Record<string, string>; project?: Record<string, unknown>; global?: Record<string, unknown> }[] = [
  { name: 'HOME only' },
  { name: 'COMPOSER_CACHE_DIR', env: { COMPOSER_CACHE_DIR: '<T>/cc' } },
  { name: 'COMPOSER_CACHE_VCS_DIR beats COMPOSER_CACHE_DIR', env: { COMPOSER_CACHE_DIR: '<T>/cc', COMPOSER_CACHE_VCS_DIR: '<T>/vcs' } },
  { name: 'project cache-vcs-dir, relative', project: { 'cache-vcs-dir': 'myvcs/' } },
  {
    name: 'global cache-vcs-dir, project cache-dir',
    env: { COMPOSER_HOME: '<T>/ch' },
    global: { 'cache-vcs-dir': '{$cache-dir}/g' },
    project: { 'cache-dir': '<T>/pc' },
  },
  { name: 'COMPOSER_HOME', env: { COMPOSER_HOME: '<T>/ch' } },
];

const sub = (v: unknown, root: string): unknown =>
  typeof v === 'string'
    ? v.split('<T>').join(root)
    : v !== null && typeof v === 'object'
      ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, sub(x, root)]))
      : v;

/**
 * The folder `GitDownloader` keeps a mirror of `url` in, by the rule as this Composer's own
 * GitDownloader.php writes it (`'cache-vcs-dir').'/'.<rule>.'/'`), run by its PHP: 2.5.5 has
 * `Preg::replace('{[^a-z0-9.]}i', '-', $url)`, newer ones mask credentials first (`Url::sanitize`).
 * Read from the source, not restated here, so a change of the rule in a new Composer shows up.
 */
async function composerMirrorDirNames(composer: RealComposer, urls: readonly string[]): Promise<{ rule: string; names: string[] }> {
  const code = `require ${JSON.stringify(composer.autoload)};
    $src = file_get_contents((new ReflectionClass(Composer\\Downloader\\GitDownloader::class))->getFileName());
    if (!preg_match_all("{->get\\('cache-vcs-dir'\\)\\s*\\.\\s*'/'\\s*\\.\\s*(.+?)\\s*\\.\\s*'/';}", $src, $m) || count(array_unique($m[1])) !== 1) { fwrite(STDERR, "GitDownloader.php: no single cache-vcs-dir rule\\n"); exit(1); }
    $rule = eval('namespace Composer\\Downloader; use Composer\\Pcre\\Preg; use Composer\\Util\\Url; return static fn ($url) => ' . $m[1][0] . ';');
    echo json_encode(['rule' => $m[1][0], 'names' => array_map($rule, json_decode(stream_get_contents(STDIN)))]);`;
  const child = execFile(requirePhp(), ['-r', code]);
  child.stdin!.end(JSON.stringify(urls));
  const out = await new Promise<string>((resolve, reject) => {
    let text = '';
    let errors = '';
    child.stdout!.on('data', (d: Buffer) => (text += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (errors += d.toString()));
    child.on('error', reject);
    child.on('close', (status) => (status === 0 ? resolve(text) : reject(new Error(`php exited ${status}: ${errors}`))));
  });
  return JSON.parse(out) as { rule: string; names: string[] };
}

const PLAIN_URLS = [
  'https://github.com/mautic/SpBundle.git',
  'git@gitee.com:a/b.git',
  'ssh://git@h.example:2222/x/y',
  'https://h.example/ä/😀',
  'https://codeberg.org/icewind/SMB',
];
/** Credentials in the URL: newer Composers' GitDownloader names the folder after the masked URL. */
const CREDENTIAL_URLS = [
  'https://u:p@h.example/ä/😀',
  'https://x-token-auth:tok@bitbucket.org/a/b.git',
  'https://ghp_0123456789abcdefghij0123456789abcdef@github.com/a/b.git',
];

for (const c of composers)
  describe(`golden: cache-vcs-dir and the mirror folder name, as real Composer ${c.label} has them`, { skip: c.skip }, () => {
    let base = '';
    const composer = c.composer?.bin ?? 'composer';
    before(() => {
      base = mkdtempSync(path.join(os.tmpdir(), 'cp-golden-vcsdir-'));
    });
    after(() => {
      if (base !== '') rmSync(base, { recursive: true, force: true });
    });

    it(titled(c, 'every scenario matches `composer config --absolute cache-vcs-dir`'), async () => {
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
          const env: Record<string, string> = {
            PATH: process.env['PATH'] ?? '/usr/bin:/bin',
            HOME: path.join(root, 'home'),
            COMPOSER_ALLOW_SUPERUSER: '1',
            COMPOSER_NO_INTERACTION: '1',
            COMPOSER_DISABLE_NETWORK: '1',
          };
          for (const [k, v] of Object.entries(scenario.env ?? {})) env[k] = sub(v, root) as string;
          const { stdout } = await run(composer, ['config', '--absolute', 'cache-vcs-dir', '--no-ansi'], { cwd: proj, env, timeout: 30_000 });
          const e: Environment = { ...defaultEnvironment(), env, cwd: proj };
          const config = await loadComposerConfig({ cwd: proj, env, composerHome: resolveComposerHome(e) });
          return {
            name: scenario.name,
            actual: stdout.trim().split('\n').at(-1) ?? '',
            ours: resolveCacheDirs(e, { project: config.project, global: config.global }).cacheVcsDir,
          };
        }),
      );
      for (const { name, actual, ours } of results) assert.equal(ours, actual, name);
    });

    it(titled(c, "mirrorDirName equals the folder name of GitDownloader::doDownload's rule"), async () => {
      const { rule, names } = await composerMirrorDirNames(c.composer!, PLAIN_URLS);
      assert.deepEqual(PLAIN_URLS.map(mirrorDirName), names, rule);
    });

    // Composer ≥ 2.10.2 masks credentials before naming the folder (`Url::sanitize`), and so does
    // mirrorDirName: no secret in a folder name. 2.5.5 named it after the URL as written, password
    // and all; that difference is documented (README, Source packages) and asserted, not followed.
    it(
      titled(c, "a URL with credentials: mirrorDirName equals the masked folder name of newer Composers' GitDownloader::doDownload, and differs from 2.5.5's"),
      async () => {
        const { rule, names } = await composerMirrorDirNames(c.composer!, CREDENTIAL_URLS);
        if (rule.includes('Url::sanitize')) assert.deepEqual(CREDENTIAL_URLS.map(mirrorDirName), names, rule);
        else for (const [i, url] of CREDENTIAL_URLS.entries()) assert.notEqual(mirrorDirName(url), names[i], `${rule}: ${url}`);
      },
    );
  });
