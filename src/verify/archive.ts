import { ArchiveValidationError, DEFAULT_MAX_UNPACKED_BYTES, openSource, type ArchiveInfo, type CheckedFile, type VerifyLevel } from './archive-common.js';
import { checkXzStream, drain, gunzipFile } from './compressed.js';
import { validatePhar } from './phar.js';
import { sniff, wrongBytes, type Sniffed } from './sniff.js';
import { validateTarDist } from './tar-archive.js';
import { ZIP_BLOCK_BYTES, takeBlock, validateZip } from './zip.js';

export {
  ArchiveValidationError,
  DAMAGED_BYTES,
  DEFAULT_MAX_UNPACKED_BYTES,
  DEFAULT_VERIFY_LEVEL,
  type ArchiveFormat,
  type ArchiveInfo,
  type VerifyLevel,
} from './archive-common.js';

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
export async function validateArchive(
  path: string,
  distType: string,
  level: VerifyLevel = 'deep',
  maxUnpackedBytes: number = DEFAULT_MAX_UNPACKED_BYTES,
): Promise<ArchiveInfo> {
  // One open for the sniff and the zip walk: the first read is the zip's first block (all of a
  // small archive), so a small zip costs open, fstat, one read and close (was two of each).
  const source = openSource(path);
  let handedOver = false;
  try {
    const size = source.size;
    // A zip's first block comes from the walk's pool and goes back to it when the walk closes.
    const first = distType === 'zip' && size > 512 ? takeBlock().subarray(0, Math.min(size, ZIP_BLOCK_BYTES)) : Buffer.allocUnsafe(Math.min(size, 512));
    const bytesRead = source.read(first, 0, first.length, 0);
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
