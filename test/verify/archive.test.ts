import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ArchiveValidationError, validateArchive, type ArchiveInfo } from '../../src/verify/archive.js';
import { composerPackageTarGz, composerPackageZip, makeEmptyXz, makeGzip, makeTar, makeTarGz, makeZip } from '../helpers/archives.js';

let dir: string;
let counter = 0;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cp-archive-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function check(bytes: Buffer | string, distType: string): Promise<ArchiveInfo> {
  const path = join(dir, `f${counter++}`);
  await writeFile(path, bytes);
  return validateArchive(path, distType);
}

async function assertInvalid(bytes: Buffer | string, distType: string, reason?: RegExp): Promise<void> {
  await assert.rejects(check(bytes, distType), (error: unknown) => {
    assert.ok(error instanceof ArchiveValidationError, `expected ArchiveValidationError, got ${String(error)}`);
    if (reason !== undefined) assert.match(error.reason, reason);
    return true;
  });
}

const HTML_PAGE = '<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title></head><body><h1>502</h1></body></html>\n';
const JSON_BODY = '{"message":"API rate limit exceeded","documentation_url":"https://docs.github.com"}';
const PKG = composerPackageZip('acme/hello', '1.0.0');
const TAR = makeTar([
  { name: 'pkg/' },
  { name: 'pkg/composer.json', content: '{"name":"acme/hello"}\n' },
  { name: 'pkg/big.bin', content: Buffer.alloc(5000, 0x61) },
  { name: 'pkg/empty.txt', content: '' },
]);
const TGZ = composerPackageTarGz('acme/hello', '1.0.0');

function nthIndexOf(haystack: Buffer, needle: Buffer, n: number): number {
  let at = -1;
  for (let i = 0; i < n; i++) {
    at = haystack.indexOf(needle, at + 1);
    if (at < 0) throw new Error('needle not found');
  }
  return at;
}

describe('validateArchive: every type', () => {
  for (const type of ['zip', 'tar', 'gzip', 'xz', 'phar', 'rar', 'file', 'something-new']) {
    it(`rejects a zero-byte file as ${type}`, async () => {
      await assertInvalid('', type, /empty file/);
    });
  }

  it('rethrows filesystem errors instead of calling them corrupt', async () => {
    await assert.rejects(validateArchive(join(dir, 'does-not-exist'), 'zip'), (error: unknown) => {
      assert.ok(!(error instanceof ArchiveValidationError));
      assert.equal((error as { code?: unknown }).code, 'ENOENT');
      return true;
    });
  });
});

describe('validateArchive: zip', () => {
  it('accepts a Composer package zip and counts entries', async () => {
    assert.deepEqual(await check(PKG, 'zip'), { format: 'zip', entries: 4 });
  });

  it('accepts stored and deflated entries, non-ASCII names', async () => {
    const zip = makeZip([
      { name: 'a.txt', content: 'stored' },
      { name: 'b/ünï.txt', content: 'x'.repeat(10_000), compress: true },
    ]);
    assert.deepEqual(await check(zip, 'zip'), { format: 'zip', entries: 2 });
  });

  for (const cut of [1, 4, 30, Math.floor(PKG.length / 2), PKG.length - 22, PKG.length - 1]) {
    it(`rejects a zip truncated to ${cut} of ${PKG.length} bytes`, async () => {
      await assertInvalid(PKG.subarray(0, cut), 'zip');
    });
  }

  it('rejects an HTML error page saved as .zip', async () => {
    await assertInvalid(HTML_PAGE, 'zip', /HTML page/);
  });

  it('rejects a JSON body', async () => {
    await assertInvalid(JSON_BODY, 'zip', /JSON/);
  });

  it('rejects a zip whose second local header signature is damaged', async () => {
    const bad = Buffer.from(PKG);
    const at = nthIndexOf(bad, Buffer.from([0x50, 0x4b, 0x03, 0x04]), 2);
    bad[at + 3] = 0x05;
    await assertInvalid(bad, 'zip', /local file header/);
  });

  it('rejects a zip whose local header names another file than the central directory', async () => {
    const bad = Buffer.from(PKG);
    const at = nthIndexOf(bad, Buffer.from('acme-hello-1.0.0/composer.json'), 1); // first is the local header
    bad.write('X', at + 'acme-hello-1.0.0/'.length, 'latin1');
    await assertInvalid(bad, 'zip', /does not name/);
  });

  it('rejects a zip whose central directory points past the end of the file', async () => {
    const bad = Buffer.from(PKG);
    const central = nthIndexOf(bad, Buffer.from([0x50, 0x4b, 0x01, 0x02]), 1);
    bad.writeUInt32LE(PKG.length + 100, central + 42);
    await assertInvalid(bad, 'zip');
  });

  it('rejects trailing garbage after the end record (yauzl refuses it)', async () => {
    await assertInvalid(Buffer.concat([PKG, Buffer.from('garbage')]), 'zip');
  });

  it('rejects an empty zip (no entries): no Composer package is empty', async () => {
    await assertInvalid(makeZip([]), 'zip', /no entries/);
  });

  it('rejects a tar.gz served for a zip dist', async () => {
    await assertInvalid(TGZ, 'zip', /gzip/);
  });
});

describe('validateArchive: tar dist', () => {
  it('accepts a plain tar', async () => {
    assert.deepEqual(await check(TAR, 'tar'), { format: 'tar', entries: 4 });
  });

  it('accepts a tgz given as dist type tar (PharData reads gzip)', async () => {
    assert.deepEqual(await check(TGZ, 'tar'), { format: 'tar+gzip', entries: 4 });
  });

  it('accepts a tar whose data spans many read chunks', async () => {
    const big = makeTarGz([
      { name: 'big.bin', content: Buffer.alloc(300_000, 7) },
      { name: 'after.txt', content: 'x' },
    ]);
    assert.deepEqual(await check(big, 'tar'), { format: 'tar+gzip', entries: 2 });
  });

  it('rejects a tar with a bad header checksum', async () => {
    const bad = Buffer.from(TAR);
    bad[0] = 'q'.charCodeAt(0);
    await assertInvalid(bad, 'tar', /offset 0: checksum mismatch/);
  });

  it('rejects a tar whose second header has a bad checksum', async () => {
    const bad = Buffer.from(TAR);
    bad[512 + 10] = bad[512 + 10]! ^ 0x01;
    await assertInvalid(bad, 'tar', /offset 512: checksum mismatch/);
  });

  it('rejects a tar whose size field is not octal', async () => {
    const bad = Buffer.from(TAR);
    // Write a non-octal size and a checksum that matches it, so only the size is wrong.
    bad.write('0000000009x\0', 512 + 124, 12, 'latin1');
    bad.write('        ', 512 + 148, 8, 'latin1');
    let sum = 0;
    for (let i = 512; i < 1024; i++) sum += bad[i]!;
    bad.write(`${sum.toString(8).padStart(6, '0')}\0 `, 512 + 148, 8, 'latin1');
    await assertInvalid(bad, 'tar', /size field/);
  });

  it('rejects a tar truncated inside entry data', async () => {
    await assertInvalid(TAR.subarray(0, 512 * 3 + 100), 'tar', /truncated/);
  });

  it('rejects a tar truncated inside a header block', async () => {
    await assertInvalid(TAR.subarray(0, 512 + 200), 'tar', /truncated/);
  });

  it('accepts a clean EOF on a block boundary without the end marker', async () => {
    assert.deepEqual(await check(TAR.subarray(0, TAR.length - 1024), 'tar'), { format: 'tar', entries: 4 });
  });

  it('rejects a tar of zero blocks only', async () => {
    await assertInvalid(Buffer.alloc(10240), 'tar');
  });

  for (const fraction of [0.1, 0.5, 0.9]) {
    it(`rejects a tgz truncated at ${fraction * 100}%`, async () => {
      await assertInvalid(TGZ.subarray(0, Math.floor(TGZ.length * fraction)), 'tar', /gzip/);
    });
  }

  it('rejects a tgz with a wrong CRC in its trailer', async () => {
    const bad = Buffer.from(TGZ);
    bad[bad.length - 8] = bad[bad.length - 8]! ^ 0xff;
    await assertInvalid(bad, 'tar', /gzip/);
  });

  it('rejects a tgz whose inner tar header is damaged', async () => {
    const tar = makeTar([{ name: 'a.txt', content: 'a' }]);
    tar[0] = 'z'.charCodeAt(0);
    await assertInvalid(makeGzip(tar), 'tar', /checksum/);
  });

  // `tar cf - h.txt | bzip2` (h.txt: "hello world\n"): a real stream, end-of-stream marker and all.
  const TAR_BZ2 = Buffer.from(
    '425a68393141592653596335e1ea000075fb84ca10014040017f00000866449ec0000080082000750d534f4ca1a3434c4343ca0929a9a681a000c81f4cb5cc8410780911c2a2f6ae922e49032d98a24d2e9f005530270d0e92444344117d5e44785dc5a34697862f0b31eba16526732fd3cec4907e2ee48a70a120c66bc3d4',
    'hex',
  );

  it('accepts bzip2 on the strength of its header and end-of-stream marker (Node has no bzip2 decoder)', async () => {
    assert.deepEqual(await check(TAR_BZ2, 'tar'), { format: 'tar+bzip2' });
  });

  it('rejects truncated bzip2 and bzip2 with trailing bytes: no end-of-stream marker at the end', async () => {
    await assertInvalid(TAR_BZ2.subarray(0, TAR_BZ2.length - 3), 'tar', /bzip2: no end-of-stream marker/);
    await assertInvalid(Buffer.concat([TAR_BZ2, Buffer.from('junk')]), 'tar', /bzip2: no end-of-stream marker/);
    const bz = Buffer.concat([Buffer.from('BZh9'), Buffer.from([0x31, 0x41, 0x59, 0x26, 0x53, 0x59]), Buffer.alloc(40, 0x5a)]);
    await assertInvalid(bz, 'tar', /bzip2: no end-of-stream marker/);
  });

  it('rejects bzip2 with a bad block header', async () => {
    await assertInvalid(Buffer.concat([Buffer.from('BZh9'), Buffer.alloc(40, 1)]), 'tar', /bzip2/);
  });

  it('rejects xz for a tar dist: PharData cannot open it', async () => {
    await assertInvalid(makeEmptyXz(), 'tar', /PharData/);
  });

  it('accepts a zip for a tar dist (PharData opens zip)', async () => {
    assert.deepEqual(await check(PKG, 'tar'), { format: 'zip', entries: 4 });
  });

  it('rejects an HTML page for a tar dist', async () => {
    await assertInvalid(HTML_PAGE, 'tar', /HTML page/);
  });
});

describe('validateArchive: gzip dist', () => {
  it('accepts gzip and decompresses it', async () => {
    assert.deepEqual(await check(makeGzip('hello '.repeat(10_000)), 'gzip'), { format: 'gzip' });
  });

  it('accepts trailing zero bytes after the gzip member', async () => {
    assert.deepEqual(await check(Buffer.concat([makeGzip('x'), Buffer.alloc(512)]), 'gzip'), { format: 'gzip' });
  });

  it('rejects truncated gzip', async () => {
    const gz = makeGzip('hello '.repeat(10_000));
    await assertInvalid(gz.subarray(0, gz.length - 4), 'gzip', /gzip/);
  });

  it('rejects a zip served for a gzip dist', async () => {
    await assertInvalid(PKG, 'gzip', /zip archive/);
  });
});

describe('validateArchive: xz dist', () => {
  const XZ = makeEmptyXz();

  it('accepts a well-formed xz stream header and footer', async () => {
    assert.deepEqual(await check(XZ, 'xz'), { format: 'xz' });
  });

  it('accepts stream padding after the footer', async () => {
    assert.deepEqual(await check(Buffer.concat([XZ, Buffer.alloc(8)]), 'xz'), { format: 'xz' });
  });

  it('rejects a damaged stream header', async () => {
    const bad = Buffer.from(XZ);
    bad[7] = 0x04;
    await assertInvalid(bad, 'xz', /header CRC32/);
  });

  it('rejects a truncated xz file', async () => {
    await assertInvalid(XZ.subarray(0, XZ.length - 4), 'xz');
    await assertInvalid(Buffer.concat([XZ.subarray(0, 12), Buffer.alloc(64, 0x41)]), 'xz', /footer/);
  });

  it('rejects a damaged footer', async () => {
    const bad = Buffer.from(XZ);
    bad[bad.length - 12] = bad[bad.length - 12]! ^ 0x01;
    await assertInvalid(bad, 'xz', /footer CRC32/);
  });

  it('rejects an HTML page', async () => {
    await assertInvalid(HTML_PAGE, 'xz', /HTML page/);
  });
});

describe('validateArchive: phar, rar, file and unknown dists', () => {
  it('accepts a stub phar, even with the token across a read-chunk boundary', async () => {
    const token = '__HALT_COMPILER();';
    const head = Buffer.alloc(65536 - 7, 0x20);
    head.write('<?php ', 0, 'latin1');
    const phar = Buffer.concat([head, Buffer.from(`${token} ?>\r\n`, 'latin1'), Buffer.alloc(100, 1)]);
    assert.deepEqual(await check(phar, 'phar'), { format: 'phar' });
  });

  it('accepts zip, tar and tar.gz phars', async () => {
    assert.deepEqual(await check(PKG, 'phar'), { format: 'zip', entries: 4 });
    assert.deepEqual(await check(TAR, 'phar'), { format: 'tar', entries: 4 });
    assert.deepEqual(await check(TGZ, 'phar'), { format: 'tar+gzip', entries: 4 });
  });

  it('accepts a gzip-compressed stub phar', async () => {
    assert.deepEqual(await check(makeGzip('<?php echo 1; __HALT_COMPILER(); ?>\r\n'), 'phar'), { format: 'phar' });
  });

  it('rejects a PHP file without __HALT_COMPILER();', async () => {
    await assertInvalid('<?php echo "hello";\n', 'phar', /HALT_COMPILER/);
  });

  it('rejects an HTML page as phar', async () => {
    await assertInvalid(HTML_PAGE, 'phar', /HTML page/);
  });

  it('accepts rar by magic and rejects other bytes', async () => {
    assert.deepEqual(await check(Buffer.concat([Buffer.from('Rar!\x1a\x07\x01\x00', 'latin1'), Buffer.alloc(20, 3)]), 'rar'), { format: 'rar' });
    await assertInvalid(PKG, 'rar', /zip archive/);
  });

  it('does not inspect file dists or unknown types', async () => {
    assert.deepEqual(await check(HTML_PAGE, 'file'), { format: 'file' });
    assert.deepEqual(await check(JSON_BODY, 'some-custom-type'), { format: 'file' });
  });
});
