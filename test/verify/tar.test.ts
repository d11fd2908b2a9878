import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { checkPackageIdentity } from '../../src/verify/package-identity.js';
import { tarSize, walkTar, type TarStep } from '../../src/verify/tar.js';
import { makeTar } from '../helpers/archives.js';

/** A raw header block of `type` whose data is `size` bytes (checksum right). */
function header(name: string, type: string, size: number): Buffer {
  const block = Buffer.alloc(512);
  block.write(name, 0, 100, 'utf8');
  block.write(`${size.toString(8).padStart(11, '0')}\0`, 124, 12, 'latin1');
  block.write('        ', 148, 8, 'latin1');
  block.write(type, 156, 1, 'latin1');
  block.write('ustar\0', 257, 6, 'latin1');
  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'latin1');
  return block;
}

function padded(data: Buffer): Buffer {
  return Buffer.concat([data, Buffer.alloc((512 - (data.length % 512)) % 512)]);
}

async function* chunksOf(bytes: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
}

describe('tar walker', () => {
  const tar = makeTar([{ name: 'pkg/' }, { name: 'pkg/composer.json', content: '{"name":"a/b"}' }, { name: 'pkg/big.bin', content: Buffer.alloc(1500, 7) }]);

  for (const size of [1, 7, 512, 100_000]) {
    it(`sees the same headers and data in chunks of ${size} bytes`, async () => {
      const seen: string[] = [];
      const walked = await walkTar(
        chunksOf(tar, size),
        (block, offset): TarStep => {
          if (block.every((b) => b === 0)) return { kind: 'end' };
          const name = block.subarray(0, 100).toString('utf8').replace(/\0.*$/s, '');
          const bytes = tarSize(block)!;
          seen.push(`${offset}:${name}`);
          return { kind: 'read', bytes, padded: Math.ceil(bytes / 512) * 512, onData: (data) => seen.push(`${name}=${data.length}`) };
        },
        { readToEnd: false },
      );
      assert.deepEqual(seen, ['0:pkg/', 'pkg/=0', '512:pkg/composer.json', 'pkg/composer.json=14', '1536:pkg/big.bin', 'pkg/big.bin=1500']);
      assert.equal(walked.ended, true);
    });
  }

  it('says what a truncated stream lacked', async () => {
    const inData = await walkTar(chunksOf(tar.subarray(0, 512 * 4 + 100), 64), (block) => ({ kind: 'skip', bytes: Math.ceil(tarSize(block)! / 512) * 512 }), {
      readToEnd: true,
    });
    assert.deepEqual(inData, { ended: false, insideHeader: false, missing: 1536 - 100, offset: 512 * 4 + 100 });
    const inHeader = await walkTar(chunksOf(tar.subarray(0, 700), 64), (block) => ({ kind: 'skip', bytes: Math.ceil(tarSize(block)! / 512) * 512 }), {
      readToEnd: true,
    });
    assert.equal(inHeader.insideHeader, true);
  });

  it('reads base-256 sizes and refuses negative or unsafe ones', () => {
    const block = Buffer.alloc(512);
    block[124] = 0x80;
    block.writeUIntBE(9 * 1024 ** 3, 130, 6);
    assert.equal(tarSize(block), 9 * 1024 ** 3);
    block[124] = 0xff;
    assert.equal(tarSize(block), undefined);
    block.fill(0x7f, 125, 136);
    block[124] = 0x80;
    assert.equal(tarSize(block), undefined);
  });
});

describe('package identity through the tar walker', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'cp-tar-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const composerJson = Buffer.from('{"name":"acme/long"}');
  const longDir = `${'d'.repeat(120)}`;

  it('finds the root composer.json under a GNU long name', async () => {
    const longName = Buffer.from(`${longDir}/composer.json\0`);
    const bytes = Buffer.concat([
      header('././@LongLink', 'L', longName.length),
      padded(longName),
      header('ignored', '0', composerJson.length),
      padded(composerJson),
      Buffer.alloc(1024),
    ]);
    await writeFile(path.join(dir, 'gnu.tar'), bytes);
    assert.deepEqual(await checkPackageIdentity(path.join(dir, 'gnu.tar'), 'acme/long'), { ok: true, name: 'acme/long' });
  });

  it('finds the root composer.json under a pax path', async () => {
    const record = `path=${longDir}/composer.json\n`;
    const pax = Buffer.from(`${record.length + 4} ${record}`);
    assert.equal(pax.length, Number(pax.toString().split(' ')[0]));
    const bytes = Buffer.concat([
      header('PaxHeader', 'x', pax.length),
      padded(pax),
      header('ignored', '0', composerJson.length),
      padded(composerJson),
      Buffer.alloc(1024),
    ]);
    await writeFile(path.join(dir, 'pax.tar'), bytes);
    assert.deepEqual(await checkPackageIdentity(path.join(dir, 'pax.tar'), 'ACME/Long'), { ok: true, name: 'acme/long' });
  });
});
