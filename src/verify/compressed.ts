import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { crc32, createGunzip } from 'node:zlib';
import { ArchiveValidationError, asValidationError, overUnpackedLimit, type CheckedFile } from './archive-common.js';
import { BZIP2_BLOCK_MAGIC, BZIP2_EOS_MAGIC } from './sniff.js';

/** gzip, bzip2 and xz streams: gunzip to the end (bounded), bzip2 and xz markers. */
/**
 * Streams the file through gunzip into `consume`; corrupt or truncated gzip becomes a validation
 * error. Decompression is the check at every level (there is no tar structure without it), so it
 * is always bounded: it stops once the output passes `--max-unpacked-size` — an 8 MiB gzip bomb
 * then costs 1 GiB of inflation (by default) instead of 8 GiB.
 */
export async function gunzipFile(file: CheckedFile, consume: (source: AsyncIterable<Buffer>) => Promise<void>): Promise<void> {
  // Not stream.pipeline: when the consumer throws (or zlib ends early on trailing zero bytes)
  // while the file is still being read, pipeline reports a generic AbortError instead of the cause.
  const input = createReadStream(file.path, { highWaterMark: 1 << 20 });
  const gunzip = createGunzip({ chunkSize: 256 * 1024 });
  input.on('error', (error) => gunzip.destroy(error));
  input.pipe(gunzip);
  try {
    await consume(bounded(gunzip, file.maxUnpackedBytes));
  } catch (error) {
    throw asValidationError(error, 'gzip');
  } finally {
    input.destroy();
    gunzip.destroy();
  }
}

export async function* bounded(source: AsyncIterable<Buffer>, limit: number): AsyncGenerator<Buffer> {
  let total = 0;
  for await (const chunk of source) {
    total += chunk.length;
    if (total > limit) throw overUnpackedLimit('gzip: inflates to', limit);
    yield chunk;
  }
}

export async function drain(source: AsyncIterable<Buffer>): Promise<void> {
  for await (const _chunk of source) {
    // Decompressing to the end is the check: zlib verifies CRC32 and ISIZE in the trailer.
  }
}

/**
 * Node has no bzip2 decoder, so this is all that can be checked: the stream header, the first
 * block's magic, and the end-of-stream marker (48-bit magic + 32-bit combined CRC, bit-aligned,
 * then zero padding to a byte) in the last 11 bytes — which catches truncation and trailing junk,
 * but not damaged bytes inside the blocks.
 */
export async function checkBzip2(file: CheckedFile, head: Buffer): Promise<void> {
  const magic = head.subarray(4, 10);
  if (magic.equals(BZIP2_EOS_MAGIC)) throw new ArchiveValidationError('bzip2: the stream is empty');
  if (!magic.equals(BZIP2_BLOCK_MAGIC)) throw new ArchiveValidationError('bzip2: bad block header');
  const handle = await open(file.path, 'r');
  let tail: Buffer;
  try {
    tail = Buffer.alloc(Math.min(11, file.size));
    await handle.read(tail, 0, tail.length, file.size - tail.length);
  } finally {
    await handle.close();
  }
  const bits = BigInt(`0x${tail.toString('hex')}`);
  const eos = BigInt(`0x${BZIP2_EOS_MAGIC.toString('hex')}`);
  for (let pad = 0n; pad < 8n; pad++) {
    if ((bits & ((1n << pad) - 1n)) === 0n && ((bits >> (32n + pad)) & ((1n << 48n) - 1n)) === eos) return;
  }
  throw new ArchiveValidationError('bzip2: no end-of-stream marker at the end of the file (truncated?)');
}

/**
 * xz stream header (magic, flags, CRC32) and footer (CRC32, backward size, flags, "YZ"); reads
 * only the first 12 bytes and a small window at the end (stream padding is zero bytes in
 * multiples of 4 after the footer). For concatenated streams only the last footer is checked.
 */
export async function checkXzStream(path: string, size: number): Promise<void> {
  if (size < 32) throw new ArchiveValidationError(`xz: file is ${size} bytes, shorter than an empty xz stream`);
  if (size % 4 !== 0) throw new ArchiveValidationError('xz: size is not a multiple of 4 (truncated?)');
  const handle = await open(path, 'r');
  try {
    const header = Buffer.alloc(12);
    await handle.read(header, 0, 12, 0);
    if (crc32(header.subarray(6, 8)) !== header.readUInt32LE(8)) throw new ArchiveValidationError('xz: stream header CRC32 mismatch');
    if (header[6] !== 0 || (header[7]! & 0xf0) !== 0) throw new ArchiveValidationError('xz: unsupported stream flags');

    const windowSize = Math.min(size - 12, 4096);
    const tail = Buffer.alloc(windowSize);
    await handle.read(tail, 0, windowSize, size - windowSize);
    let end = tail.length;
    while (end >= 4 && tail.readUInt32LE(end - 4) === 0) end -= 4;
    if (end < 12) throw new ArchiveValidationError('xz: no stream footer (file ends in zero bytes)');
    const footer = tail.subarray(end - 12, end);
    if (footer[10] !== 0x59 || footer[11] !== 0x5a) throw new ArchiveValidationError('xz: stream footer magic missing (truncated?)');
    if (crc32(footer.subarray(4, 10)) !== footer.readUInt32LE(0)) throw new ArchiveValidationError('xz: stream footer CRC32 mismatch');
    const indexSize = (footer.readUInt32LE(4) + 1) * 4;
    const footerStart = size - windowSize + end - 12;
    if (indexSize + 12 > footerStart) throw new ArchiveValidationError('xz: index size in the footer points before the start of the file');
  } finally {
    await handle.close();
  }
}
