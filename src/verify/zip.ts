import { Readable } from 'node:stream';
import { crc32, inflateRawSync } from 'node:zlib';
import yauzl, { type Entry, type ZipFile } from 'yauzl';
import { ArchiveValidationError, DAMAGED_BYTES, asValidationError, openSource, overUnpackedLimit, type CheckedFile, type Source } from './archive-common.js';

/** `zip` dists (`ZipDownloader`): the central directory, every local header and, at `deep`, every entry's CRC-32. */
const YAUZL_OPTIONS = {
  lazyEntries: true,
  autoClose: false,
  // Windows-made zips use backslashes; unzip and ZipArchive accept them, so yauzl must too.
  strictFileNames: false,
  validateEntrySizes: true,
} as const;

/** Bytes of the archive held in memory at once while its zip structure is checked. */
export const ZIP_BLOCK_BYTES = 256 * 1024;

/**
 * Read blocks given back by finished walks, reused by the next: a deep check reads every byte of
 * every archive through blocks, and a fresh 256 KiB allocation per block left tens of MB of
 * garbage outside V8's heap between collections (peak RSS, bench/RESULTS.md 2026-12-02). A few
 * are kept: walks on one thread run one or a handful at a time.
 */
const spareBlocks: ArrayBuffer[] = [];
const SPARE_BLOCKS = 8;

/** A whole read block, reused when one is spare. Give it back with `giveBackBlock` once no view of it is in use. */
export function takeBlock(): Buffer {
  const spare = spareBlocks.pop();
  return spare === undefined ? Buffer.allocUnsafeSlow(ZIP_BLOCK_BYTES) : Buffer.from(spare);
}

/** Returns a block from `takeBlock` (or a view of one) for reuse; anything else is left to the GC. */
function giveBackBlock(block: Buffer): void {
  const whole = block.buffer;
  if (whole instanceof ArrayBuffer && whole.byteLength === ZIP_BLOCK_BYTES && spareBlocks.length < SPARE_BLOCKS && !spareBlocks.includes(whole))
    spareBlocks.push(whole);
}

/**
 * Serves yauzl's small reads (a central-directory record, a local header: tens of bytes each)
 * from one block read ahead of them. yauzl issues one `fs.read` per record, which dominated the
 * CPU profile of a prefetch (bench/RESULTS.md); records are read in ascending order, so one
 * block serves many of them. Memory stays one block, whatever the archive size.
 */
class BlockReader extends yauzl.RandomAccessReader {
  readonly #handle: Source;
  readonly #size: number;
  /**
   * Two blocks, most recently used first: the walk alternates between the central directory
   * (at the end) and each entry's local header (spread through the file).
   */
  #blocks: { start: number; data: Buffer }[] = [];

  constructor(handle: Source, size: number, first?: Buffer) {
    super();
    this.#handle = handle;
    this.#size = size;
    // The bytes already read from offset 0 (the sniff's read) serve as the first block.
    if (first !== undefined && first.length > 0) this.#blocks = [{ start: 0, data: first }];
  }

  /**
   * The bytes `[start, end)` as a stream, read through the Source at positions. Not an
   * `fs.ReadStream` over the Source's fd: destroying one (as an early exit from a big entry does)
   * closes the fd even with `autoClose: false`, and the Source's own close then closes a number
   * that may already belong to another download's file or socket.
   */
  override _readStreamForRange(start: number, end: number): Readable {
    const handle = this.#handle;
    return Readable.from(
      (async function* () {
        for (let position = start; position < end; ) {
          const chunk = Buffer.allocUnsafe(Math.min(ZIP_BLOCK_BYTES, end - position));
          const bytesRead = handle.read(chunk, 0, chunk.length, position);
          if (bytesRead === 0) throw new ArchiveValidationError(`zip: file ends inside entry data at offset ${position}`);
          position += bytesRead;
          yield chunk.subarray(0, bytesRead);
        }
      })(),
      { objectMode: false },
    );
  }

  /**
   * Answers yauzl at once (the callback runs before `read` returns): every read is a copy from a
   * block or one synchronous read of the file, and a promise per read cost more than the copy —
   * three per entry (central record, its names, the local header).
   */
  override read(buffer: Buffer, offset: number, length: number, position: number, callback: (err: Error | null) => void): void {
    const done = callback as (err: Error | null, bytesRead?: number) => void;
    let bytesRead: number;
    try {
      bytesRead = this.#read(buffer, offset, length, position);
    } catch (error) {
      done(error as Error);
      return;
    }
    done(null, bytesRead);
  }

  #read(buffer: Buffer, offset: number, length: number, position: number): number {
    if (length > ZIP_BLOCK_BYTES) return this.#handle.read(buffer, offset, length, position);
    const block = this.#blockFor(position, length);
    const from = position - block.start;
    return block.data.copy(buffer, offset, from, Math.min(from + length, block.data.length));
  }

  #blockFor(position: number, length: number): { start: number; data: Buffer } {
    let block = this.#blocks.find((b) => position >= b.start && position + length <= b.start + b.data.length);
    if (block === undefined) {
      const data = takeBlock().subarray(0, Math.min(ZIP_BLOCK_BYTES, Math.max(0, this.#size - position)));
      const bytesRead = this.#handle.read(data, 0, data.length, position);
      block = { start: position, data: data.subarray(0, bytesRead) };
    }
    if (this.#blocks[0] !== block) {
      const kept = [block, ...this.#blocks.filter((b) => b !== block)];
      // An evicted block's views were used before this read was asked for (entries are walked
      // one at a time): it can serve the next read.
      for (const evicted of kept.splice(2)) giveBackBlock(evicted.data);
      this.#blocks = kept;
    }
    return block;
  }

  /**
   * `length` bytes at `position`, through the block cache when small (entries are read in order).
   * A small range is a view of its block (blocks are never written after the read that fills them).
   */
  readRange(position: number, length: number): Buffer {
    if (length <= ZIP_BLOCK_BYTES) {
      const block = this.#blockFor(position, length);
      const from = position - block.start;
      if (from + length <= block.data.length) return block.data.subarray(from, from + length);
    }
    const buffer = Buffer.allocUnsafe(length);
    let done = 0;
    while (done < length) {
      const n = this.#read(buffer, done, length - done, position + done);
      if (n === 0) throw new ArchiveValidationError(`zip: file ends inside entry data at offset ${position + done}`);
      done += n;
    }
    return buffer;
  }

  override close(callback: (err: Error | null) => void): void {
    for (const block of this.#blocks.splice(0)) giveBackBlock(block.data);
    this.#handle.close().then(
      () => callback(null),
      (error: Error) => callback(error),
    );
  }
}

/** `validateZip` on a file not opened yet (zips inside tar and phar dist types). */
export async function validateZipFile(file: CheckedFile): Promise<number> {
  let source: Source;
  try {
    source = openSource(file.path);
  } catch (error) {
    throw asValidationError(error, 'zip');
  }
  return validateZip(file, source, Buffer.alloc(0));
}

/** Walks the zip open on `handle` (closed here, whatever happens); `first`: its bytes from offset 0. */
export async function validateZip(file: CheckedFile, handle: Source, first: Buffer): Promise<number> {
  let zip: ZipFile;
  let reader: BlockReader;
  try {
    try {
      reader = new BlockReader(handle, file.size, first);
      zip = await yauzl.fromRandomAccessReaderPromise(reader, file.size, YAUZL_OPTIONS);
    } catch (error) {
      await handle.close();
      throw error;
    }
  } catch (error) {
    throw asValidationError(error, 'zip');
  }
  // eachEntry() drops its listeners when it finishes; a late 'error' (say, from closing the fd)
  // must not become an unhandled 'error' event that kills the process.
  zip.on('error', () => {});
  try {
    if (zip.entryCount === 0) throw new ArchiveValidationError('zip: the archive has no entries');
    let entries = 0;
    let declared = 0;
    for await (const entry of zip.eachEntry()) {
      entries += 1;
      // yauzl checks the signature and that the data lies inside the file; the name and method
      // must agree with the central directory, or the offset points at the wrong bytes.
      const local = await zip.readLocalFileHeaderPromise(entry);
      if (!local.fileName.equals(entry.fileNameRaw)) {
        throw new ArchiveValidationError(`zip: local header of entry ${entries} does not name "${entry.fileName}"`);
      }
      if (local.compressionMethod !== entry.compressionMethod) {
        throw new ArchiveValidationError(
          `zip: local header of "${entry.fileName}" has compression method ${local.compressionMethod}, the central directory says ${entry.compressionMethod}`,
        );
      }
      if (file.level !== 'deep') continue;
      // Each entry's inflation is bounded by its declared size, and the running total of those by
      // --max-unpacked-size: an entry that declares too much is refused before it is inflated
      // (Composer's own extraction would write every declared byte to disk).
      declared += entry.uncompressedSize;
      if (declared > file.maxUnpackedBytes) throw overUnpackedLimit('zip: its entries declare', file.maxUnpackedBytes);
      await checkEntryData(zip, reader, entry, local.fileDataStart);
    }
    if (entries !== zip.entryCount) {
      throw new ArchiveValidationError(`zip: central directory lists ${zip.entryCount} entries, found ${entries}`);
    }
    return entries;
  } catch (error) {
    throw asValidationError(error, 'zip');
  } finally {
    zip.close();
  }
}

/** Entries up to this size are inflated in one call from one buffer; bigger ones stream. */
const INFLATE_IN_MEMORY_BYTES = 4 * 1024 * 1024;

/**
 * Inflates one entry and compares its CRC-32 and size with the central directory, which is what
 * unzip checks when Composer's `ZipDownloader` extracts (and what ZipArchive, its fallback, does
 * not: it silently writes short or wrong files). The central directory is the reference
 * because, with a data descriptor (flag bit 3), the local header holds zeros. Inflation stops as
 * soon as the output passes the declared size, so a bomb costs at most its declared size.
 */
async function checkEntryData(zip: ZipFile, reader: BlockReader, entry: Entry, dataStart: number): Promise<void> {
  const name = entry.fileName;
  if (entry.isEncrypted()) throw new ArchiveValidationError(`entry ${name}: encrypted, which Composer cannot extract`);
  const method = entry.compressionMethod;
  if (method !== 0 && method !== 8) {
    // bzip2 (12), lzma (14), deflate64 (9)…: no decoder in Node. The structure was checked; the
    // content cannot be, and unzip may still extract it, so it is not refused.
    return;
  }
  const expected = entry.uncompressedSize;
  let crc: number;
  let produced: number;
  if (entry.compressedSize <= INFLATE_IN_MEMORY_BYTES && expected <= INFLATE_IN_MEMORY_BYTES) {
    const raw = reader.readRange(dataStart, entry.compressedSize);
    let data: Buffer;
    if (method === 0) data = raw;
    else {
      try {
        // maxOutputLength: zlib gives up as soon as the output would pass it (ERR_BUFFER_TOO_LARGE).
        // chunkSize = the declared size: zlib writes the output in one piece, no concatenation copy.
        data = inflateRawSync(raw, { maxOutputLength: Math.max(1, expected), chunkSize: Math.max(64, expected) });
      } catch (error) {
        throw inflateError(name, expected, error);
      }
    }
    crc = crc32(data);
    produced = data.length;
  } else {
    ({ crc, produced } = await streamEntryCrc(zip, entry, dataStart));
  }
  if (produced !== expected) {
    throw new ArchiveValidationError(`entry ${name}: holds ${produced} bytes, the zip's directory says ${expected} — ${DAMAGED_BYTES}`);
  }
  if (crc !== entry.crc32) throw new ArchiveValidationError(`entry ${name}: CRC mismatch — ${DAMAGED_BYTES}`);
}

/** yauzl's own read stream (inflate + its byte-count assertion against the declared size). */
async function streamEntryCrc(zip: ZipFile, entry: Entry, dataStart: number): Promise<{ crc: number; produced: number }> {
  const stream = await new Promise<Readable>((resolve, reject) => {
    zip.openReadStreamLowLevel(dataStart, entry.compressedSize, 0, entry.compressedSize, entry.compressionMethod === 8, entry.uncompressedSize, (error, s) =>
      error ? reject(error) : resolve(s),
    );
  });
  let crc = 0;
  let produced = 0;
  try {
    for await (const chunk of stream) {
      crc = crc32(chunk as Buffer, crc);
      produced += (chunk as Buffer).length;
      if (produced > entry.uncompressedSize) break;
    }
  } catch (error) {
    throw inflateError(entry.fileName, entry.uncompressedSize, error);
  } finally {
    stream.destroy();
  }
  return { crc, produced };
}

function inflateError(name: string, expected: number, error: unknown): ArchiveValidationError {
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  const message = error instanceof Error ? error.message : String(error);
  if (code === 'ERR_BUFFER_TOO_LARGE' || /too many bytes/.test(message)) {
    return new ArchiveValidationError(`entry ${name}: inflates past the ${expected} bytes the zip's directory declares (damaged bytes, or a zip bomb)`, {
      cause: error,
    });
  }
  if (/too few bytes/.test(message)) {
    return new ArchiveValidationError(`entry ${name}: holds fewer bytes than the ${expected} the zip's directory says — ${DAMAGED_BYTES}`, { cause: error });
  }
  return new ArchiveValidationError(`entry ${name}: compressed data does not inflate (${message}) — ${DAMAGED_BYTES}`, { cause: error });
}
