// The one zip writer of the tests and the bench: written by hand (no dependency), correct enough
// for `unzip -t`, PHP's ZipArchive and real Composer to accept, and able to write what a hostile or
// unusual server sends (zip64, data descriptors, lying sizes and CRCs). Plain JavaScript so the bench
// runs it without compiling test code; the tests compile it along (allowJs).
import { crc32, deflateRawSync } from 'node:zlib';

// 2024-01-02 03:04:06 in MS-DOS format, fixed so archives are byte-for-byte reproducible.
export const DOS_TIME = (3 << 11) | (4 << 5) | (6 >> 1);
export const DOS_DATE = ((2024 - 1980) << 9) | (1 << 5) | 2;

/**
 * @typedef {object} ZipEntry
 * @property {string} name Path inside the archive; a trailing `/` makes a directory entry.
 * @property {string | Buffer} [content]
 * @property {boolean} [compress] Deflate the data (default: stored).
 * @property {Buffer} [rawData] These bytes as the entry's (already deflated when `compress`) data, instead of `content`.
 * @property {number} [declaredSize] The uncompressed size the headers declare, when they should lie.
 * @property {number} [declaredCrc] The CRC-32 the headers declare, when they should lie.
 */

/**
 * @typedef {object} ZipOptions
 * @property {boolean} [dataDescriptor] Flag bit 3: zeros in the local header, CRC and sizes in a data descriptor after the data.
 * @property {boolean} [zip64] Sizes and offsets in zip64 extra fields (0xffffffff in the 32-bit fields), zip64 end records.
 */

/** @param {string | Buffer | undefined} content */
function bytesOf(content) {
  if (content === undefined) return Buffer.alloc(0);
  return typeof content === 'string' ? Buffer.from(content, 'utf8') : content;
}

/**
 * @param {readonly ZipEntry[]} entries
 * @param {ZipOptions} [options]
 * @returns {Buffer}
 */
export function makeZip(entries, options = {}) {
  const zip64 = options.zip64 === true;
  const descriptor = options.dataDescriptor === true;
  const locals = [];
  const centrals = [];
  let offset = 0;
  for (const entry of entries) {
    const name = Buffer.from(entry.name, 'utf8');
    const isDir = entry.name.endsWith('/');
    const data = bytesOf(entry.content);
    const method = entry.compress === true && !isDir ? 8 : 0;
    const stored = entry.rawData ?? (method === 8 ? deflateRawSync(data) : data);
    const crc = entry.declaredCrc ?? crc32(data);
    const size = entry.declaredSize ?? data.length;
    // Bit 11: the name is UTF-8 (only needed when it is not plain ASCII).
    const flags = (/^[\x20-\x7e]*$/.test(entry.name) ? 0 : 0x0800) | (descriptor ? 0x0008 : 0);
    const version = zip64 ? 45 : 20;

    const localExtra = Buffer.alloc(zip64 ? 20 : 0);
    if (zip64) {
      localExtra.writeUInt16LE(0x0001, 0);
      localExtra.writeUInt16LE(16, 2);
      localExtra.writeBigUInt64LE(descriptor ? 0n : BigInt(size), 4);
      localExtra.writeBigUInt64LE(descriptor ? 0n : BigInt(stored.length), 12);
    }
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(version, 4); // version needed: 2.0 (deflate, directories), 4.5 zip64
    local.writeUInt16LE(flags, 6);
    local.writeUInt16LE(method, 8);
    local.writeUInt16LE(DOS_TIME, 10);
    local.writeUInt16LE(DOS_DATE, 12);
    local.writeUInt32LE(descriptor ? 0 : crc, 14);
    local.writeUInt32LE(zip64 ? 0xffffffff : descriptor ? 0 : stored.length, 18);
    local.writeUInt32LE(zip64 ? 0xffffffff : descriptor ? 0 : size, 22);
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(localExtra.length, 28);
    locals.push(local, name, localExtra, stored);
    let entryBytes = local.length + name.length + localExtra.length + stored.length;
    if (descriptor) {
      const dd = Buffer.alloc(zip64 ? 24 : 16);
      dd.writeUInt32LE(0x08074b50, 0);
      dd.writeUInt32LE(crc, 4);
      if (zip64) {
        dd.writeBigUInt64LE(BigInt(stored.length), 8);
        dd.writeBigUInt64LE(BigInt(size), 16);
      } else {
        dd.writeUInt32LE(stored.length, 8);
        dd.writeUInt32LE(size, 12);
      }
      locals.push(dd);
      entryBytes += dd.length;
    }

    const centralExtra = Buffer.alloc(zip64 ? 28 : 0);
    if (zip64) {
      centralExtra.writeUInt16LE(0x0001, 0);
      centralExtra.writeUInt16LE(24, 2);
      centralExtra.writeBigUInt64LE(BigInt(size), 4);
      centralExtra.writeBigUInt64LE(BigInt(stored.length), 12);
      centralExtra.writeBigUInt64LE(BigInt(offset), 20);
    }
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE((3 << 8) | version, 4); // made by: Unix (so external attrs carry modes)
    central.writeUInt16LE(version, 6);
    central.writeUInt16LE(flags, 8);
    central.writeUInt16LE(method, 10);
    central.writeUInt16LE(DOS_TIME, 12);
    central.writeUInt16LE(DOS_DATE, 14);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(zip64 ? 0xffffffff : stored.length, 20);
    central.writeUInt32LE(zip64 ? 0xffffffff : size, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt16LE(centralExtra.length, 30);
    // comment length, disk number start, internal attributes: 0
    const mode = isDir ? 0o40755 : 0o100644;
    central.writeUInt32LE(((mode << 16) | (isDir ? 0x10 : 0)) >>> 0, 38);
    central.writeUInt32LE(zip64 ? 0xffffffff : offset, 42);
    centrals.push(central, name, centralExtra);

    offset += entryBytes;
  }
  const centralDirectory = Buffer.concat(centrals);
  const tail = [];
  if (zip64) {
    const record = Buffer.alloc(56);
    record.writeUInt32LE(0x06064b50, 0);
    record.writeBigUInt64LE(44n, 4); // size of the rest of this record
    record.writeUInt16LE((3 << 8) | 45, 12);
    record.writeUInt16LE(45, 14);
    // disk numbers (16, 20): 0
    record.writeBigUInt64LE(BigInt(entries.length), 24);
    record.writeBigUInt64LE(BigInt(entries.length), 32);
    record.writeBigUInt64LE(BigInt(centralDirectory.length), 40);
    record.writeBigUInt64LE(BigInt(offset), 48);
    const locator = Buffer.alloc(20);
    locator.writeUInt32LE(0x07064b50, 0);
    locator.writeBigUInt64LE(BigInt(offset + centralDirectory.length), 8);
    locator.writeUInt32LE(1, 16); // total disks
    tail.push(record, locator);
  }
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(zip64 ? 0xffff : entries.length, 8);
  end.writeUInt16LE(zip64 ? 0xffff : entries.length, 10);
  end.writeUInt32LE(zip64 ? 0xffffffff : centralDirectory.length, 12);
  end.writeUInt32LE(zip64 ? 0xffffffff : offset, 16);
  return Buffer.concat([...locals, centralDirectory, ...tail, end]);
}
