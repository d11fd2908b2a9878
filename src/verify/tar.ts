/**
 * The one tar reader: header fields and a block walker over a byte stream, shared by the archive
 * check (`archive.ts`, every header's checksum and size) and the mirror identity check
 * (`package-identity.ts`, names and the root composer.json).
 */

const BLOCK = 512;

/** What the walker does with the bytes after a header block. */
export type TarStep =
  | { readonly kind: 'skip'; readonly bytes: number }
  /** Collect `padded` bytes and hand the first `bytes` of them to `onData`. */
  | { readonly kind: 'read'; readonly bytes: number; readonly padded: number; readonly onData: (data: Buffer) => void }
  | { readonly kind: 'end' };

/** Where a walk stopped. */
export interface TarWalkEnd {
  /** A header handler said `end`. */
  readonly ended: boolean;
  /** The stream stopped inside a header block. */
  readonly insideHeader: boolean;
  /** Data bytes (and padding) the last entry still lacked when the stream stopped. */
  readonly missing: number;
  /** Bytes of the stream walked. */
  readonly offset: number;
}

/**
 * Walks a tar stream: every 512-byte block that stands where a header belongs goes to `onHeader`
 * (with its offset), which says whether to skip the data after it, read it, or stop. After `end`
 * the rest of the stream is read without looking when `readToEnd` (a gunzip upstream then still
 * checks its CRC), and left unread otherwise.
 */
export async function walkTar(
  source: AsyncIterable<Buffer>,
  onHeader: (block: Buffer, offset: number) => TarStep,
  options: { readonly readToEnd: boolean },
): Promise<TarWalkEnd> {
  let pending: Buffer[] = []; // a partial block or partial entry data carried across chunks
  let pendingBytes = 0;
  let skip = 0;
  let read: Extract<TarStep, { kind: 'read' }> | undefined;
  let offset = 0;
  let ended = false;

  const deliver = (piece: Buffer): void => {
    if (read !== undefined) {
      const done = read;
      read = undefined;
      done.onData(piece.subarray(0, done.bytes));
      return;
    }
    const step = onHeader(piece, offset - BLOCK);
    if (step.kind === 'end') ended = true;
    else if (step.kind === 'skip') skip = step.bytes;
    else if (step.padded === 0) step.onData(Buffer.alloc(0));
    else read = step;
  };

  for await (const chunk of source) {
    if (ended) {
      if (options.readToEnd) continue;
      break;
    }
    let i = 0;
    while (i < chunk.length && !ended) {
      if (skip > 0) {
        const n = Math.min(skip, chunk.length - i);
        skip -= n;
        i += n;
        offset += n;
        continue;
      }
      const want = read?.padded ?? BLOCK;
      if (pendingBytes === 0 && chunk.length - i >= want) {
        offset += want;
        deliver(chunk.subarray(i, i + want));
        i += want;
        continue;
      }
      // Copy, so a 64 KiB chunk is not kept alive by a small slice.
      const take = Buffer.from(chunk.subarray(i, i + want - pendingBytes));
      pending.push(take);
      pendingBytes += take.length;
      i += take.length;
      offset += take.length;
      if (pendingBytes === want) {
        const piece = pending.length === 1 ? pending[0]! : Buffer.concat(pending);
        pending = [];
        pendingBytes = 0;
        deliver(piece);
      }
    }
    if (ended && !options.readToEnd) break;
  }
  return {
    ended,
    insideHeader: !ended && read === undefined && pendingBytes > 0,
    missing: ended ? 0 : skip + (read === undefined ? 0 : read.padded - pendingBytes),
    offset,
  };
}

/** A NUL-terminated text field of a header. */
export function tarString(block: Buffer, start: number, length: number): string {
  const raw = block.subarray(start, start + length);
  const nul = raw.indexOf(0);
  return (nul === -1 ? raw : raw.subarray(0, nul)).toString('utf8');
}

/** The size field: octal, or GNU base-256 for sizes ≥ 8 GiB; undefined when invalid, negative or past 2^53. */
export function tarSize(block: Buffer): number | undefined {
  const field = block.subarray(124, 136);
  if ((field[0]! & 0x80) !== 0) {
    // A set sign bit (0xff) would be negative.
    if (field[0] === 0xff) return undefined;
    let value = field[0]! & 0x7f;
    for (let i = 1; i < field.length; i++) value = value * 256 + field[i]!;
    return Number.isSafeInteger(value) ? value : undefined;
  }
  return parseOctal(field);
}

/** Octal number padded with spaces/NULs, as tar writes them; empty means 0. */
export function parseOctal(field: Buffer): number | undefined {
  const text = field.toString('latin1').replace(/\0.*$/s, '').trim();
  if (text === '') return 0;
  if (!/^[0-7]+$/.test(text)) return undefined;
  const value = Number.parseInt(text, 8);
  return Number.isSafeInteger(value) ? value : undefined;
}

export function isZeroBlock(block: Buffer): boolean {
  for (let i = 0; i < block.length; i++) if (block[i] !== 0) return false;
  return true;
}

/** Header types that never have data blocks, whatever their size field says. */
const NO_DATA_TYPES = new Set(['1', '2', '3', '4', '5', '6']);

/** Bytes of data blocks (padding included) after this header. */
export function dataBlocksBytes(block: Buffer): number {
  const type = String.fromCharCode(block[156]!);
  if (NO_DATA_TYPES.has(type)) return 0;
  const size = tarSize(block) ?? 0;
  return Math.ceil(size / BLOCK) * BLOCK;
}

/** Returns a problem description, or undefined when the header block is valid. */
export function checkTarHeader(block: Buffer): string | undefined {
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
