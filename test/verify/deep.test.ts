import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { deflateRawSync } from 'node:zlib';
import { isCachedAndValid } from '../../src/cache/commit.js';
import type { DownloadTask } from '../../src/types.js';
import { ArchiveValidationError, DEFAULT_MAX_UNPACKED_BYTES, validateArchive, type VerifyLevel } from '../../src/verify/archive.js';
import { createCheckPool } from '../../src/verify/check-pool.js';
import { verifyDownload } from '../../src/verify/verify-download.js';
import { deflatedZeros, makeZip, tarGzBombParts, type ArchiveEntry } from '../helpers/archives.js';
import { repoRoot } from '../helpers/run.js';
import { createHash } from 'node:crypto';

let dir: string;
let counter = 0;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cp-deep-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function stage(bytes: Buffer): Promise<string> {
  const path = join(dir, `f${counter++}`);
  await writeFile(path, bytes);
  return path;
}

async function check(bytes: Buffer, level: VerifyLevel, distType = 'zip') {
  return validateArchive(await stage(bytes), distType, level);
}

async function assertInvalid(promise: Promise<unknown>, reason: RegExp): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof ArchiveValidationError, `expected ArchiveValidationError, got ${String(error)}`);
    assert.match(error.reason, reason);
    return true;
  });
}

/** PHP-like source, compressible as real code is. */
function phpSource(lines: number, seed: number): string {
  const out = ['<?php', '', 'namespace Acme\\Big;', '', 'final class Big', '{'];
  for (let i = 0; i < lines; i++) out.push(`    public function method${i}_${(i * seed) % 977}(int $value): int { return $value * ${i} + ${seed}; }`);
  out.push('}', '');
  return out.join('\n');
}

const BIG = phpSource(800, 7);
const ENTRIES: ArchiveEntry[] = [
  { name: 'acme-big-1.0.0/' },
  { name: 'acme-big-1.0.0/composer.json', content: '{"name":"acme/big"}\n', compress: true },
  { name: 'acme-big-1.0.0/src/Big.php', content: BIG, compress: true },
  { name: 'acme-big-1.0.0/README.md', content: 'stored, not deflated\n'.repeat(50) },
];

/** Same length, a few bytes flipped in the middle of `needle` (an entry's data) inside `zip`. */
function flipInside(zip: Buffer, needle: Buffer, count = 4): Buffer {
  const at = zip.indexOf(needle);
  assert.ok(at > 0, 'entry data found in the zip');
  const out = Buffer.from(zip);
  const middle = at + Math.floor(needle.length / 2);
  for (let i = 0; i < count; i++) out[middle + i] = out[middle + i]! ^ 0x5a;
  assert.equal(out.length, zip.length);
  return out;
}

describe('deep zip check: every entry inflated, CRC-32 and sizes against the central directory', () => {
  const good = makeZip(ENTRIES);
  const corruptDeflated = flipInside(good, deflateRawSync(Buffer.from(BIG)));
  const corruptStored = flipInside(good, Buffer.from('stored, not deflated\n'.repeat(50)));

  it('accepts a good zip at both levels', async () => {
    assert.deepEqual(await check(good, 'deep'), { format: 'zip', entries: 4 });
    assert.deepEqual(await check(good, 'structure'), { format: 'zip', entries: 4 });
  });

  it('rejects flipped bytes inside a deflated entry, naming the entry; structure level accepts the same file', async () => {
    await assertInvalid(check(corruptDeflated, 'deep'), /^entry acme-big-1\.0\.0\/src\/Big\.php: .*the bytes are damaged$/);
    // The level really switches: the directory and headers of this file are intact.
    assert.deepEqual(await check(corruptDeflated, 'structure'), { format: 'zip', entries: 4 });
  });

  it('rejects a corrupt stored entry with a CRC mismatch', async () => {
    await assertInvalid(check(corruptStored, 'deep'), /^entry acme-big-1\.0\.0\/README\.md: CRC mismatch — the bytes are damaged$/);
  });

  it('zip64 entries: good accepted, damaged rejected', async () => {
    const zip64 = makeZip(ENTRIES, { zip64: true });
    assert.deepEqual(await check(zip64, 'deep'), { format: 'zip', entries: 4 });
    await assertInvalid(check(flipInside(zip64, deflateRawSync(Buffer.from(BIG))), 'deep'), /^entry acme-big-1\.0\.0\/src\/Big\.php: /);
  });

  it('data-descriptor entries (zeros in the local header): good accepted, damaged rejected', async () => {
    const described = makeZip(ENTRIES, { dataDescriptor: true });
    assert.deepEqual(await check(described, 'deep'), { format: 'zip', entries: 4 });
    const both = makeZip(ENTRIES, { dataDescriptor: true, zip64: true });
    assert.deepEqual(await check(both, 'deep'), { format: 'zip', entries: 4 });
    await assertInvalid(check(flipInside(described, Buffer.from('stored, not deflated\n'.repeat(50))), 'deep'), /README\.md: CRC mismatch/);
  });

  it('rejects an entry whose data is shorter than its declared size', async () => {
    const liar = makeZip([{ name: 'a/short.txt', content: 'x'.repeat(1000), compress: true, declaredSize: 2000 }]);
    await assertInvalid(check(liar, 'deep'), /^entry a\/short\.txt: holds 1000 bytes, the zip's directory says 2000/);
  });

  it('a big entry (streamed through yauzl) is checked too', async () => {
    const big = phpSource(60_000, 3); // ~5 MiB, above the in-memory threshold
    const zip = makeZip([{ name: 'p/Huge.php', content: big, compress: true }]);
    assert.deepEqual(await check(zip, 'deep'), { format: 'zip', entries: 1 });
    await assertInvalid(check(flipInside(zip, deflateRawSync(Buffer.from(big))), 'deep'), /^entry p\/Huge\.php: /);
  });
});

describe('read blocks are reused across walks, never shared between two', () => {
  // Archives of many blocks (stored random entries spread over ~1 MiB), each with its own bytes,
  // walked concurrently in one thread: a block given back while a walk still reads it, or handed
  // to two walks at once, shows up as a CRC mismatch on a good archive or a damaged one passing.
  const text = (seed: number, length: number): string =>
    createHash('sha256')
      .update(String(seed))
      .digest('hex')
      .repeat(Math.ceil(length / 64))
      .slice(0, length);
  const archive = (seed: number): { zip: Buffer; last: Buffer } => {
    const entries: ArchiveEntry[] = Array.from({ length: 24 }, (_, i) => ({ name: `p${seed}/f${i}.txt`, content: text(seed * 100 + i, 40 * 1024) }));
    return { zip: makeZip(entries), last: Buffer.from(entries.at(-1)!.content!) };
  };

  it('16 good and 4 damaged archives, checked at once, twice over: every verdict right', async () => {
    const cases = Array.from({ length: 20 }, (_, i) => {
      const { zip, last } = archive(i);
      return { damaged: i % 5 === 4, bytes: i % 5 === 4 ? flipInside(zip, last) : zip };
    });
    const paths = await Promise.all(cases.map((c) => stage(c.bytes)));
    for (let round = 0; round < 2; round++) {
      const verdicts = await Promise.all(
        paths.map((p) =>
          validateArchive(p, 'zip', 'deep').then(
            () => 'ok',
            (e: unknown) => (e instanceof ArchiveValidationError ? e.reason : String(e)),
          ),
        ),
      );
      verdicts.forEach((verdict, i) => {
        if (cases[i]!.damaged) assert.match(verdict, /f23\.txt: CRC mismatch/, `archive ${i} is damaged`);
        else assert.equal(verdict, 'ok', `archive ${i} is good`);
      });
    }
  });
});

describe('zip bombs cost nothing', () => {
  it('an entry declared small that inflates huge stops at the declared size', async () => {
    const bomb = makeZip([
      { name: 'bomb/composer.json', content: '{}', compress: true },
      { name: 'bomb/zeros.bin', compress: true, rawData: deflatedZeros(1024 * 1024 * 1024), declaredSize: 1000, declaredCrc: 0 },
    ]);
    const cpu = process.cpuUsage();
    await assertInvalid(check(bomb, 'deep'), /^entry bomb\/zeros\.bin: inflates past the 1000 bytes the zip's directory declares/);
    const used = process.cpuUsage(cpu);
    // Inflating the whole GiB would take ~1 CPU-s; stopping at 1000 bytes takes a few ms.
    assert.ok(used.user + used.system < 300_000, `CPU ${(used.user + used.system) / 1e6} s`);
  });

  it('a big entry declared 5 MiB that inflates to 256 MiB stops on the streaming path too', async () => {
    const bomb = makeZip([
      { name: 'bomb/zeros.bin', compress: true, rawData: deflatedZeros(256 * 1024 * 1024), declaredSize: 5 * 1024 * 1024, declaredCrc: 0 },
    ]);
    await assertInvalid(check(bomb, 'deep'), /^entry bomb\/zeros\.bin: inflates past the 5242880 bytes/);
  });

  it('a zip whose entries declare more than --max-unpacked-size is refused before inflating, as a deterministic failure', async () => {
    const declared = 2 * 1024 ** 3;
    const bomb = makeZip([{ name: 'bomb/zeros.bin', compress: true, rawData: deflatedZeros(1024 * 1024), declaredSize: declared, declaredCrc: 0 }]);
    assert.ok(declared > DEFAULT_MAX_UNPACKED_BYTES);
    const cpu = process.cpuUsage();
    await assert.rejects(check(bomb, 'deep'), (error: unknown) => {
      assert.ok(error instanceof ArchiveValidationError);
      assert.match(error.reason, /^zip: its entries declare more than 1 GiB uncompressed, over --max-unpacked-size \(raise it, or 0 for no limit/);
      assert.equal(error.deterministic, true, 'the same bytes fail the same way: not worth a second download');
      return true;
    });
    const used = process.cpuUsage(cpu);
    assert.ok(used.user + used.system < 300_000, `CPU ${(used.user + used.system) / 1e6} s`);
    // A lower bound, as --max-unpacked-size 8M gives it.
    const small = makeZip([
      { name: 'x/composer.json', content: '{}' },
      { name: 'x/data.bin', compress: true, content: Buffer.alloc(9 * 1024 * 1024) },
    ]);
    await assertInvalid(validateArchive(await stage(small), 'zip', 'deep', 8 * 1024 * 1024), /over --max-unpacked-size/);
    assert.deepEqual(await validateArchive(await stage(small), 'zip', 'deep', 0), { format: 'zip', entries: 2 }, '0 = no limit');
  });

  it('an honest archive that compresses 300× (a SQL dump) passes: the bound is on bytes, not on the ratio', async () => {
    // 100 MiB of INSERT lines that deflate to a fraction of a MiB, as a real fixture package ships them.
    const line = Buffer.from("INSERT INTO `t` VALUES (1,'a','2024-01-01 00:00:00',NULL,0);\n");
    const sql = Buffer.alloc(100 * 1024 * 1024);
    for (let at = 0; at < sql.length; at += line.length) line.copy(sql, at);
    const zip = makeZip([
      { name: 'fixtures/composer.json', content: '{"name":"acme/fixtures"}', compress: true },
      { name: 'fixtures/dump.sql', content: sql, compress: true },
    ]);
    assert.ok(sql.length / zip.length > 250, `ratio ${sql.length / zip.length}`);
    assert.deepEqual(await check(zip, 'deep'), { format: 'zip', entries: 2 });
  });
});

describe('gzip bombs cost a bounded amount', () => {
  /** An 8 MiB tar.gz that would inflate to 8 GiB, written part by part: the 8 GiB never exist anywhere. */
  async function writeTarGzBomb(path: string): Promise<number> {
    const out = createWriteStream(path);
    const write = (chunk: Buffer): Promise<void> => new Promise((resolve, reject) => out.write(chunk, (e) => (e ? reject(e) : resolve())));
    let bytes = 0;
    for (const part of tarGzBombParts(2 ** 33)) {
      await write(part);
      bytes += part.length;
    }
    await new Promise<void>((resolve, reject) => out.end((e?: Error | null) => (e ? reject(e) : resolve())));
    return bytes;
  }

  it('an 8 MiB tar.gz bomb (8 GiB inflated) is rejected at --max-unpacked-size (1 GiB), at both levels', async () => {
    const path = join(dir, 'bomb.tar.gz');
    const bytes = await writeTarGzBomb(path);
    assert.ok(bytes < 10 * 1024 * 1024, `${bytes} bytes`);
    for (const level of ['deep', 'structure'] as const) {
      const cpu = process.cpuUsage();
      await assertInvalid(validateArchive(path, 'tar', level), /^gzip: inflates to more than 1 GiB uncompressed, over --max-unpacked-size/);
      const delta = process.cpuUsage(cpu);
      const used = (delta.user + delta.system) / 1e6;
      // The bound is 1 GiB of inflation (~0.7 CPU-s here); the whole 8 GiB takes ~8× that.
      assert.ok(used < 3.5, `CPU ${used} s for level ${level}`);
    }
    await assertInvalid(validateArchive(path, 'gzip', 'deep', 64 * 1024 * 1024), /^gzip: inflates to more than 64 MiB uncompressed, over --max-unpacked-size/);
  });
});

describe('levels reach verifyDownload and isCachedAndValid', () => {
  const good = makeZip(ENTRIES);
  const corrupt = flipInside(good, Buffer.from('stored, not deflated\n'.repeat(50)));
  const sha1 = (b: Buffer): string => createHash('sha1').update(b).digest('hex');
  const taskFor = (cachePath: string, expectedSha1?: string): DownloadTask => ({
    packageName: 'acme/big',
    version: '1.0.0',
    distType: 'zip',
    urls: ['https://example.test/big.zip'],
    cacheKey: 'acme/big/x.zip',
    cachePath,
    expectedSha1,
    dev: false,
    origins: [],
  });

  it('without a shasum: deep (default) refuses the damaged download with E_CORRUPT naming the entry; structure lets it through', async () => {
    const path = await stage(corrupt);
    const staged = { path, bytes: corrupt.length, sha1: undefined, url: 'https://example.test/big.zip' };
    await assert.rejects(verifyDownload(taskFor(path), staged), (error: unknown) => {
      const e = error as { code?: string; reason?: string; message?: string };
      assert.equal(e.code, 'E_CORRUPT');
      assert.match(e.reason ?? '', /^entry acme-big-1\.0\.0\/README\.md: CRC mismatch/);
      return true;
    });
    assert.equal((await verifyDownload(taskFor(path), staged, { level: 'structure' })).archive.format, 'zip');
  });

  it('with a shasum the sha1 decides: no inflation (bytes the lock names are accepted as they are)', async () => {
    const path = await stage(corrupt);
    const staged = { path, bytes: corrupt.length, sha1: undefined, url: 'https://example.test/big.zip' };
    const verified = await verifyDownload(taskFor(path, sha1(corrupt)), staged, { level: 'deep' });
    assert.equal(verified.sha1, sha1(corrupt));
  });

  it('isCachedAndValid: deep finds the damaged cached file, structure does not', async () => {
    const path = await stage(corrupt);
    assert.equal(await isCachedAndValid(taskFor(path)), 'invalid');
    assert.equal(await isCachedAndValid(taskFor(path), { level: 'deep' }), 'invalid');
    assert.equal(await isCachedAndValid(taskFor(path), { level: 'structure' }), 'valid');
    assert.equal(await isCachedAndValid(taskFor(await stage(good)), { level: 'deep' }), 'valid');
  });
});

describe('check pool (worker threads)', () => {
  it('checks on threads: same verdicts, typed errors, errno codes kept', async () => {
    const pool = createCheckPool({ size: 2 });
    try {
      const good = await stage(makeZip(ENTRIES));
      const bad = await stage(flipInside(makeZip(ENTRIES), Buffer.from('stored, not deflated\n'.repeat(50))));
      const results = await Promise.allSettled([good, bad, good, bad, join(dir, 'missing')].map((p) => pool.check(p, 'zip', 'deep')));
      assert.deepEqual(
        results.map((r) => r.status),
        ['fulfilled', 'rejected', 'fulfilled', 'rejected', 'rejected'],
      );
      const reasons = results.map((r) => (r.status === 'rejected' ? r.reason : undefined));
      assert.ok(reasons[1] instanceof ArchiveValidationError);
      assert.match(reasons[1].reason, /README\.md: CRC mismatch/);
      assert.equal((reasons[4] as { code?: string }).code, 'ENOENT');
      assert.equal(await isCachedAndValid({ ...taskForPath(bad) }, { level: 'deep', check: pool.check }), 'invalid');
    } finally {
      await pool.close();
    }
  });

  for (const build of ['dist', 'build-test/src'] as const) {
    it(`resolves its worker from ${build}/ and never keeps the process alive (no close(), warmed first)`, { timeout: 30_000 }, async () => {
      const bad = await stage(flipInside(makeZip(ENTRIES), Buffer.from('stored, not deflated\n'.repeat(50))));
      const module = join(repoRoot, build, 'verify', 'check-pool.js');
      const script = `
        const { createCheckPool } = await import(${JSON.stringify(module)});
        const pool = createCheckPool();
        // Warmed before use, as a download run does: the idle thread must not hold the process either.
        pool.warm();
        pool.warm();
        const verdict = await pool.check(${JSON.stringify(bad)}, 'zip', 'deep').then(() => 'valid', (e) => e.reason ?? e.stack);
        console.log(verdict);`;
      const { code, stdout } = await runScript(`pool-${build.replace('/', '-')}.mjs`, script);
      assert.equal(code, 0);
      assert.match(stdout, /README\.md: CRC mismatch/);
    });
  }

  it('a warmed pool that is never asked anything lets the process exit, and close() after warm() settles', { timeout: 30_000 }, async () => {
    const module = join(repoRoot, 'dist', 'verify', 'check-pool.js');
    const script = `
      const { createCheckPool } = await import(${JSON.stringify(module)});
      createCheckPool().warm();
      const closed = createCheckPool();
      closed.warm();
      await closed.close();
      closed.warm();
      console.log('end of script');`;
    const { code, stdout } = await runScript('pool-warm-only.mjs', script);
    assert.equal(code, 0);
    assert.equal(stdout, 'end of script\n');
  });
});

/** Runs `script` as its own Node process (an ES module in the test's folder): its exit code and stdout. */
async function runScript(name: string, script: string): Promise<{ code: number | null; stdout: string }> {
  const file = join(dir, name);
  await writeFile(file, script);
  const child = spawn(process.execPath, [file], { stdio: ['ignore', 'pipe', 'inherit'] });
  let stdout = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  return { code, stdout };
}

function taskForPath(cachePath: string): DownloadTask {
  return {
    packageName: 'acme/big',
    version: '1.0.0',
    distType: 'zip',
    urls: ['https://example.test/big.zip'],
    cacheKey: 'acme/big/x.zip',
    cachePath,
    expectedSha1: undefined,
    dev: false,
    origins: [],
  };
}
