import { createHash } from 'node:crypto';
import { type Dirent, existsSync, readdirSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import yauzl from 'yauzl';
import { makeZip } from '../helpers/archives.js';
import { DistServer, type Fault } from '../helpers/dist-server.js';
import { isolatedEnv, runCli, tempDir } from '../helpers/run.js';

export const sha1 = (b: Buffer): string => createHash('sha1').update(b).digest('hex');

/** A package zip Composer can install (one top-level dir), padded to `kib` so a mid-body fault leaves a real partial. */
export function packageZip(name: string, version: string, kib: number): Buffer {
  const top = `${name.replace('/', '-')}-${version}/`;
  const filler = Buffer.alloc(kib * 1024);
  for (let i = 0; i < filler.length; i++) filler[i] = (i * 131 + name.length * 7) & 0xff;
  return makeZip([{ name: top }, { name: `${top}composer.json`, content: JSON.stringify({ name, version }) }, { name: `${top}data.bin`, content: filler }]);
}

export interface LockPackage {
  readonly name: string;
  readonly version: string;
  readonly path: string;
  readonly zip: Buffer;
  readonly shasum: boolean;
  readonly faults: readonly (readonly [Fault, number])[];
  /** A preferred mirror that is down for good: the file must come from dist.url and land under the mirror's key. */
  readonly deadMirror?: boolean;
}

export interface Project {
  readonly server: DistServer;
  readonly root: string;
  readonly project: string;
  readonly env: Record<string, string>;
  readonly packages: readonly LockPackage[];
  readonly distPaths: ReadonlySet<string>;
  /** Arms every package's faults again (each bounded per path). */
  armFaults(): void;
  cleanup(): Promise<void>;
}

/**
 * A project with a composer.lock written directly (Composer installs from a lock whose
 * content-hash does not match composer.json, with a warning) and a loopback dist server.
 */
export async function buildProject(
  specs: readonly Omit<LockPackage, 'path' | 'zip'>[],
  options: { kib?: (i: number) => number; throttle?: { bytes: number; ms: number }; zip?: (name: string, version: string, i: number) => Buffer } = {},
): Promise<Project> {
  const { dir: root, cleanup: removeRoot } = await tempDir('cp-resil-');
  const server = await new DistServer().start();
  const o = server.origin;
  const packages: LockPackage[] = specs.map((spec, i) => {
    const zip = options.zip?.(spec.name, spec.version, i) ?? packageZip(spec.name, spec.version, options.kib?.(i) ?? 8);
    const p = `/dists/${spec.name.replace('/', '-')}-${spec.version}.zip`;
    server.add(p, zip, options.throttle ? { throttle: options.throttle } : {});
    return { ...spec, path: p, zip };
  });
  // Preferred mirrors are down for good (500), bounded or not: fallback must go to dist.url.
  server.intercept = (req, res) => {
    if (!(req.url ?? '').startsWith('/mirror/')) return false;
    res.writeHead(500, { 'content-type': 'text/html' });
    res.end('<html>mirror down</html>');
    return true;
  };
  const lockPackages = packages.map((p) => ({
    name: p.name,
    version: p.version,
    type: 'library',
    dist: {
      type: 'zip',
      url: `${o}${p.path}`,
      reference: sha1(Buffer.from(p.name)),
      shasum: p.shasum ? sha1(p.zip) : '',
      ...(p.deadMirror ? { mirrors: [{ url: `${o}/mirror/%package%/%version%-%reference%.%type%`, preferred: true }] } : {}),
    },
  }));
  const project = path.join(root, 'project');
  await mkdir(project, { recursive: true });
  await writeFile(
    path.join(project, 'composer.json'),
    JSON.stringify(
      { name: 'test/resilience', require: Object.fromEntries(packages.map((p) => [p.name, p.version])), config: { 'secure-http': false } },
      null,
      2,
    ),
  );
  await writeFile(
    path.join(project, 'composer.lock'),
    JSON.stringify(
      {
        _readme: ['written by the resilience test'],
        'content-hash': '00000000000000000000000000000000',
        packages: lockPackages,
        'packages-dev': [],
        aliases: [],
        'minimum-stability': 'stable',
        'stability-flags': {},
        'prefer-stable': false,
        'prefer-lowest': false,
        platform: {},
        'platform-dev': {},
        'plugin-api-version': '2.6.0',
      },
      null,
      2,
    ),
  );
  const armFaults = (): void => {
    for (const p of packages) for (const [fault, times] of p.faults) server.fault(p.path, fault, times);
  };
  return {
    server,
    root,
    project,
    env: isolatedEnv(root),
    packages,
    distPaths: new Set(packages.map((p) => p.path)),
    armFaults,
    cleanup: async () => {
      await server.stop();
      await removeRoot();
    },
  };
}

export interface PlannedPackage {
  readonly name: string;
  readonly cachePath: string;
}

/** Where the tool (and Composer) will look for each archive, from `--dry-run --json`. */
export async function plannedPaths(p: Project, extraEnv: Record<string, string> = {}): Promise<PlannedPackage[]> {
  const dry = await runCli(['--dry-run', '--json'], { cwd: p.project, env: { ...p.env, ...extraEnv } });
  if (dry.exitCode !== 0) throw new Error(`dry run failed: ${dry.stderr}`);
  return (JSON.parse(dry.stdout) as { packages: PlannedPackage[] }).packages;
}

/** Every file at a Composer path is complete (its bytes equal the served zip); returns how many exist. */
export async function assertNoPartialAtComposerPaths(p: Project, planned: readonly PlannedPackage[]): Promise<number> {
  let present = 0;
  for (const entry of planned) {
    if (!existsSync(entry.cachePath)) continue;
    present++;
    const pkg = p.packages.find((x) => x.name === entry.name);
    if (!pkg) throw new Error(`unknown package ${entry.name}`);
    const bytes = await readFile(entry.cachePath);
    if (sha1(bytes) !== sha1(pkg.zip))
      throw new Error(`${entry.cachePath} is not the complete archive of ${entry.name} (${bytes.length} of ${pkg.zip.length} bytes)`);
  }
  return present;
}

/** Our temp files anywhere under the cache. */
export async function tempFilesUnder(dir: string): Promise<string[]> {
  const found: string[] = [];
  const walk = async (d: string): Promise<void> => {
    let entries: Dirent[];
    try {
      entries = await readdir(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (e.isDirectory()) await walk(path.join(d, e.name));
      else if (e.name.endsWith('.cp-tmp')) found.push(path.join(d, e.name));
    }
  };
  await walk(dir);
  return found;
}

/**
 * Every file in vendor/<package>/ is byte-identical to its entry in the archive the server holds
 * (Composer strips the single top-level directory), and there is no other file.
 */
export async function assertVendorMatchesArchives(p: Project): Promise<void> {
  const filesUnder = (dir: string, prefix = ''): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
      e.isDirectory() ? filesUnder(path.join(dir, e.name), `${prefix}${e.name}/`) : [`${prefix}${e.name}`],
    );
  for (const pkg of p.packages) {
    const expected = new Map<string, Buffer>();
    const zip = await yauzl.fromBufferPromise(pkg.zip, { lazyEntries: true });
    for await (const entry of zip.eachEntry()) {
      if (entry.fileName.endsWith('/')) continue;
      const chunks: Buffer[] = [];
      for await (const chunk of await zip.openReadStreamPromise(entry)) chunks.push(chunk as Buffer);
      expected.set(entry.fileName.slice(entry.fileName.indexOf('/') + 1), Buffer.concat(chunks));
    }
    const dir = path.join(p.project, 'vendor', pkg.name);
    const actual = filesUnder(dir).sort();
    if (JSON.stringify(actual) !== JSON.stringify([...expected.keys()].sort())) throw new Error(`vendor/${pkg.name} holds ${actual.join(', ')}`);
    for (const [file, bytes] of expected) {
      const got = await readFile(path.join(dir, file));
      if (!got.equals(bytes)) throw new Error(`vendor/${pkg.name}/${file} differs from its archive entry (${got.length} vs ${bytes.length} bytes)`);
    }
  }
}
