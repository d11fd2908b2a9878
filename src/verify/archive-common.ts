import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { formatBytes } from '../bytes.js';

/** What every archive check shares: levels and bounds, the validation error, the open file. */
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
export function overUnpackedLimit(what: string, limit: number): ArchiveValidationError {
  return new ArchiveValidationError(
    `${what} more than ${formatBytes(limit)} uncompressed, over --max-unpacked-size (raise it, or 0 for no limit, if this package is meant to be that big)`,
    {
      deterministic: true,
    },
  );
}

/** An open archive file, read at positions. */
export interface Source {
  readonly size: number;
  /** Synchronous (see `openSource`): bytes read, 0 at the end of the file; throws Node's errors. */
  read(buffer: Buffer, offset: number, length: number, position: number): number;
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
export function openSource(path: string): Source {
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
    read: (buffer, offset, length, position) => readSync(fd, buffer, offset, length, position),
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

export interface CheckedFile {
  readonly path: string;
  readonly size: number;
  readonly level: VerifyLevel;
  /** `--max-unpacked-size` in bytes; Infinity for no limit. */
  readonly maxUnpackedBytes: number;
}

/** Filesystem errors (`E…` codes) pass through; everything else thrown by a parser means bad bytes. */
export function asValidationError(error: unknown, label: string): Error {
  if (error instanceof ArchiveValidationError) return error;
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) return error as Error;
  const message = error instanceof Error ? error.message : String(error);
  return new ArchiveValidationError(`${label}: ${message}`, { cause: error });
}
