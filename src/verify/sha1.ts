import { createHash } from 'node:crypto';
import { closeSync, openSync, readSync } from 'node:fs';

/** One read buffer for every `sha1File`: each read is hashed before the next await. */
const SCRATCH = Buffer.allocUnsafe(1 << 20);

/**
 * Lowercase hex sha1 of a file, read 1 MiB at a time so memory stays flat for any size.
 * Lowercase because Composer compares `dist.shasum` with `sha1_file()` output case-sensitively.
 *
 * Reads are synchronous (a cached archive is in the page cache or one disk read away; a stream
 * cost a 1 MiB buffer and several thread-pool round trips per file, which dominated a no-op over
 * many small archives), and each chunk is hashed at once, so one scratch buffer serves every
 * call. Between chunks of a big file the event loop gets a turn.
 */
export async function sha1File(path: string): Promise<string> {
  const hash = createHash('sha1');
  const fd = openSync(path, 'r');
  try {
    let position = 0;
    for (;;) {
      const n = readSync(fd, SCRATCH, 0, SCRATCH.length, position);
      if (n === 0) break;
      hash.update(SCRATCH.subarray(0, n));
      position += n;
      // Until a read returns 0 (a short read is not proof of the end); a turn after full ones.
      if (n === SCRATCH.length) await new Promise<void>((resolve) => setImmediate(resolve));
    }
  } finally {
    closeSync(fd);
  }
  return hash.digest('hex');
}
