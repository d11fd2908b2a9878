import { closeSync, createReadStream, fstatSync, openSync, readSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { crc32, createGunzip, inflateRawSync } from 'node:zlib';
import yauzl, { type Entry, type ZipFile } from 'yauzl';
import { formatBytes } from '../bytes.js';
import { dataBlocksBytes, isZeroBlock, parseOctal, tarSize, walkTar } from './tar.js';

/**
 * How far a check goes. `structure`: the archive's directory and headers (cheap, reads a few
 * windows of the file). `deep`: also every byte of content against the archive's own checksums
 * (zip: each entry's CRC-32 and sizes; gzip: CRC-32 and ISIZE), which is what catches a
 * same-length body with damaged bytes when the lock has no shasum.
 */
export type VerifyLevel = 'deep' | 'structure';

/** The level used where none is given: every entry inflated and its CRC-32 checked (`--verify deep`). */
export const DEFAULT_VERIFY_LEVEL: VerifyLevel = 'deep';

/**
 * Most a compressed stream may inflate to, as a multiple of its compressed size (with a floor
 * for small files). Real dists stay far below: PHP source deflates 3–8× (Composer's own sources
 * as a tar.gz: 5.8×); a tar of a thousand empty files, headers alike but for the name, gzips 82×.
 * A gzip/zip bomb reaches ~1000×, so checking stops at a cost bounded by this ratio instead of
 * inflating gigabytes on every run.
 */
/**
 * Default of `--max-unpacked-size`: the most an archive may hold uncompressed (a zip's declared
 * entry sizes, a gzip stream's output). A bound on bytes, never on the compression ratio: SQL
 * dumps, fixtures and generated data compress 100–300× and Composer installs them, so a ratio
 * would refuse honest packages. Each zip entry is also bounded by its own declared size, so a
 * hostile archive costs at most this much inflation.
 */
export const DEFAULT_MAX_UNPACKED_BYTES = 1024 ** 3;

/**
 * What the bytes turned out to be. `tar+…` is a compressed tar (what `PharData` opens for a
 * `tar` dist); `gzip`/`xz` are the single-stream dist types; `file` means "not inspected".
 * `tar+xz` is never returned today (a `tar` dist holding xz is rejected, see `validateArchive`);
 * it stays in the union so a future xz decoder does not change the type.
 */
export type ArchiveFormat = 'zip' | 'tar' | 'tar+gzip' | 'tar+bzip2' | 'tar+xz' | 'gzip' | 'xz' | 'phar' | 'rar' | 'file';

export interface ArchiveInfo {
  readonly format: ArchiveFormat;
  /** Entries seen, for formats whose directory was read (zip, tar, tar+gzip). */
  readonly entries?: number;
}

/** The bytes are not what Composer's downloader for this dist type can use. `reason` is for people. */
/**
 * How a check ends when an entry's bytes do not match the zip's directory. Said of the bytes, not
 * of whoever sent them: the same check runs on an archive already in the cache (`verify`, the
 * cached check of a run), where no server is involved; the download path names the server.
 */
export const DAMAGED_BYTES = 'the bytes are damaged';

export class ArchiveValidationError extends Error {
  readonly reason: string;
  /**
   * The same bytes always fail this way (an archive over `--max-unpacked-size`): downloading them
   * again cannot help, so the download layer does not retry it.
   */
  readonly deterministic: boolean;
  constructor(reason: string, options: { cause?: unknown; deterministic?: boolean } = {}) {
    super(reason, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ArchiveValidationError';
    this.reason = reason;
    this.deterministic = options.deterministic === true;
  }
}

/** An archive that holds more than `--max-unpacked-size`; says how to lift the bound. */
function overUnpackedLimit(what: string, limit: number): ArchiveValidationError {
  return new ArchiveValidationError(`${what} more than ${formatBytes(limit)} uncompressed, over --max-unpacked-size (raise it, or 0 for no limit, if this package is meant to be that big)`, {
    deterministic: true,
  });
}

/**
 * Checks that the file at `path` is something Composer's downloader for `distType` will accept,
 * judging by the bytes (magic numbers), never by the file name. Memory stays flat: every check
 * streams or reads a few fixed-size windows.
 *
 * Per dist type (the downloader Composer picks is named after it):
 * - `zip` (`ZipDownloader`: unzip, then ZipArchive): yauzl reads the central directory and every
 *   local file header, which must sit in bounds and name the same file with the same compression
 *   method. A zip with no entries is rejected: no Composer package is empty, and such a download is
 *   always a packaging or server fault. Trailing bytes after the end record are rejected (yauzl does).
 *   At level `deep`, every stored and deflated entry is also inflated and its CRC-32 and size
 *   compared with the central directory (`checkEntryData`); entries in methods Node cannot decode
 *   (bzip2, lzma) keep the structure check only. At `structure`, entry data is not read.
 * - `tar` (`TarDownloader`: `new PharData()`, which opens plain, gzip'd and bzip2'd tar, and zip):
 *   tar headers are parsed (checksum, size) to the end marker, through gunzip for gzip. bzip2 gets
 *   its stream header and end-of-stream marker checked only (Node has no bzip2 decoder). xz is
 *   rejected: PharData cannot open it, so
 *   Composer's install would fail with "__HALT_COMPILER(); not found". A plain tar has no content
 *   checksum, so headers are all any level can check.
 * - `gzip` (`GzipDownloader`): gzip, decompressed to the end, which checks CRC32 and ISIZE.
 *   Trailing zero bytes are tolerated, other trailing bytes are not. Every gunzip (tar+gzip too,
 *   at both levels) stops past `--max-unpacked-size`.
 * - `xz` (`XzDownloader`: `tar -xJf`): stream header and footer (magic, CRC32s) only; Node has
 *   no xz decoder. Catches truncation and error pages, not damage in the middle.
 * - `phar` (`PharDownloader`: `new Phar()`): a zip or tar phar is checked as such; otherwise the
 *   file (or its gunzip'd content) must contain `__HALT_COMPILER();`.
 * - `rar`: `Rar!\x1a\x07` magic only.
 * - `file`, and any dist type this tool does not know: no structure check (format `file`); only
 *   sha1 can protect these.
 *
 * A zero-byte file is rejected for every type. Throws `ArchiveValidationError` for bad bytes;
 * I/O errors (ENOENT, EACCES, …) are rethrown unchanged, since they say nothing about the archive.
 */
export async function validateArchive(path: string, distType: string, level: VerifyLevel = 'deep', maxUnpackedBytes: number = DEFAULT_MAX_UNPACKED_BYTES): Promise<ArchiveInfo> {
  // One open for the sniff and the zip walk: the first read is the zip's first block (all of a
  // small archive), so a small zip costs open, fstat, one read and close (was two of each).
  const source = openSource(path);
  let handedOver = false;
  try {
    const size = source.size;
    const first = Buffer.allocUnsafe(Math.min(size, distType === 'zip' ? ZIP_BLOCK_BYTES : 512));
    const { bytesRead } = await source.read(first, 0, first.length, 0);
    const block = first.subarray(0, bytesRead);
    const head = block.subarray(0, 512);
    if (size === 0) throw new ArchiveValidationError('empty file (0 bytes)');
    const kind = sniff(head);
    const file: CheckedFile = { path, size, level, maxUnpackedBytes: maxUnpackedBytes > 0 ? maxUnpackedBytes : Infinity };
    if (distType === 'zip') {
      if (kind !== 'zip') throw wrongBytes('zip', kind, head);
      handedOver = true;
      return { format: 'zip', entries: await validateZip(file, source, block) };
    }
    await source.close();
    handedOver = true;
    return await validateOther(file, distType, kind, head);
  } finally {
    if (!handedOver) await source.close();
  }
}

/** An open archive file, read at positions. */
interface Source {
  readonly size: number;
  read(buffer: Buffer, offset: number, length: number, position: number): Promise<{ bytesRead: number }>;
  close(): Promise<void>;
}

/**
 * The file opened, stat'ed and read with synchronous calls: a check reads a few blocks from a
 * file just written or already cached (the page cache), and one thread-pool round trip per call
 * cost more than the read itself — 50,000 cached archives: open + fstat + read + close took
 * 3.2 s through the pool, 0.7 s synchronously (bench/RESULTS.md). Each read is at most one
 * 256 KiB block (or one local header), so the event loop is never held for long. Errors are
 * Node's usual ones (`ENOENT`, …), unchanged.
 */
function openSource(path: string): Source {
  const fd = openSync(path, 'r');
  let size: number;
  try {
    size = fstatSync(fd).size;
  } catch (error) {
    closeSync(fd);
    throw error;
  }
  let closed = false;
  return {
    size,
    read: (buffer, offset, length, position) => {
      try {
        return Promise.resolve({ bytesRead: readSync(fd, buffer, offset, length, position) });
      } catch (error) {
        return Promise.reject(error as Error);
      }
    },
    close: () => {
      if (!closed) {
        closed = true;
        try {
          closeSync(fd);
        } catch (error) {
          return Promise.reject(error as Error);
        }
      }
      return Promise.resolve();
    },
  };
}

async function validateOther(file: CheckedFile, distType: string, kind: Sniffed, head: Buffer): Promise<ArchiveInfo> {
  const { path, size } = file;
  switch (distType) {
    case 'tar':
      return validateTarDist(file, kind, head);
    case 'gzip':
      if (kind !== 'gzip') throw wrongBytes('gzip', kind, head);
      await gunzipFile(file, drain);
      return { format: 'gzip' };
    case 'xz':
      if (kind !== 'xz') throw wrongBytes('xz', kind, head);
      await checkXzStream(path, size);
      return { format: 'xz' };
    case 'phar':
      return validatePhar(file, kind, head);
    case 'rar':
      if (kind !== 'rar') throw wrongBytes('rar', kind, head);
      return { format: 'rar' };
    default:
      // 'file' and unknown types: Composer does not unpack them (or we do not know how), so
      // there is no structure to check.
      return { format: 'file' };
  }
}

interface CheckedFile {
  readonly path: string;
  readonly size: number;
  readonly level: VerifyLevel;
  /** `--max-unpacked-size` in bytes; Infinity for no limit. */
  readonly maxUnpackedBytes: number;
}

// ---------------------------------------------------------------------------------------------
// Sniffing

type Sniffed = 'zip' | 'gzip' | 'bzip2' | 'xz' | 'rar' | 'tar' | 'html' | 'json' | 'text' | 'unknown';

const XZ_MAGIC = Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]);
const RAR_MAGIC = Buffer.from('Rar!\x1a\x07', 'latin1');
const BZIP2_BLOCK_MAGIC = Buffer.from([0x31, 0x41, 0x59, 0x26, 0x53, 0x59]);
const BZIP2_EOS_MAGIC = Buffer.from([0x17, 0x72, 0x45, 0x38, 0x50, 0x90]);

function sniff(head: Buffer): Sniffed {
  const startsWith = (magic: Buffer | readonly number[]): boolean =>
    head.length >= magic.length && magic.every((byte, i) => head[i] === byte);
  // Local file header, or the end record of an empty zip.
  if (startsWith([0x50, 0x4b, 0x03, 0x04]) || startsWith([0x50, 0x4b, 0x05, 0x06])) return 'zip';
  if (startsWith([0x1f, 0x8b])) return 'gzip';
  if (startsWith([0x42, 0x5a, 0x68]) && head.length > 3 && head[3]! >= 0x31 && head[3]! <= 0x39) return 'bzip2';
  if (startsWith(XZ_MAGIC)) return 'xz';
  if (startsWith(RAR_MAGIC)) return 'rar';
  // ustar magic, or (old v7 tar) a header whose checksum holds; a damaged ustar header still
  // sniffs as tar so the reason names the checksum rather than "unrecognised bytes".
  if (head.length >= 512 && (head.subarray(257, 262).toString('latin1') === 'ustar' || (!isZeroBlock(head.subarray(0, 512)) && checkTarHeader(head.subarray(0, 512)) === undefined))) return 'tar';
  let i = 0;
  if (startsWith([0xef, 0xbb, 0xbf])) i = 3;
  while (i < head.length && (head[i] === 0x20 || head[i] === 0x09 || head[i] === 0x0a || head[i] === 0x0d)) i++;
  const first = head[i];
  // `<?php` is a PHP script (a phar stub without its halt token), not a page.
  if (first === 0x3c /* < */ && head.subarray(i, i + 5).toString('latin1') !== '<?php') return 'html';
  if (first === 0x7b /* { */ || first === 0x5b /* [ */) return 'json';
  if (head.every((b) => b === 0x09 || b === 0x0a || b === 0x0d || (b >= 0x20 && b !== 0x7f))) return 'text';
  return 'unknown';
}

function describe(kind: Sniffed, head: Buffer): string {
  switch (kind) {
    case 'html':
      return 'the file is an HTML page (an error or login page served as the download?)';
    case 'json':
      return 'the file is a JSON document (an API error served as the download?)';
    case 'text':
      return 'the file is plain text';
    case 'unknown':
      return `the file starts with unrecognised bytes ${head.subarray(0, 8).toString('hex')}`;
    case 'zip':
      return 'the file is a zip archive';
    case 'gzip':
      return 'the file is gzip data';
    case 'bzip2':
      return 'the file is bzip2 data';
    case 'xz':
      return 'the file is xz data';
    case 'rar':
      return 'the file is a rar archive';
    case 'tar':
      return 'the file is a tar archive';
  }
}

function wrongBytes(expected: string, kind: Sniffed, head: Buffer): ArchiveValidationError {
  return new ArchiveValidationError(`${describe(kind, head)}, not ${expected}`);
}

// ---------------------------------------------------------------------------------------------
// zip

const YAUZL_OPTIONS = {
  lazyEntries: true,
  autoClose: false,
  // Windows-made zips use backslashes; unzip and ZipArchive accept them, so yauzl must too.
  strictFileNames: false,
  validateEntrySizes: true,
} as const;

/** Bytes of the archive held in memory at once while its zip structure is checked. */
const ZIP_BLOCK_BYTES = 256 * 1024;

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
          const { bytesRead } = await handle.read(chunk, 0, chunk.length, position);
          if (bytesRead === 0) throw new ArchiveValidationError(`zip: file ends inside entry data at offset ${position}`);
          position += bytesRead;
          yield chunk.subarray(0, bytesRead);
        }
      })(),
      { objectMode: false },
    );
  }

  override read(buffer: Buffer, offset: number, length: number, position: number, callback: (err: Error | null) => void): void {
    const done = callback as (err: Error | null, bytesRead?: number) => void;
    this.#read(buffer, offset, length, position).then((bytesRead) => done(null, bytesRead), (error: Error) => done(error));
  }

  async #read(buffer: Buffer, offset: number, length: number, position: number): Promise<number> {
    if (length > ZIP_BLOCK_BYTES) return (await this.#handle.read(buffer, offset, length, position)).bytesRead;
    const block = await this.#blockFor(position, length);
    const from = position - block.start;
    return block.data.copy(buffer, offset, from, Math.min(from + length, block.data.length));
  }

  async #blockFor(position: number, length: number): Promise<{ start: number; data: Buffer }> {
    let block = this.#blocks.find((b) => position >= b.start && position + length <= b.start + b.data.length);
    if (block === undefined) {
      const data = Buffer.allocUnsafe(Math.min(ZIP_BLOCK_BYTES, Math.max(0, this.#size - position)));
      const { bytesRead } = await this.#handle.read(data, 0, data.length, position);
      block = { start: position, data: data.subarray(0, bytesRead) };
    }
    if (this.#blocks[0] !== block) this.#blocks = [block, ...this.#blocks.filter((b) => b !== block)].slice(0, 2);
    return block;
  }

  /**
   * `length` bytes at `position`, through the block cache when small (entries are read in order).
   * A small range is a view of its block (blocks are never written after the read that fills them).
   */
  async readRange(position: number, length: number): Promise<Buffer> {
    if (length <= ZIP_BLOCK_BYTES) {
      const block = await this.#blockFor(position, length);
      const from = position - block.start;
      if (from + length <= block.data.length) return block.data.subarray(from, from + length);
    }
    const buffer = Buffer.allocUnsafe(length);
    let done = 0;
    while (done < length) {
      const n = await this.#read(buffer, done, length - done, position + done);
      if (n === 0) throw new ArchiveValidationError(`zip: file ends inside entry data at offset ${position + done}`);
      done += n;
    }
    return buffer;
  }

  override close(callback: (err: Error | null) => void): void {
    this.#handle.close().then(() => callback(null), (error: Error) => callback(error));
  }
}

/** `validateZip` on a file not opened yet (zips inside tar and phar dist types). */
async function validateZipFile(file: CheckedFile): Promise<number> {
  let source: Source;
  try {
    source = openSource(file.path);
  } catch (error) {
    throw asValidationError(error, 'zip');
  }
  return validateZip(file, source, Buffer.alloc(0));
}

/** Walks the zip open on `handle` (closed here, whatever happens); `first`: its bytes from offset 0. */
async function validateZip(file: CheckedFile, handle: Source, first: Buffer): Promise<number> {
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
        throw new ArchiveValidationError(`zip: local header of "${entry.fileName}" has compression method ${local.compressionMethod}, the central directory says ${entry.compressionMethod}`);
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
    const raw = await reader.readRange(dataStart, entry.compressedSize);
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
    zip.openReadStreamLowLevel(dataStart, entry.compressedSize, 0, entry.compressedSize, entry.compressionMethod === 8, entry.uncompressedSize, (error, s) => (error ? reject(error) : resolve(s)));
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
    return new ArchiveValidationError(`entry ${name}: inflates past the ${expected} bytes the zip's directory declares (damaged bytes, or a zip bomb)`, { cause: error });
  }
  if (/too few bytes/.test(message)) {
    return new ArchiveValidationError(`entry ${name}: holds fewer bytes than the ${expected} the zip's directory says — ${DAMAGED_BYTES}`, { cause: error });
  }
  return new ArchiveValidationError(`entry ${name}: compressed data does not inflate (${message}) — ${DAMAGED_BYTES}`, { cause: error });
}


// ---------------------------------------------------------------------------------------------
// tar

async function validateTarDist(file: CheckedFile, kind: Sniffed, head: Buffer): Promise<ArchiveInfo> {
  switch (kind) {
    case 'tar':
      // A tar has no content checksum: headers (checksum, size) are all there is, at any level.
      return { format: 'tar', entries: await parseTarStream(createReadStream(file.path)) };
    case 'gzip': {
      let entries = 0;
      await gunzipFile(file, async (source) => {
        entries = await parseTarStream(source);
      });
      return { format: 'tar+gzip', entries };
    }
    case 'bzip2':
      await checkBzip2(file, head);
      return { format: 'tar+bzip2' };
    case 'zip':
      // PharData opens zip archives too, so Composer's TarDownloader would extract this.
      return { format: 'zip', entries: await validateZipFile(file) };
    case 'xz':
      throw new ArchiveValidationError('xz-compressed tar: PHP PharData, which Composer uses for tar dists, cannot open xz');
    default:
      throw wrongBytes('tar', kind, head);
  }
}

/**
 * Reads 512-byte tar headers from a byte stream, verifying each checksum and size field and
 * skipping the data blocks, until two zero blocks or a clean EOF on a block boundary. Keeps
 * reading to the end afterwards so a gunzip upstream still verifies its CRC.
 * Pax `size=` overrides are not applied; tars from `git archive`/GitHub never need them.
 */
async function parseTarStream(source: AsyncIterable<Buffer>): Promise<number> {
  let entries = 0;
  let zeroBlocks = 0;
  const walked = await walkTar(
    source,
    (block, blockOffset) => {
      if (isZeroBlock(block)) {
        zeroBlocks += 1;
        return zeroBlocks === 2 ? { kind: 'end' } : { kind: 'skip', bytes: 0 };
      }
      if (zeroBlocks > 0) throw new ArchiveValidationError(`tar: lone zero block before the header at offset ${blockOffset}`);
      const problem = checkTarHeader(block);
      if (problem !== undefined) throw new ArchiveValidationError(`tar: header at offset ${blockOffset}: ${problem}`);
      entries += 1;
      return { kind: 'skip', bytes: dataBlocksBytes(block) };
    },
    { readToEnd: true },
  );
  if (walked.insideHeader) throw new ArchiveValidationError(`tar: truncated, ends inside a header block at offset ${walked.offset}`);
  if (walked.missing > 0) throw new ArchiveValidationError(`tar: truncated, ${walked.missing} bytes of entry ${entries} missing`);
  if (entries === 0) throw new ArchiveValidationError('tar: the archive has no entries');
  return entries;
}

/** Returns a problem description, or undefined when the header block is valid. */
function checkTarHeader(block: Buffer): string | undefined {
  const stored = parseOctal(block.subarray(148, 156));
  if (stored === undefined) return 'checksum field is not octal';
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < 512; i++) {
    const byte = i >= 148 && i < 156 ? 0x20 : block[i]!;
    unsigned += byte;
    signed += byte >= 0x80 ? byte - 256 : byte;
  }
  // Some old tar writers summed signed chars; GNU tar accepts both, so do we.
  if (stored !== unsigned && stored !== signed) return `checksum mismatch (stored ${stored}, computed ${unsigned})`;
  if (tarSize(block) === undefined) return 'size field is invalid';
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// gzip, bzip2, xz

/**
 * Streams the file through gunzip into `consume`; corrupt or truncated gzip becomes a validation
 * error. Decompression is the check at every level (there is no tar structure without it), so it
 * is always bounded: it stops once the output passes `--max-unpacked-size` — an 8 MiB gzip bomb
 * then costs 1 GiB of inflation (by default) instead of 8 GiB.
 */
async function gunzipFile(file: CheckedFile, consume: (source: AsyncIterable<Buffer>) => Promise<void>): Promise<void> {
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

async function* bounded(source: AsyncIterable<Buffer>, limit: number): AsyncGenerator<Buffer> {
  let total = 0;
  for await (const chunk of source) {
    total += chunk.length;
    if (total > limit) throw overUnpackedLimit('gzip: inflates to', limit);
    yield chunk;
  }
}

async function drain(source: AsyncIterable<Buffer>): Promise<void> {
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
async function checkBzip2(file: CheckedFile, head: Buffer): Promise<void> {
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
async function checkXzStream(path: string, size: number): Promise<void> {
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

// ---------------------------------------------------------------------------------------------
// phar

const HALT_TOKEN = Buffer.from('__HALT_COMPILER();', 'latin1');

async function validatePhar(file: CheckedFile, kind: Sniffed, head: Buffer): Promise<ArchiveInfo> {
  const { path } = file;
  switch (kind) {
    case 'zip':
      return { format: 'zip', entries: await validateZipFile(file) };
    case 'tar':
      return { format: 'tar', entries: await parseTarStream(createReadStream(path)) };
    case 'gzip': {
      // A gzip'd phar is either a .tar.gz phar or a compressed stub phar.
      let info: ArchiveInfo = { format: 'phar' };
      await gunzipFile(file, async (source) => {
        const peeked = await peek(source, 512);
        if (peeked.head.length >= 512 && checkTarHeader(peeked.head.subarray(0, 512)) === undefined) {
          info = { format: 'tar+gzip', entries: await parseTarStream(peeked.stream) };
        } else if (!(await containsToken(peeked.stream, HALT_TOKEN))) {
          throw new ArchiveValidationError('phar: gzip content has no __HALT_COMPILER(); and is not a tar');
        }
      });
      return info;
    }
    case 'bzip2':
      await checkBzip2(file, head);
      return { format: 'phar' };
    default:
      if (await containsToken(createReadStream(path), HALT_TOKEN)) return { format: 'phar' };
      throw kind === 'text' || kind === 'unknown'
        ? new ArchiveValidationError('phar: no __HALT_COMPILER(); found')
        : wrongBytes('a phar', kind, head);
  }
}

/** Streaming substring search; always reads `source` to the end (so gunzip still checks its trailer). */
async function containsToken(source: AsyncIterable<Buffer>, token: Buffer): Promise<boolean> {
  let found = false;
  let carry = Buffer.alloc(0);
  for await (const chunk of source) {
    if (found) continue;
    const window = carry.length === 0 ? chunk : Buffer.concat([carry, chunk]);
    if (window.includes(token)) {
      found = true;
      continue;
    }
    carry = Buffer.from(window.subarray(Math.max(0, window.length - (token.length - 1))));
  }
  return found;
}

async function peek(source: AsyncIterable<Buffer>, length: number): Promise<{ head: Buffer; stream: AsyncIterable<Buffer> }> {
  const iterator = source[Symbol.asyncIterator]();
  const chunks: Buffer[] = [];
  let total = 0;
  while (total < length) {
    const next = await iterator.next();
    if (next.done === true) break;
    chunks.push(next.value);
    total += next.value.length;
  }
  const head = Buffer.concat(chunks);
  async function* replay(): AsyncGenerator<Buffer> {
    if (head.length > 0) yield head;
    for (;;) {
      const next = await iterator.next();
      if (next.done === true) return;
      yield next.value;
    }
  }
  return { head, stream: replay() };
}

// ---------------------------------------------------------------------------------------------

/** Filesystem errors (`E…` codes) pass through; everything else thrown by a parser means bad bytes. */
function asValidationError(error: unknown, label: string): Error {
  if (error instanceof ArchiveValidationError) return error;
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) return error as Error;
  const message = error instanceof Error ? error.message : String(error);
  return new ArchiveValidationError(`${label}: ${message}`, { cause: error });
}
