// Bench-only zip writer: valid stored (uncompressed) zips of pseudo-random bytes, so archive sizes
// are exact and realistic archives can be produced fast. Kept separate from test/helpers on purpose:
// the bench must run from `dist/` after `npm ci` without compiling test code.
import { crc32 } from 'node:zlib';

/** Deterministic PRNG (mulberry32): the same seed gives the same sizes and bytes on every machine. */
export function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Incompressible filler (xorshift32): random bytes, like the compressed data of a real archive. */
function fill(length, seed) {
  const words = new Uint32Array(Math.ceil(length / 4));
  let x = seed >>> 0 || 0x9e3779b9;
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    words[i] = x >>> 0;
  }
  return Buffer.from(words.buffer, 0, length);
}

const DOS_TIME = (3 << 11) | (4 << 5) | 3;
const DOS_DATE = ((2024 - 1980) << 9) | (1 << 5) | 2;

/** A zip of about `size` bytes (exact within a few hundred bytes) with a composer.json and data files. */
export function makeBenchZip(name, size, seed) {
  const entries = [{ name: `${name.replace('/', '-')}/composer.json`, data: Buffer.from(JSON.stringify({ name }) + '\n') }];
  const overheadPerEntry = 30 + 46 + 48;
  let remaining = Math.max(0, size - 200 - overheadPerEntry);
  let i = 0;
  while (remaining > 0) {
    // ~8 KiB per entry, like PHP source files: validation cost scales with the entry count.
    const n = Math.min(remaining, 8 * 1024);
    entries.push({ name: `${name.replace('/', '-')}/src/f${i}.bin`, data: fill(n, seed * 7919 + i) });
    remaining -= n + overheadPerEntry;
    i++;
  }
  const parts = [];
  const centrals = [];
  let offset = 0;
  for (const entry of entries) {
    const fileName = Buffer.from(entry.name);
    const crc = crc32(entry.data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(0, 6);
    local.writeUInt16LE(0, 8);
    local.writeUInt16LE(DOS_TIME, 10);
    local.writeUInt16LE(DOS_DATE, 12);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(entry.data.length, 18);
    local.writeUInt32LE(entry.data.length, 22);
    local.writeUInt16LE(fileName.length, 26);
    parts.push(local, fileName, entry.data);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE((3 << 8) | 20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(0, 10);
    central.writeUInt16LE(DOS_TIME, 12);
    central.writeUInt16LE(DOS_DATE, 14);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(entry.data.length, 20);
    central.writeUInt32LE(entry.data.length, 24);
    central.writeUInt16LE(fileName.length, 28);
    central.writeUInt32LE((0o100644 << 16) >>> 0, 38);
    central.writeUInt32LE(offset, 42);
    centrals.push(central, fileName);
    offset += 30 + fileName.length + entry.data.length;
  }
  const cd = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...parts, cd, end]);
}
