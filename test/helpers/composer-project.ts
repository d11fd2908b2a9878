/**
 * A real Composer project against a loopback repository, shared by the end-to-end tests of
 * both backends (test/e2e/composer-install.test.ts, test/e2e/aria2-composer.test.ts).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { composerPackageTarGz, composerPackageZip } from './archives.js';
import { DistServer } from './dist-server.js';
import { isolatedEnv, runComposer, tempDir } from './run.js';

const sha1 = (b: Buffer): string => createHash('sha1').update(b).digest('hex');
const ref = (name: string): string => sha1(Buffer.from(name));

export interface Built {
  server: DistServer;
  root: string;
  project: string;
  env: Record<string, string>;
  cleanup: () => Promise<void>;
  distPaths: Set<string>;
  expectedVendor: string[];
}

/**
 * A real Composer project against a loopback repository: 26 plain zips (half with a sha1 in the
 * lock, half without), a package behind a preferred dist mirror, one with a %placeholder% dist
 * URL, a tar dist (gzip-compressed), a source-only package (a local git repo) and two dev
 * packages. Real Composer writes the lock with `update --no-install`, which downloads no dist.
 */
export async function buildProject(composer?: string): Promise<Built> {
  const { dir: root, cleanup: removeRoot } = await tempDir('cp-e2e-');
  const server = await new DistServer().start();
  const o = server.origin;
  const distPaths = new Set<string>();
  const packages: Record<string, Record<string, unknown>> = {};
  const mirrored: Record<string, Record<string, unknown>> = {};
  const require: Record<string, string> = {};
  const requireDev: Record<string, string> = {};
  const expectedVendor: string[] = [];

  const addZip = (name: string, version: string, opts: { shasum: boolean; dev?: boolean }): void => {
    const zip = composerPackageZip(name, version);
    const p = `/dists/${name.replace('/', '-')}-${version}.zip`;
    server.add(p, zip);
    distPaths.add(p);
    packages[name] = {
      [version]: { name, version, type: 'library', dist: { type: 'zip', url: `${o}${p}`, reference: ref(name), shasum: opts.shasum ? sha1(zip) : '' } },
    };
    (opts.dev ? requireDev : require)[name] = version;
    expectedVendor.push(name);
  };
  for (let i = 1; i <= 26; i++) addZip(`acme/lib${String(i).padStart(2, '0')}`, `1.${i}.0`, { shasum: i % 2 === 0 });
  addZip('acme/dev-one', '2.0.0', { shasum: true, dev: true });
  addZip('acme/dev-two', '2.1.0', { shasum: false, dev: true });

  // Placeholder dist URL: Composer ≥2.1 expands it before hashing (`Package::getUrls`).
  {
    const name = 'acme/zeta';
    const zip = composerPackageZip(name, 'v1.0.0');
    const p = `/ph/${name}/v1.0.0/1.0.0.0/${ref(name)}.zip`;
    server.add(p, zip);
    distPaths.add(p);
    packages[name] = {
      'v1.0.0': {
        name,
        version: 'v1.0.0',
        dist: { type: 'zip', url: `${o}/ph/%package%/%prettyVersion%/%version%/%reference%.%type%`, reference: ref(name), shasum: '' },
      },
    };
    require[name] = 'v1.0.0';
    expectedVendor.push(name);
  }
  // A github-domains host (127.0.0.1 here): Composer pins the URL to dist.reference before it
  // hashes *and* before it downloads (`Url::updateDistReference`); the unpinned URL serves
  // another package, so fetching the URL as written would install the wrong tree.
  {
    const name = 'acme/pinned';
    const pinned = `/api/v3/repos/acme/pinned/zipball/${ref(name)}`;
    server.add(pinned, composerPackageZip(name, '1.0.0'));
    server.add('/api/v3/repos/acme/pinned/zipball/v1.0.0', composerPackageZip('acme/wrong-tree', '1.0.0'));
    distPaths.add(pinned);
    distPaths.add('/api/v3/repos/acme/pinned/zipball/v1.0.0');
    packages[name] = {
      '1.0.0': { name, version: '1.0.0', dist: { type: 'zip', url: `${o}/api/v3/repos/acme/pinned/zipball/v1.0.0`, reference: ref(name), shasum: '' } },
    };
    require[name] = '1.0.0';
    expectedVendor.push(name);
  }
  // tar dist whose bytes are gzip-compressed: stored as .tar, validated from the bytes.
  {
    const name = 'acme/gamma';
    const tgz = composerPackageTarGz(name, '1.0.0');
    const p = '/dists/acme-gamma-1.0.0.tar.gz';
    server.add(p, tgz);
    distPaths.add(p);
    packages[name] = { '1.0.0': { name, version: '1.0.0', dist: { type: 'tar', url: `${o}${p}`, reference: ref(name) } } };
    require[name] = '1.0.0';
    expectedVendor.push(name);
  }
  // Preferred mirror, from a second repository's packages.json "mirrors".
  {
    const name = 'acme/epsilon';
    const zip = composerPackageZip(name, '1.0.0');
    server.add('/dists/acme-epsilon-1.0.0.zip', zip);
    const mp = `/mirror/${name}/1.0.0.0-${ref(name)}.zip`;
    server.add(mp, zip);
    distPaths.add('/dists/acme-epsilon-1.0.0.zip');
    distPaths.add(mp);
    mirrored[name] = { '1.0.0': { name, version: '1.0.0', dist: { type: 'zip', url: `${o}/dists/acme-epsilon-1.0.0.zip`, reference: ref(name), shasum: '' } } };
    require[name] = '1.0.0';
    expectedVendor.push(name);
  }
  // Source-only: a local git repository; nothing to prefetch, Composer clones it.
  {
    const name = 'acme/source-only';
    const repo = path.join(root, 'git', 'source-only');
    await mkdir(repo, { recursive: true });
    await writeFile(path.join(repo, 'composer.json'), JSON.stringify({ name }));
    const git = (args: string[]) =>
      execa('git', args, {
        cwd: repo,
        env: { GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@t', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@t', PATH: process.env['PATH'] ?? '' },
      });
    await git(['init', '-q']);
    await git(['add', '.']);
    await git(['commit', '-qm', 'init']);
    const head = (await git(['rev-parse', 'HEAD'])).stdout.trim();
    packages[name] = { '1.0.0': { name, version: '1.0.0', source: { type: 'git', url: repo, reference: head } } };
    require[name] = '1.0.0';
    expectedVendor.push(name);
  }

  server.add('/packages.json', Buffer.from(JSON.stringify({ packages })), { contentType: 'application/json' });
  server.add(
    '/m/packages.json',
    Buffer.from(JSON.stringify({ packages: mirrored, mirrors: [{ 'dist-url': `${o}/mirror/%package%/%version%-%reference%.%type%`, preferred: true }] })),
    { contentType: 'application/json' },
  );

  const project = path.join(root, 'project');
  await mkdir(project, { recursive: true });
  await writeFile(
    path.join(project, 'composer.json'),
    JSON.stringify(
      {
        name: 'test/project',
        require,
        'require-dev': requireDev,
        repositories: [{ type: 'composer', url: o }, { type: 'composer', url: `${o}/m` }, { 'packagist.org': false }],
        config: { 'secure-http': false, 'github-domains': ['127.0.0.1'] },
      },
      null,
      2,
    ),
  );
  const env = isolatedEnv(root);
  const update = await runComposer(['update', '--no-install', '--no-plugins', '--no-scripts', '--ignore-platform-reqs'], { cwd: project, env, composer });
  assert.equal(update.exitCode, 0, `composer update failed:\n${update.stderr}`);
  return {
    server,
    root,
    project,
    env,
    distPaths,
    expectedVendor,
    cleanup: async () => {
      await server.stop();
      await removeRoot();
    },
  };
}
