import { ArchiveValidationError } from './archive-common.js';
import { checkTarHeader, isZeroBlock } from './tar.js';

/** What the first bytes of a file say it is (magic numbers), for every check and for package-identity. */
export type Sniffed = 'zip' | 'gzip' | 'bzip2' | 'xz' | 'rar' | 'tar' | 'html' | 'json' | 'text' | 'unknown';

export const XZ_MAGIC = Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]);
export const RAR_MAGIC = Buffer.from('Rar!\x1a\x07', 'latin1');
export const BZIP2_BLOCK_MAGIC = Buffer.from([0x31, 0x41, 0x59, 0x26, 0x53, 0x59]);
export const BZIP2_EOS_MAGIC = Buffer.from([0x17, 0x72, 0x45, 0x38, 0x50, 0x90]);

export function sniff(head: Buffer): Sniffed {
  const startsWith = (magic: Buffer | readonly number[]): boolean => head.length >= magic.length && magic.every((byte, i) => head[i] === byte);
  // Local file header, or the end record of an empty zip.
  if (startsWith([0x50, 0x4b, 0x03, 0x04]) || startsWith([0x50, 0x4b, 0x05, 0x06])) return 'zip';
  if (startsWith([0x1f, 0x8b])) return 'gzip';
  if (startsWith([0x42, 0x5a, 0x68]) && head.length > 3 && head[3]! >= 0x31 && head[3]! <= 0x39) return 'bzip2';
  if (startsWith(XZ_MAGIC)) return 'xz';
  if (startsWith(RAR_MAGIC)) return 'rar';
  // ustar magic, or (old v7 tar) a header whose checksum holds; a damaged ustar header still
  // sniffs as tar so the reason names the checksum rather than "unrecognised bytes".
  if (
    head.length >= 512 &&
    (head.subarray(257, 262).toString('latin1') === 'ustar' || (!isZeroBlock(head.subarray(0, 512)) && checkTarHeader(head.subarray(0, 512)) === undefined))
  )
    return 'tar';
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

export function describe(kind: Sniffed, head: Buffer): string {
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

export function wrongBytes(expected: string, kind: Sniffed, head: Buffer): ArchiveValidationError {
  return new ArchiveValidationError(`${describe(kind, head)}, not ${expected}`);
}
