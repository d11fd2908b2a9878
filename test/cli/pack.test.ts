import assert from 'node:assert/strict';
import { cp, mkdir, readdir } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { execa } from 'execa';
import { binPath, repoRoot, tempDir } from '../helpers/run.js';

/**
 * The published package: stage exactly what `npm pack` would see (package.json, README, bin/ and
 * the build under test as dist/), pack it without scripts (prepack would rebuild into the shared
 * dist/), then run it through npx from an empty directory. `--offline` installs the runtime
 * dependencies from the npm cache that `npm ci` filled, so no network is needed.
 */
describe('npm pack → npx', () => {
  let root: string;
  let cleanup: () => Promise<void>;
  let tarball: string;
  let files: string[];

  before(async () => {
    ({ dir: root, cleanup } = await tempDir('cp-pack-'));
    const stage = path.join(root, 'stage');
    await mkdir(stage);
    // CP_TEST_BIN may point at another build's dist/cli/main.js; the default bin imports ../dist.
    const dist = binPath.endsWith(path.join('cli', 'main.js')) ? path.resolve(path.dirname(binPath), '..') : path.join(repoRoot, 'dist');
    await cp(path.join(repoRoot, 'package.json'), path.join(stage, 'package.json'));
    if (existsSync(path.join(repoRoot, 'README.md'))) await cp(path.join(repoRoot, 'README.md'), path.join(stage, 'README.md'));
    await cp(path.join(repoRoot, 'bin'), path.join(stage, 'bin'), { recursive: true });
    await cp(dist, path.join(stage, 'dist'), { recursive: true });
    const packed = await execa('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', root], { cwd: stage, env: { npm_config_update_notifier: 'false' } });
    const [info] = JSON.parse(packed.stdout) as { filename: string; files: { path: string }[] }[];
    tarball = path.join(root, info!.filename);
    files = info!.files.map((f) => f.path);
  });
  after(async () => cleanup());

  it('contains only bin/, dist/ (no source maps, no tests), README and package.json', () => {
    for (const file of files) {
      assert.match(file, /^(bin\/|dist\/|README\.md$|package\.json$|LICENSE)/, file);
      assert.doesNotMatch(file, /\.map$|\.test\.|(^|\/)test\//, file);
    }
    assert.ok(files.includes('bin/composer-prefetch.js'));
    assert.ok(files.includes('dist/cli/main.js'));
  });

  it('runs --help through npx from an empty directory', { timeout: 180_000 }, async () => {
    const work = path.join(root, 'work');
    await mkdir(work);
    await cp(tarball, path.join(work, path.basename(tarball)));
    const run = await execa('npx', ['--yes', '--offline', `./${path.basename(tarball)}`, '--help'], {
      cwd: work,
      reject: false,
      env: { npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false' },
      timeout: 170_000,
    });
    assert.equal(run.exitCode, 0, run.stderr);
    assert.match(run.stdout, /Usage: composer-prefetch/);
    assert.match(run.stdout, /--json/);
    assert.deepEqual(await readdir(work), [path.basename(tarball)], 'npx leaves the directory alone');
  });
});
