import { createReadStream } from 'node:fs';
import { ArchiveValidationError, type ArchiveInfo, type CheckedFile } from './archive-common.js';
import { checkBzip2, gunzipFile } from './compressed.js';
import { wrongBytes, type Sniffed } from './sniff.js';
import { checkTarHeader, dataBlocksBytes, isZeroBlock, walkTar } from './tar.js';
import { validateZipFile } from './zip.js';

/** `tar` dists (`TarDownloader`, PHP's PharData): plain, gzip'd or bzip2'd tar, or a zip. */
export async function validateTarDist(file: CheckedFile, kind: Sniffed, head: Buffer): Promise<ArchiveInfo> {
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
export async function parseTarStream(source: AsyncIterable<Buffer>): Promise<number> {
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
