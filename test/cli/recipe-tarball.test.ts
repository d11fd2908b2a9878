import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { execa } from 'execa';
import { LoopbackNpmRegistry, packThisBuild } from '../helpers/npm-registry.js';
import { binPath, repoRoot, tempDir } from '../helpers/run.js';

const readme = await readFile(path.join(repoRoot, 'README.md'), 'utf8');
const { version } = JSON.parse(await readFile(path.join(repoRoot, 'package.json'), 'utf8')) as { version: string };

/** The README section that starts with `heading` (up to the next heading of that level or above). */
function section(heading: string): string {
  const start = readme.indexOf(`\n${heading}\n`);
  assert.ok(start >= 0, `README has ${heading}`);
  const level = heading.split(' ')[0]!.length;
  const rest = readme.slice(start + heading.length + 2);
  const end = rest.search(new RegExp(`\\n#{1,${level}} `));
  return end < 0 ? rest : rest.slice(0, end);
}

const tarballName = `composer-prefetch-${version}.tgz`;

/**
 * The recipes' "before it is published" form: build the tarball in a clone (npm ci first, then
 * npm pack), install it globally, run `composer-prefetch`. Checked on the text of each recipe, and
 * by running its install line against the tarball of this build and a loopback registry.
 */
describe('README: a recipe form that works before the package is published', () => {
  it('Quick start runs npm ci before npm pack', () => {
    const quick = section('## Quick start');
    const ci = quick.search(/^npm ci\b/m);
    const pack = quick.search(/^npm pack\b/m);
    assert.ok(ci >= 0 && pack > ci, 'npm ci comes before npm pack');
    assert.match(quick, /tsc: not found/, 'says what npm pack does without it');
  });

  for (const recipe of ['### GitHub Actions', '### GitLab CI', '### Dockerfile layer']) {
    it(`${recipe}: the published form and the tarball form`, () => {
      const text = section(recipe);
      assert.match(text, /npx --yes composer-prefetch/, 'the published form');
      assert.match(text, /git clone --depth 1 \S+ \/tmp\/composer-prefetch/);
      assert.match(text, /\(cd \/tmp\/composer-prefetch && npm ci && npm pack --pack-destination \/tmp\)/);
      assert.ok(text.includes(`npm install --global /tmp/${tarballName}`), `installs ${tarballName} (the version in package.json)`);
    });
  }

  describe('the install line, run', () => {
    let root: string;
    let cleanup: () => Promise<void>;
    let tarball: string;
    const registry = new LoopbackNpmRegistry();

    before(async () => {
      ({ dir: root, cleanup } = await tempDir('cp-recipe-'));
      await registry.publishProductionDependencies(repoRoot);
      await registry.start();
      // As in pack.test.ts: exactly what npm pack would see, this build as dist/, no scripts run.
      ({ tarball } = await packThisBuild(root, repoRoot, binPath));
      assert.equal(path.basename(tarball), tarballName);
    });
    after(async () => {
      await registry.stop();
      await cleanup();
    });

    it('npm install --global <tarball>, then composer-prefetch runs', { timeout: 180_000 }, async () => {
      const line = section('## Recipes')
        .split('\n')
        .find((l) => l.startsWith('npm install --global '));
      assert.ok(line !== undefined, 'the shared install line');
      // The README's line, with this build's tarball and a private global prefix.
      const args = line.replace(`/tmp/${tarballName}`, tarball).split(' ').slice(1);
      const prefix = path.join(root, 'global');
      const env = {
        PATH: process.env['PATH'] ?? '/usr/bin:/bin',
        HOME: path.join(root, 'home'),
        npm_config_prefix: prefix,
        ...(await registry.npmConfig(root)),
      };
      const install = await execa('npm', args, { cwd: root, env, extendEnv: false, reject: false, timeout: 170_000 });
      assert.equal(install.exitCode, 0, install.stderr);
      const run = await execa(path.join(prefix, 'bin', 'composer-prefetch'), ['--version'], { cwd: root, env, extendEnv: false, reject: false });
      assert.equal(run.exitCode, 0, run.stderr);
      assert.match(run.stdout, new RegExp(`^composer-prefetch ${version.replace(/[.]/g, '\\.')} `));
    });
  });
});
