import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';

/**
 * Lowercase hex sha1 of a file, read as a stream so memory stays flat for any size.
 * Lowercase because Composer compares `dist.shasum` with `sha1_file()` output case-sensitively.
 */
export async function sha1File(path: string): Promise<string> {
  const hash = createHash('sha1');
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) {
    hash.update(chunk as Buffer);
  }
  return hash.digest('hex');
}
