// Bench archives: stored (uncompressed) zips of pseudo-random bytes, so archive sizes are exact and
// realistic archives can be produced fast. Written by the tests' zip writer (plain JavaScript, so the
// bench runs it without compiling test code).
import { makeZip } from '../test/helpers/zip-writer.js';

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

/** A zip of about `size` bytes (exact within a few hundred bytes) with a composer.json and data files. */
export function makeBenchZip(name, size, seed) {
  const entries = [{ name: `${name.replace('/', '-')}/composer.json`, data: Buffer.from(`${JSON.stringify({ name })}\n`) }];
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
  return makeZip(entries.map((e) => ({ name: e.name, content: e.data })));
}
