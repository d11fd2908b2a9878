import { createReadStream } from 'node:fs';
import { ArchiveValidationError, type ArchiveInfo, type CheckedFile } from './archive-common.js';
import { checkBzip2, gunzipFile } from './compressed.js';
import { wrongBytes, type Sniffed } from './sniff.js';
import { parseTarStream } from './tar-archive.js';
import { checkTarHeader } from './tar.js';
import { validateZipFile } from './zip.js';

/** `phar` dists (`PharDownloader`): a zip or tar phar checked as such, otherwise `__HALT_COMPILER();`. */
const HALT_TOKEN = Buffer.from('__HALT_COMPILER();', 'latin1');

export async function validatePhar(file: CheckedFile, kind: Sniffed, head: Buffer): Promise<ArchiveInfo> {
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
      throw kind === 'text' || kind === 'unknown' ? new ArchiveValidationError('phar: no __HALT_COMPILER(); found') : wrongBytes('a phar', kind, head);
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
