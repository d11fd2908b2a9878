import assert from 'node:assert/strict';
import { cp, mkdir, readdir, readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { execa } from 'execa';
import { LoopbackNpmRegistry, packThisBuild } from '../helpers/npm-registry.js';
import { binPath, repoRoot, tempDir } from '../helpers/run.js';

/**
 * The published package: stage exactly what `npm pack` would see (package.json, README, LICENSE,
 * CHANGELOG, bin/ and the build under test as dist/), pack it without scripts (prepack would rebuild into the shared
 * dist/), then run it through npx from an empty directory. npx resolves the runtime dependencies
 * against a loopback registry built from the installed production dependencies, with a private,
 * empty npm cache: the test needs neither the public registry nor a warm cache.
 */
describe('npm pack → npx', () => {
  let root: string;
  let cleanup: () => Promise<void>;
  let tarball: string;
  let files: string[];
  const registry = new LoopbackNpmRegistry();

  before(async () => {
    ({ dir: root, cleanup } = await tempDir('cp-pack-'));
    await registry.publishProductionDependencies(repoRoot);
    await registry.start();
    ({ tarball, files } = await packThisBuild(root, repoRoot, binPath));
  });
  after(async () => {
    await registry.stop();
    await cleanup();
  });

  it('contains only bin/, dist/ (no source maps, no tests), README, LICENSE, CHANGELOG and package.json', () => {
    for (const file of files) {
      assert.match(file, /^(bin\/|dist\/|README\.md$|package\.json$|LICENSE$|CHANGELOG\.md$)/, file);
      assert.doesNotMatch(file, /\.map$|\.test\.|(^|\/)test\//, file);
    }
    assert.ok(files.includes('bin/composer-prefetch.js'));
    assert.ok(files.includes('dist/cli/main.js'));
  });

  it('runs --help through npx from an empty directory, with an empty npm cache', { timeout: 180_000 }, async () => {
    const work = path.join(root, 'work');
    await mkdir(work);
    await cp(tarball, path.join(work, path.basename(tarball)));
    const run = await execa('npx', ['--yes', '--registry', registry.url, `./${path.basename(tarball)}`, '--help'], {
      cwd: work,
      reject: false,
      env: await registry.npmConfig(root),
      timeout: 170_000,
    });
    assert.equal(run.exitCode, 0, run.stderr);
    const { dependencies } = JSON.parse(await readFile(path.join(repoRoot, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    for (const name of Object.keys(dependencies)) {
      assert.ok(registry.requests.includes(`/${name}`), `${name} was resolved through the loopback registry`);
    }
    assert.match(run.stdout, /Usage: composer-prefetch/);
    assert.match(run.stdout, /--json/);
    assert.deepEqual(await readdir(work), [path.basename(tarball)], 'npx leaves the directory alone');
  });
});

/**
 * What `npm pack` of the repository itself would publish, as npm reports it (`--dry-run --json`,
 * scripts off: prepack would rebuild). It reads package.json `files`, so this guards the real
 * selection, not a staged copy.
 */
describe('npm pack --dry-run', () => {
  // Packed 136 kB / unpacked 440 kB at 0.1.0, 247 kB / 774 kB before the source-trust, newest-
  // Composer and terminal work of 2026-12-06, 271 kB / 850 kB after it (README 65 kB of it): the
  // bound leaves room to grow, but catches a stray folder (tests with their fixtures are over
  // 2 MB, maps, bench fixtures, node_modules) getting in.
  const maxPackedBytes = 320 * 1024;
  const maxUnpackedBytes = 1024 * 1024;
  let info: { size: number; unpackedSize: number; files: { path: string }[] };

  before(async () => {
    assert.ok(existsSync(path.join(repoRoot, 'dist', 'cli', 'main.js')), 'dist/ is built (npm run pretest)');
    const packed = await execa('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: repoRoot, env: { npm_config_update_notifier: 'false' } });
    const [first] = JSON.parse(packed.stdout) as (typeof info)[];
    assert.ok(first);
    info = first;
  });

  it('holds bin/, dist/ without maps, README.md, LICENSE, CHANGELOG.md, package.json and nothing else', () => {
    const files = info.files.map((f) => f.path).sort();
    const topLevel = [...new Set(files.map((f) => f.split('/')[0]))].sort();
    assert.deepEqual(topLevel, ['CHANGELOG.md', 'LICENSE', 'README.md', 'bin', 'dist', 'package.json']);
    for (const file of files) assert.doesNotMatch(file, /\.map$|\.tsbuildinfo$|(^|\/)test\//, file);
    assert.deepEqual(
      files.filter((f) => f.startsWith('bin/')),
      ['bin/composer-prefetch.js'],
    );
    assert.ok(files.includes('dist/cli/main.js'));
    assert.ok(files.includes('dist/index.js') && files.includes('dist/index.d.ts'), 'the library entry point of package.json exports');
  });

  it(`stays under ${maxPackedBytes / 1024} KiB packed and ${maxUnpackedBytes / 1024} KiB unpacked`, () => {
    assert.ok(info.size < maxPackedBytes, `packed ${info.size} bytes`);
    assert.ok(info.unpackedSize < maxUnpackedBytes, `unpacked ${info.unpackedSize} bytes`);
  });
});
