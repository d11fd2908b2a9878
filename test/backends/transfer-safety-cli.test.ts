import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { assertAria2cInstalled, leftovers, listTree, sha1, writeLockProject } from '../helpers/aria2.js';
import { HostileServer, parseRange, sameSizePair, sendRange } from '../helpers/hostile-server.js';
import { isolatedEnv, runCli, tempDir } from '../helpers/run.js';

interface Report {
  packages: { name: string; status: string; cachePath: string; error: { code: string; message: string; hint: string | null } | null }[];
}

/** The whole CLI, both backends, against a misbehaving server: the run must end, exit 1, say why, and leave nothing behind. */
describe('transfer safety through the CLI (native and aria2)', () => {
  let server: HostileServer;
  let root: { dir: string; cleanup: () => Promise<void> };
  let n = 0;

  before(async () => {
    await assertAria2cInstalled();
    server = await new HostileServer().start();
    root = await tempDir('cp-safety-cli-');
  });
  after(async () => {
    await server?.stop();
    await root?.cleanup();
  });

  /** One package project in its own dir and cache; runs the CLI with `--json` and the flags given. */
  async function run(backend: 'native' | 'aria2', url: string, flags: string[], shasum?: string) {
    const dir = path.join(root.dir, `run${n++}`);
    const project = path.join(dir, 'p');
    await writeLockProject(project, [{ name: 'acme/pkg', url, ...(shasum === undefined ? {} : { shasum }) }]);
    const env = isolatedEnv(dir);
    const r = await runCli(['--backend', backend, '--json', '--progress', 'none', ...flags], { cwd: project, env, timeoutMs: 60_000 });
    assert.equal(r.signal, undefined, `the run ended by itself: ${r.stderr}`);
    const report = JSON.parse(r.stdout) as Report;
    return { r, pkg: report.packages[0]!, left: leftovers(await listTree(env.COMPOSER_CACHE_DIR!)) };
  }

  for (const backend of ['native', 'aria2'] as const) {
    it(`${backend}: a slowloris (a byte every 100 ms) ends at --retry-max-time with exit 1 and a clear message`, async () => {
      const p = `/${backend}-slowloris.zip`;
      const url = server.route(p, (_req, res) => {
        res.writeHead(200, { 'content-length': '1000000', etag: '"s"', 'accept-ranges': 'bytes' });
        server.every(res, 100, () => res.write('P'));
      });
      const { r, pkg, left } = await run(backend, url, ['--retry-max-time', '2', '--low-speed-limit', '1K', '--stall-timeout', '1']);
      assert.equal(r.exitCode, 1, r.stderr);
      assert.equal(pkg.status, 'failed');
      assert.equal(pkg.error?.code, 'E_LIMIT', pkg.error?.message);
      assert.match(pkg.error!.message, /--retry-max-time/);
      assert.ok(pkg.error!.message.includes(url), pkg.error!.message);
      assert.match(r.stderr, /--retry-max-time/);
      assert.deepEqual(left, []);
    });

    it(`${backend}: an endless body without Content-Length is stopped at --max-size, nothing left behind`, async () => {
      const p = `/${backend}-endless.zip`;
      const chunk = Buffer.alloc(64 * 1024, 0x41);
      const url = server.route(p, (_req, res) => {
        res.writeHead(200, { 'content-type': 'application/zip' });
        server.every(res, 2, () => res.write(chunk) || true);
      });
      const { r, pkg, left } = await run(backend, url, ['--max-size', '1M']);
      assert.equal(r.exitCode, 1, r.stderr);
      assert.equal(pkg.error?.code, 'E_LIMIT', pkg.error?.message);
      assert.match(pkg.error!.message, /1 MiB limit \(--max-size\)/);
      assert.ok(pkg.error!.message.includes(url));
      assert.equal(server.hitsOf(p).length, 1, 'not retried');
      assert.deepEqual(left, []);
    });

    it(`${backend}: a Content-Length above --max-size is refused`, async () => {
      const p = `/${backend}-huge.zip`;
      const url = server.route(p, (_req, res) => {
        res.writeHead(200, { 'content-length': String(64 * 1024 * 1024) });
        server.every(res, 100, () => res.write(Buffer.alloc(1024)) || true);
      });
      const { r, pkg, left } = await run(backend, url, ['--max-size', '1M']);
      assert.equal(r.exitCode, 1, r.stderr);
      assert.equal(pkg.error?.code, 'E_LIMIT', pkg.error?.message);
      assert.match(pkg.error!.message, /declares 64 MiB, above the 1 MiB limit \(--max-size\)/);
      assert.deepEqual(left, []);
    });
  }

  it('aria2: a broken download is never continued from another version (it starts over whole)', async () => {
    const [v1, v2] = sameSizePair(256);
    const p = '/aria2-resume.zip';
    const url = server.route(p, (req, res, hit) => {
      if ((parseRange(req.headers.range, v2.length)?.start ?? 0) > 0) return sendRange(req, res, v2, { etag: '"v2"' });
      res.writeHead(200, { 'content-type': 'application/zip', 'accept-ranges': 'bytes', etag: '"v1"', 'content-length': String(v1.length) });
      if (hit.n > 1) return void res.end(v1);
      res.write(v1.subarray(0, v1.length >> 1), () => res.socket?.resetAndDestroy());
    });
    const { r, pkg, left } = await run('aria2', url, []);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.ok((await readFile(pkg.cachePath)).equals(v1));
    assert.deepEqual(left, []);
  });

  for (const locked of [true, false]) {
    it(`aria2: ranges spliced from another archive under the same ETag fail ${locked ? 'the sha1' : 'the deep check (no sha1)'}; the retry goes out unsplit and succeeds`, async () => {
      const [v1, v2] = sameSizePair(3 * 1024);
      const p = `/aria2-spliced-${locked}.zip`;
      // aria2 opens its segment connections once the first response's headers give the length; on a
      // loaded machine the first connection could finish the whole small file before any of them is
      // sent. So the first unranged response sends its head and holds the rest until a ranged request
      // has arrived: the first attempt is then always assembled from both versions.
      let sawRange!: () => void;
      const ranged = new Promise<void>((resolve) => (sawRange = resolve));
      let held = false;
      const url = server.route(p, (req, res) => {
        const start = parseRange(req.headers.range, v1.length)?.start ?? 0;
        if (start > 0) sawRange();
        if (held || req.headers.range !== undefined) return sendRange(req, res, start > 0 ? v2 : v1, { etag: '"same"' });
        held = true;
        res.writeHead(200, { 'content-type': 'application/zip', 'accept-ranges': 'bytes', 'content-length': String(v1.length), etag: '"same"' });
        res.write(v1.subarray(0, 512));
        void ranged.then(() => res.end(v1.subarray(512)));
      });
      const { r, pkg, left } = await run('aria2', url, ['--split-size', '1M', '--split-segments', '4'], locked ? sha1(v1) : undefined);
      assert.equal(r.exitCode, 0, r.stderr);
      assert.ok((await readFile(pkg.cachePath)).equals(v1));
      const hits = server.hitsOf(p);
      const isRanged = (h: (typeof hits)[number]): boolean => (parseRange(h.range, v1.length)?.start ?? 0) > 0;
      const firstRanged = hits.findIndex(isRanged);
      assert.ok(firstRanged >= 0, `aria2 split the first attempt: ${JSON.stringify(hits.map((h) => h.range))}`);
      // The retry is one whole request; a segment of the first attempt may still arrive after it.
      assert.ok(
        hits.slice(firstRanged + 1).some((h) => !isRanged(h)),
        `the retry asked for the whole file: ${JSON.stringify(hits.map((h) => h.range))}`,
      );
      assert.deepEqual(left, []);
    });
  }
});
