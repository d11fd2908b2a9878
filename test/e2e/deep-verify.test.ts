import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { deflateRawSync } from 'node:zlib';
import { validateArchive } from '../../src/verify/archive.js';
import { makeZip, type ArchiveEntry } from '../helpers/archives.js';
import { assertAria2cInstalled } from '../helpers/aria2.js';
import { runCli, runComposer, tempDir } from '../helpers/run.js';
import { buildProject, plannedPaths, sha1, tempFilesUnder, type PlannedPackage, type Project } from '../resilience/fixture.js';

/** PHP-like source, big enough that an entry's deflated data spans a few KiB. */
function phpSource(name: string, lines: number): string {
  const out = ['<?php', '', `// ${name}`, 'namespace Acme\\Pkg;', '', 'final class Big', '{'];
  for (let i = 0; i < lines; i++) out.push(`    public function m${i}(int $v): int { return $v * ${i} + ${name.length}; } // ${name} ${(i * 7919) % 1009}`);
  out.push('}', '');
  return out.join('\n');
}

interface Dist {
  readonly entries: readonly ArchiveEntry[];
  readonly zip: Buffer;
  /** Offset of the middle of src/Big.php's deflated data: flipping bytes there keeps every header intact. */
  readonly damageAt: number;
}

function distFor(name: string, version: string): Dist {
  const top = `${name.replace('/', '-')}-${version}/`;
  const big = phpSource(name, 600);
  const entries: ArchiveEntry[] = [
    { name: top },
    { name: `${top}composer.json`, content: `${JSON.stringify({ name, version }, null, 4)}\n`, compress: true },
    { name: `${top}src/` },
    { name: `${top}src/Big.php`, content: big, compress: true },
    { name: `${top}README.md`, content: `# ${name}\n\nStored, not deflated.\n` },
    { name: `${top}empty.txt`, content: '' },
  ];
  const zip = makeZip(entries);
  const data = deflateRawSync(Buffer.from(big));
  const at = zip.indexOf(data);
  assert.ok(at > 0);
  return { entries, zip, damageAt: at + Math.floor(data.length / 2) };
}

function damaged(dist: Dist): Buffer {
  const out = Buffer.from(dist.zip);
  for (let i = dist.damageAt; i < dist.damageAt + 4; i++) out[i] = out[i]! ^ 0xff;
  return out;
}

/** Every file below `dir`, relative to it. */
function filesUnder(dir: string, prefix = ''): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? filesUnder(path.join(dir, e.name), `${prefix}${e.name}/`) : [`${prefix}${e.name}`],
  );
}

// All without a shasum, as Packagist's GitHub dists are: only the content check can catch the damage.
const SPECS = [
  { name: 'acme/flaky-a', times: 2 },
  { name: 'acme/flaky-b', times: 2 },
  { name: 'acme/flaky-c', times: 1 },
  { name: 'acme/never', times: 1000 },
  { name: 'acme/clean', times: 0 },
];

for (const backend of ['native', 'aria2'] as const) {
  describe(`same-length damaged bodies without a shasum, real Composer (${backend})`, () => {
    const dists = new Map<string, Dist>();
    let p: Project;
    let planned: PlannedPackage[];
    const pathOf = (name: string): string => p.packages.find((x) => x.name === name)!.path;
    const cachePathOf = (name: string): string => planned.find((x) => x.name === name)!.cachePath;
    const run = (args: string[]) => runCli(['--backend', backend, '--headers-timeout', '5', ...args], { cwd: p.project, env: p.env, timeoutMs: 90_000 });

    before(async () => {
      if (backend === 'aria2') await assertAria2cInstalled();
      for (const spec of SPECS) dists.set(spec.name, distFor(spec.name, '1.0.0'));
      p = await buildProject(
        SPECS.map((spec) => ({
          name: spec.name,
          version: '1.0.0',
          shasum: false,
          faults: spec.times === 0 ? [] : [[{ kind: 'corrupt', at: dists.get(spec.name)!.damageAt, length: 4 }, spec.times] as const],
        })),
        { zip: (name) => dists.get(name)!.zip },
      );
      planned = await plannedPaths(p);
    });
    after(async () => {
      await p?.cleanup();
    });

    it('the damage passes every structure check: only inflating finds it', async () => {
      const { dir, cleanup } = await tempDir('cp-deep-e2e-');
      try {
        const file = path.join(dir, 'damaged.zip');
        await writeFile(file, damaged(dists.get('acme/never')!));
        assert.equal((await validateArchive(file, 'zip', 'structure')).format, 'zip');
        await assert.rejects(validateArchive(file, 'zip', 'deep'), { reason: /^entry acme-never-1\.0\.0\/src\/Big\.php: / });
      } finally {
        await cleanup();
      }
    });

    it('retries until a good copy arrives, never caches a damaged one, exits 1 for the package that never gets one', async () => {
      p.armFaults();
      const first = await run(['--json']);
      assert.equal(first.exitCode, 1, first.stderr);
      const report = JSON.parse(first.stdout) as { packages: { name: string; status: string; error: { code: string; message: string } | null }[] };
      const status = Object.fromEntries(report.packages.map((x) => [x.name, x.error?.code ?? x.status]));
      assert.deepEqual(status, {
        'acme/flaky-a': 'downloaded',
        'acme/flaky-b': 'downloaded',
        'acme/flaky-c': 'downloaded',
        'acme/never': 'E_CORRUPT',
        'acme/clean': 'downloaded',
      });
      const never = report.packages.find((x) => x.name === 'acme/never')!;
      assert.match(never.error!.message, /entry acme-never-1\.0\.0\/src\/Big\.php: .*damaged/);

      for (const spec of SPECS) {
        const served = p.server.requests.filter((r) => r.path === pathOf(spec.name) && r.fault === 'corrupt').length;
        if (spec.name === 'acme/never') assert.ok(served >= 2, `${spec.name}: ${served} damaged copies served`);
        else assert.equal(served, spec.times, `${spec.name}: every damaged copy was served (and refused)`);
        const file = cachePathOf(spec.name);
        if (spec.name === 'acme/never') assert.equal(existsSync(file), false, 'nothing cached for the package without a good copy');
        else assert.equal(sha1(await readFile(file)), sha1(dists.get(spec.name)!.zip), `${spec.name}: the good copy is cached`);
      }
      assert.deepEqual(await tempFilesUnder(path.join(p.root, 'cache')), []);
    });

    it('exits 0 once the server sends a good copy', async () => {
      p.server.clearFaults(pathOf('acme/never'));
      const second = await run([]);
      assert.equal(second.exitCode, 0, second.stderr);
      assert.match(second.stderr, /1 downloaded .* 4 already cached/);
      assert.equal(sha1(await readFile(cachePathOf('acme/never'))), sha1(dists.get('acme/never')!.zip));
    });

    it('verify finds bit-rot in the cache (deep by default), and --verify deep replaces it', async () => {
      const rotten = cachePathOf('acme/flaky-a');
      await writeFile(rotten, damaged(dists.get('acme/flaky-a')!));
      const check = await run(['verify']);
      assert.equal(check.exitCode, 1, check.stderr);
      assert.match(check.stderr, /invalid +acme\/flaky-a 1\.0\.0: invalid archive at .* \(entry acme-flaky-a-1\.0\.0\/src\/Big\.php: .*damaged/);
      assert.match(check.stderr, /Run composer-prefetch --verify deep/);
      const shallow = await run(['verify', '--verify', 'structure']);
      assert.equal(shallow.exitCode, 0, 'structure level cannot see damage inside entry data');

      p.server.resetLog();
      const repair = await run(['--verify', 'deep']);
      assert.equal(repair.exitCode, 0, repair.stderr);
      assert.match(repair.stderr, /1 downloaded .* 4 already cached/);
      assert.equal(sha1(await readFile(rotten)), sha1(dists.get('acme/flaky-a')!.zip));
      assert.equal((await run(['verify'])).exitCode, 0);
    });

    it('composer install downloads nothing, and every file in vendor/ is byte-identical to its entry in the original archive', async () => {
      p.server.resetLog();
      const install = await runComposer(['install', '--no-plugins', '--no-scripts', '--no-autoloader', '--ignore-platform-reqs'], {
        cwd: p.project,
        env: p.env,
      });
      assert.equal(install.exitCode, 0, install.stderr);
      assert.deepEqual(
        p.server.requests.filter((r) => p.distPaths.has(r.path)).map((r) => r.path),
        [],
        'composer install made dist downloads',
      );
      for (const [name, dist] of dists) {
        const top = `${name.replace('/', '-')}-1.0.0/`;
        const expected = new Map<string, Buffer>();
        for (const entry of dist.entries) {
          if (entry.name.endsWith('/')) continue;
          expected.set(entry.name.slice(top.length), typeof entry.content === 'string' ? Buffer.from(entry.content) : (entry.content ?? Buffer.alloc(0)));
        }
        const dir = path.join(p.project, 'vendor', name);
        assert.deepEqual(filesUnder(dir).sort(), [...expected.keys()].sort(), `vendor/${name} holds exactly the archive's files`);
        for (const [file, bytes] of expected) {
          const actual = await readFile(path.join(dir, file));
          assert.ok(actual.equals(bytes), `vendor/${name}/${file} differs from the archive entry (${actual.length} vs ${bytes.length} bytes)`);
        }
      }
    });
  });
}
