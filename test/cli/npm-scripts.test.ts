import assert from 'node:assert/strict';
import { cp, readFile, stat, symlink } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { execa } from 'execa';
import { repoRoot, tempDir } from '../helpers/run.js';

interface Manifest {
  readonly scripts: Record<string, string>;
  readonly files: readonly string[];
}

const npm = (args: readonly string[], cwd: string) => execa('npm', [...args], { cwd, reject: false, env: { npm_config_update_notifier: 'false' } });

describe('npm scripts', () => {
  let manifest: Manifest;
  let root: string;
  let cleanup: () => Promise<void>;
  before(async () => {
    manifest = JSON.parse(await readFile(path.join(repoRoot, 'package.json'), 'utf8')) as Manifest;
    ({ dir: root, cleanup } = await tempDir('cp-npm-scripts-'));
  });
  after(async () => cleanup());

  it('nothing runs when the package is installed: no prepare or install scripts; npm pack builds with prepack', () => {
    // npm runs `prepare` on `npm install` of a git dependency or a folder, where TypeScript is not installed.
    for (const name of ['prepare', 'preinstall', 'install', 'postinstall']) assert.equal(manifest.scripts[name], undefined, `no ${name} script`);
    assert.match(manifest.scripts['prepack'] ?? '', /npm run --silent build/);
    assert.ok(!manifest.files.some((f) => f.startsWith('scripts')), 'the build helper is not published');
  });

  it('npm start builds a clone without dist/ once, and never again while dist/ is current', { timeout: 180_000 }, async () => {
    const clone = path.join(root, 'clone');
    for (const entry of ['package.json', 'tsconfig.json', 'tsconfig.build.json', 'src', 'bin', 'scripts'])
      await cp(path.join(repoRoot, entry), path.join(clone, entry), { recursive: true });
    await symlink(path.join(repoRoot, 'node_modules'), path.join(clone, 'node_modules'));

    const first = await npm(['start', '--silent', '--', '--version'], clone);
    assert.equal(first.exitCode, 0, String(first.stderr));
    assert.match(String(first.stderr), /building dist\/ \(tsc\)/);
    assert.match(String(first.stdout), /^composer-prefetch \d/, 'stdout holds only what the CLI prints');
    const built = (await stat(path.join(clone, 'dist', 'cli', 'main.js'))).mtimeMs;

    const second = await npm(['start', '--silent', '--', '--version'], clone);
    assert.equal(second.exitCode, 0, String(second.stderr));
    assert.doesNotMatch(String(second.stderr), /building/);
    assert.equal((await stat(path.join(clone, 'dist', 'cli', 'main.js'))).mtimeMs, built, 'dist/ untouched');
  });
});
