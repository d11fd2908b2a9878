import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { cp, mkdir, readdir, readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { execa } from 'execa';
import { makeTarGz, type ArchiveEntry } from './archives.js';
import { listenOnLoopback, type Loopback } from './loopback.js';

/** One package version as the registry serves it: its package.json and its tarball. */
interface PublishedVersion {
  readonly manifest: Record<string, unknown>;
  readonly tarball: Buffer;
  /** Where the registry serves the tarball: `/<name>/-/<basename>-<version>.tgz`. */
  readonly tarballPath: string;
}

interface LockEntry {
  readonly version?: string;
  readonly dev?: boolean;
  readonly link?: boolean;
}

/**
 * A loopback npm registry holding the project's production dependencies exactly as `npm ci`
 * installed them (package-lock.json names them, node_modules holds their files). Packuments
 * and tarballs are built from those folders, so `npm install` / `npx` of the packed package
 * works with an empty npm cache and without the public registry.
 */
export class LoopbackNpmRegistry {
  readonly #packages = new Map<string, Map<string, PublishedVersion>>();
  readonly #tarballs = new Map<string, Buffer>();
  #loopback: Loopback | undefined;
  /** Request paths in arrival order (decoded), to prove the registry was the one asked. */
  readonly requests: string[] = [];
  #server: Server | undefined;

  get url(): string {
    const address = this.#server?.address() as AddressInfo | undefined;
    if (!address) throw new Error('registry not started');
    return `http://127.0.0.1:${address.port}/`;
  }

  /**
   * npm's settings for a run against this registry alone, with a fresh cache at `<root>/npm-cache`:
   * the developer's ~/.npmrc (other registries, auth, offline settings) stays out of it, and npm
   * asks nothing else of the network (update notifier, funding, audit).
   */
  async npmConfig(root: string): Promise<Record<string, string>> {
    const cache = path.join(root, 'npm-cache');
    await mkdir(cache);
    return {
      npm_config_cache: cache,
      npm_config_registry: this.url,
      npm_config_userconfig: path.join(root, 'no-npmrc'),
      npm_config_offline: 'false',
      npm_config_prefer_offline: 'false',
      npm_config_update_notifier: 'false',
      npm_config_fund: 'false',
      npm_config_audit: 'false',
    };
  }

  /** Names of the packages it serves. */
  get names(): string[] {
    return [...this.#packages.keys()].sort();
  }

  /** Publish every non-dev package of `<root>/package-lock.json` from `<root>/node_modules`. */
  async publishProductionDependencies(root: string): Promise<void> {
    const lock = JSON.parse(await readFile(path.join(root, 'package-lock.json'), 'utf8')) as { packages?: Record<string, LockEntry> };
    for (const [location, entry] of Object.entries(lock.packages ?? {})) {
      if (location === '' || entry.dev === true || entry.link === true) continue;
      await this.publishFolder(path.join(root, location));
    }
  }

  /** Publish one installed package folder (its nested node_modules left out, as npm packs it). */
  async publishFolder(folder: string): Promise<void> {
    const manifest = JSON.parse(await readFile(path.join(folder, 'package.json'), 'utf8')) as Record<string, unknown>;
    const name = String(manifest['name']);
    const version = String(manifest['version']);
    const entries: ArchiveEntry[] = [];
    for (const file of await listFiles(folder)) {
      entries.push({ name: `package/${file}`, content: await readFile(path.join(folder, file)) });
    }
    const tarball = makeTarGz(entries);
    const tarballPath = `/${name}/-/${name.split('/').pop()}-${version}.tgz`;
    this.#tarballs.set(tarballPath, tarball);
    const versions = this.#packages.get(name) ?? new Map<string, PublishedVersion>();
    versions.set(version, { manifest, tarball, tarballPath });
    this.#packages.set(name, versions);
  }

  async start(): Promise<this> {
    this.#server = createServer((req, res) => {
      const requestPath = decodeURIComponent((req.url ?? '/').split('?')[0]!);
      this.requests.push(requestPath);
      const tarball = this.#tarballs.get(requestPath);
      if (tarball) return void res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': tarball.length }).end(tarball);
      const packument = this.#packument(requestPath.slice(1));
      if (!packument) return void res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"Not found"}');
      const body = Buffer.from(JSON.stringify(packument));
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length }).end(body);
    });
    this.#loopback = await listenOnLoopback(this.#server);
    return this;
  }

  async stop(): Promise<void> {
    await this.#loopback?.close();
  }

  #packument(name: string): Record<string, unknown> | undefined {
    const versions = this.#packages.get(name);
    if (!versions) return undefined;
    const documents: Record<string, unknown> = {};
    let latest = '';
    for (const [version, { manifest, tarball, tarballPath }] of versions) {
      documents[version] = {
        ...manifest,
        dist: {
          tarball: `${this.url}${tarballPath.slice(1)}`,
          integrity: `sha512-${createHash('sha512').update(tarball).digest('base64')}`,
          shasum: createHash('sha1').update(tarball).digest('hex'),
        },
      };
      if (latest === '' || compareVersions(version, latest) > 0) latest = version;
    }
    return { name, 'dist-tags': { latest }, versions: documents };
  }
}

/** Files below `folder`, relative, sorted; nested node_modules and symlinks are not part of a package. */
async function listFiles(folder: string, prefix = ''): Promise<string[]> {
  const files: string[] = [];
  const entries = await readdir(path.join(folder, prefix), { withFileTypes: true });
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const entry of entries) {
    const relative = prefix === '' ? entry.name : `${prefix}/${entry.name}`;
    if (entry.isDirectory()) {
      if (entry.name === 'node_modules') continue;
      files.push(...(await listFiles(folder, relative)));
    } else if (entry.isFile()) {
      files.push(relative);
    }
  }
  return files;
}

/** Release versions only (what package-lock.json holds here): numeric x.y.z comparison. */
function compareVersions(a: string, b: string): number {
  const pa = a.split(/[.+-]/).map(Number);
  const pb = b.split(/[.+-]/).map(Number);
  for (let i = 0; i < 3; i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/**
 * `npm pack` of this build, exactly as npm would pack it, without running any script: a stage
 * folder with package.json, the docs, bin/ and this build's dist/ (CP_TEST_BIN may point at another
 * build's dist/cli/main.js; the default bin imports ../dist). Returns the tarball and its file list.
 */
export async function packThisBuild(root: string, repoRoot: string, binPath: string): Promise<{ tarball: string; files: string[] }> {
  const stage = path.join(root, 'stage');
  await mkdir(stage);
  const dist = binPath.endsWith(path.join('cli', 'main.js')) ? path.resolve(path.dirname(binPath), '..') : path.join(repoRoot, 'dist');
  await cp(path.join(repoRoot, 'package.json'), path.join(stage, 'package.json'));
  for (const doc of ['README.md', 'LICENSE', 'CHANGELOG.md']) {
    if (existsSync(path.join(repoRoot, doc))) await cp(path.join(repoRoot, doc), path.join(stage, doc));
  }
  await cp(path.join(repoRoot, 'bin'), path.join(stage, 'bin'), { recursive: true });
  await cp(dist, path.join(stage, 'dist'), { recursive: true });
  const packed = await execa('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', root], {
    cwd: stage,
    env: { npm_config_update_notifier: 'false' },
  });
  const [info] = JSON.parse(packed.stdout) as { filename: string; files: { path: string }[] }[];
  return { tarball: path.join(root, info!.filename), files: info!.files.map((f) => f.path) };
}
