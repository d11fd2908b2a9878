/**
 * Test-only archive builders. Zip and tar are written by hand (no dependency), correct enough
 * for `unzip -t`, PHP's ZipArchive/PharData and real Composer to accept them.
 */
import { constants, crc32, deflateRawSync, gzipSync } from 'node:zlib';
import { makeZip, type ZipOptions } from './zip-writer.js';

export { makeZip, type ZipOptions };

export interface ArchiveEntry {
  /** Path inside the archive; a trailing `/` makes a directory entry. */
  readonly name: string;
  readonly content?: string | Buffer;
  /** zip only: deflate the data (default: stored). */
  readonly compress?: boolean;
  /** zip only: these bytes as the entry's (already deflated when `compress`) data, instead of `content`. */
  readonly rawData?: Buffer;
  /** zip only: the uncompressed size and CRC-32 the headers declare, when they should lie. */
  readonly declaredSize?: number;
  readonly declaredCrc?: number;
}

// 2024-01-02 03:04:06, fixed so archives are byte-for-byte reproducible (the zip writer uses the same).
const TAR_MTIME = Math.floor(Date.UTC(2024, 0, 2, 3, 4, 6) / 1000);

function bytesOf(content: string | Buffer | undefined): Buffer {
  if (content === undefined) return Buffer.alloc(0);
  return typeof content === 'string' ? Buffer.from(content, 'utf8') : content;
}

function writeOctal(block: Buffer, offset: number, width: number, value: number): void {
  // width - 1 octal digits, then NUL, as POSIX ustar writes numeric fields.
  block.write(`${value.toString(8).padStart(width - 1, '0')}\0`, offset, width, 'latin1');
}

export function makeTar(entries: readonly ArchiveEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const entry of entries) {
    const isDir = entry.name.endsWith('/');
    const data = isDir ? Buffer.alloc(0) : bytesOf(entry.content);
    let name = entry.name;
    let prefix = '';
    if (Buffer.byteLength(name) > 100) {
      const cut = name.lastIndexOf('/', name.length - 2);
      prefix = name.slice(0, cut);
      name = name.slice(cut + 1);
      if (cut < 0 || Buffer.byteLength(name) > 100 || Buffer.byteLength(prefix) > 155) throw new Error(`makeTar: name too long: ${entry.name}`);
    }
    const header = Buffer.alloc(512);
    header.write(name, 0, 100, 'utf8');
    writeOctal(header, 100, 8, isDir ? 0o755 : 0o644);
    writeOctal(header, 108, 8, 0);
    writeOctal(header, 116, 8, 0);
    writeOctal(header, 124, 12, data.length);
    writeOctal(header, 136, 12, TAR_MTIME);
    header.write('        ', 148, 8, 'latin1');
    header.write(isDir ? '5' : '0', 156, 1, 'latin1');
    header.write('ustar\0', 257, 6, 'latin1');
    header.write('00', 263, 2, 'latin1');
    header.write('root', 265, 32, 'latin1');
    header.write('root', 297, 32, 'latin1');
    header.write(prefix, 345, 155, 'utf8');
    let sum = 0;
    for (const byte of header) sum += byte;
    header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'latin1');
    parts.push(header, data);
    const padding = (512 - (data.length % 512)) % 512;
    if (padding > 0) parts.push(Buffer.alloc(padding));
  }
  parts.push(Buffer.alloc(1024)); // end-of-archive: two zero blocks
  return Buffer.concat(parts);
}

export function makeTarGz(entries: readonly ArchiveEntry[]): Buffer {
  return gzipSync(makeTar(entries));
}

export function makeGzip(content: string | Buffer): Buffer {
  return gzipSync(bytesOf(content));
}

/**
 * The smallest valid xz file: an empty stream (header, empty index, footer), CRC32 check type.
 * Enough to exercise the header/footer check; Node cannot decode xz anyway.
 */
export function makeEmptyXz(): Buffer {
  const header = Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00, 0x00, 0x01, 0, 0, 0, 0]);
  header.writeUInt32LE(crc32(header.subarray(6, 8)), 8);
  const index = Buffer.from([0x00, 0x00, 0x00, 0x00, 0, 0, 0, 0]); // indicator, 0 records, padding
  index.writeUInt32LE(crc32(index.subarray(0, 4)), 4);
  const footer = Buffer.from([0, 0, 0, 0, 0, 0, 0, 0, 0x00, 0x01, 0x59, 0x5a]);
  footer.writeUInt32LE(index.length / 4 - 1, 4);
  footer.writeUInt32LE(crc32(footer.subarray(4, 10)), 0);
  return Buffer.concat([header, index, footer]);
}

function packageEntries(name: string, version: string): ArchiveEntry[] {
  // GitHub-style top-level directory, which Composer strips when it is the only entry.
  const top = `${name.replace('/', '-')}-${version}/`;
  return [
    { name: top },
    { name: `${top}composer.json`, content: `${JSON.stringify({ name }, null, 4)}\n`, compress: true },
    { name: `${top}src/` },
    { name: `${top}src/Hello.php`, content: `<?php\n\n// ${name} ${version}\nfinal class Hello\n{\n}\n`, compress: true },
  ];
}

/** A dist zip as Composer extracts it: `<vendor>-<package>-<version>/composer.json` and `src/Hello.php`. */
export function composerPackageZip(name: string, version: string): Buffer {
  return makeZip(packageEntries(name, version));
}

export function composerPackageTarGz(name: string, version: string): Buffer {
  return makeTarGz(packageEntries(name, version));
}

/**
 * Raw deflate of `total` zero bytes (rounded up to 16 MiB), about 1000× smaller: the same flushed,
 * non-final 16 MiB block repeated, then a final empty block. For zip-bomb entries.
 */
export function deflatedZeros(total: number): Buffer {
  const piece = 16 * 1024 * 1024;
  const block = deflateRawSync(Buffer.alloc(piece), { finishFlush: constants.Z_SYNC_FLUSH, level: 9 });
  const parts = Array.from({ length: Math.ceil(total / piece) }, () => block);
  parts.push(deflateRawSync(Buffer.alloc(0)));
  return Buffer.concat(parts);
}

/**
 * A tar.gz bomb as a list of gzip members (gunzip reads concatenated members as one stream): a
 * tar header declaring a file of `inflatedBytes`, then one 64 MiB-of-zeros member repeated. The
 * list holds the same member many times, so memory stays ~65 KiB whatever the inflated size;
 * write the parts one after the other. 8 GiB → ~8 MiB of gzip.
 */
export function tarGzBombParts(inflatedBytes: number): Buffer[] {
  const header = makeTar([{ name: 'bomb/zeros.bin', content: '' }]).subarray(0, 512);
  const size = Math.min(inflatedBytes, 2 ** 33 - 1024); // 11 octal digits
  header.write(`${size.toString(8).padStart(11, '0')}\0`, 124, 12, 'latin1');
  header.write('        ', 148, 8, 'latin1');
  let sum = 0;
  for (const byte of header) sum += byte;
  header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'latin1');
  const zeros = gzipSync(Buffer.alloc(64 * 1024 * 1024), { level: 9 });
  return [gzipSync(header), ...Array.from({ length: Math.ceil(inflatedBytes / (64 * 1024 * 1024)) }, () => zeros)];
}
