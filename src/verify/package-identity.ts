import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import yauzl, { type Entry, type ZipFile } from 'yauzl';
import { PrefetchError } from '../errors.js';
import { sniff } from './sniff.js';
import { dataBlocksBytes, isZeroBlock, tarSize, tarString, walkTar, type TarStep } from './tar.js';

/**
 * Is this archive the package it claims to be? Used only for bytes that came from a `--mirror`
 * URL when the lock has no sha1: nothing else ties a mirror's answer to the lock then, and a
 * misconfigured or hostile mirror could otherwise plant another package under the lock's key.
 *
 * The root composer.json is `composer.json` at the top, or inside the single top-level directory
 * that GitHub/GitLab archives wrap everything in (Composer's archive downloaders strip that
 * directory). When it exists, its `name` must equal the package name (case-insensitively, as
 * `BasePackage` lowercases). An archive without a root composer.json passes (older packages and
 * some artifacts have none); one whose composer.json is unreadable or has no `name` does not.
 */

const MAX_COMPOSER_JSON = 4 * 1024 * 1024;

export type IdentityVerdict = { readonly ok: true; readonly name: string | undefined } | { readonly ok: false; readonly reason: string };

export async function checkPackageIdentity(file: string, packageName: string): Promise<IdentityVerdict> {
  // The same sniffing as the archive checks (sniff.ts), so both agree on what the bytes are.
  const kind = sniff(await readHead(file, 512));
  let found: { text: string } | undefined;
  if (kind === 'zip') found = await zipComposerJson(file);
  else if (kind === 'gzip') found = await tarComposerJson(createReadStream(file).pipe(createGunzip()));
  else if (kind === 'bzip2' || kind === 'xz') {
    return { ok: false, reason: 'bzip2/xz archives from a mirror cannot be checked (no decoder), and the lock has no sha1' };
  } else found = await tarComposerJson(createReadStream(file));
  if (found === undefined) return { ok: true, name: undefined };
  let data: unknown;
  try {
    data = JSON.parse(found.text);
  } catch {
    return { ok: false, reason: 'its root composer.json is not valid JSON' };
  }
  const name = typeof data === 'object' && data !== null ? (data as { name?: unknown }).name : undefined;
  if (typeof name !== 'string' || name === '') return { ok: false, reason: 'its root composer.json has no "name"' };
  if (name.toLowerCase() !== packageName.toLowerCase()) return { ok: false, reason: `its root composer.json names ${JSON.stringify(name)}` };
  return { ok: true, name };
}

/** Throws a non-retryable E_CORRUPT (so the backend moves on to the next URL) when the identity check fails. */
export async function verifyPackageIdentity(file: string, packageName: string, shownUrl: string): Promise<void> {
  let verdict: IdentityVerdict;
  try {
    verdict = await checkPackageIdentity(file, packageName);
  } catch (error) {
    verdict = { ok: false, reason: `it could not be read (${(error as Error).message})` };
  }
  if (!verdict.ok) {
    throw new PrefetchError('E_CORRUPT', `${packageName}: rejected the archive from mirror ${shownUrl}: ${verdict.reason}`, {
      packageName,
      url: shownUrl,
      retryable: false,
      hint: "The lock has no sha1 for this package, so a mirror archive is only accepted when its composer.json names the package. Falling back to the lock's URLs.",
    });
  }
}

async function readHead(file: string, bytes: number): Promise<Buffer> {
  const handle = await open(file, 'r');
  try {
    const buffer = Buffer.alloc(bytes);
    const { bytesRead } = await handle.read(buffer, 0, bytes, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

/** Picks the root composer.json among all entry names (see module comment). */
function rootComposerJson(names: readonly string[]): string | undefined {
  const clean = names.map((n) => n.replace(/^\.\//, '')).filter((n) => n !== '' && n !== './');
  if (clean.includes('composer.json')) return 'composer.json';
  const tops = new Set(clean.map((n) => n.split('/')[0]));
  if (tops.size !== 1) return undefined;
  const top = [...tops][0]!;
  const candidate = `${top}/composer.json`;
  return clean.includes(candidate) ? candidate : undefined;
}

function zipComposerJson(file: string): Promise<{ text: string } | undefined> {
  return new Promise((resolve, reject) => {
    yauzl.open(file, { lazyEntries: true, autoClose: false }, (error, zip?: ZipFile) => {
      if (error || !zip) return reject(error ?? new Error('cannot open zip'));
      const entries = new Map<string, Entry>();
      const fail = (e: Error): void => {
        zip.close();
        reject(e);
      };
      zip.on('error', fail);
      zip.on('entry', (entry: Entry) => {
        entries.set(entry.fileName.replace(/^\.\//, ''), entry);
        zip.readEntry();
      });
      zip.on('end', () => {
        const chosen = rootComposerJson([...entries.keys()]);
        const entry = chosen === undefined ? undefined : entries.get(chosen);
        if (entry === undefined) {
          zip.close();
          return resolve(undefined);
        }
        if (entry.uncompressedSize > MAX_COMPOSER_JSON) return fail(new Error('composer.json is implausibly large'));
        zip.openReadStream(entry, (err, stream) => {
          if (err || !stream) return fail(err ?? new Error('cannot read composer.json'));
          collect(stream).then((text) => {
            zip.close();
            resolve({ text });
          }, fail);
        });
      });
      zip.readEntry();
    });
  });
}

async function collect(stream: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    size += (chunk as Buffer).length;
    if (size > MAX_COMPOSER_JSON) throw new Error('composer.json is implausibly large');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Streams a tar once: remembers every entry name and the contents of `composer.json` files at
 * depth 0 and 1 (small), skipping all other data. Handles ustar prefixes, pax `path` and GNU
 * long names, which is what `git archive` and PharData produce.
 */
async function tarComposerJson(stream: Readable): Promise<{ text: string } | undefined> {
  const names: string[] = [];
  const contents = new Map<string, string>();
  let nextName: string | undefined;

  await walkTar(
    stream,
    (block): TarStep => {
      if (isZeroBlock(block)) return { kind: 'end' };
      const size = tarSize(block);
      if (size === undefined) throw new Error('invalid tar size field');
      const padded = Math.ceil(size / 512) * 512;
      const type = String.fromCharCode(block[156] ?? 0x30);
      const magic = tarString(block, 257, 6);
      const prefix = magic.startsWith('ustar') ? tarString(block, 345, 155) : '';
      const baseName = tarString(block, 0, 100);
      const name = nextName ?? (prefix !== '' ? `${prefix}/${baseName}` : baseName);
      if (type === 'x' || type === 'L') {
        if (size > 1 << 20) throw new Error('oversized tar extension header');
        const onData = (data: Buffer): void => {
          if (type === 'L') nextName = tarString(data, 0, data.length);
          else {
            const match = /(?:^|\n)\d+ path=([^\n]*)\n/.exec(data.toString('utf8'));
            if (match) nextName = match[1];
          }
        };
        return { kind: 'read', bytes: size, padded, onData };
      }
      nextName = undefined;
      if (type === 'g') return { kind: 'skip', bytes: padded };
      const clean = name.replace(/^\.\//, '');
      names.push(clean);
      const depth = clean.split('/').length;
      if ((type === '0' || type === '\0') && depth <= 2 && /(^|\/)composer\.json$/.test(clean) && size <= MAX_COMPOSER_JSON) {
        return { kind: 'read', bytes: size, padded, onData: (data) => contents.set(clean, data.toString('utf8')) };
      }
      return { kind: 'skip', bytes: dataBlocksBytes(block) };
    },
    { readToEnd: false },
  );
  const chosen = rootComposerJson(names);
  if (chosen === undefined) return undefined;
  const text = contents.get(chosen);
  return text === undefined ? undefined : { text };
}
