import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { StagedFile } from '../../src/types.js';
import { acceptIntoCache, commitToCache, isCachedAndValid } from '../../src/cache/commit.js';
import { tempPathFor } from '../../src/cache/temp-files.js';
import { PrefetchError } from '../../src/errors.js';
import type { DownloadTask } from '../../src/types.js';
import { composerPackageZip } from '../helpers/archives.js';

const ZIP = composerPackageZip('acme/hello', '1.0.0');
const ZIP_SHA1 = createHash('sha1').update(ZIP).digest('hex');
const OLD = new Date('2020-01-01T00:00:00Z');

let root: string;
let counter = 0;
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'cp-commit-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

/** A fresh files-dir with a task whose cache path is two levels down, as Composer lays it out. */
function taskFor(expectedSha1: string | undefined, distType = 'zip'): DownloadTask {
  const cacheKey = `acme/hello/${'0123456789abcdef0123'.repeat(2)}.${distType}`;
  return {
    packageName: 'acme/hello',
    version: '1.0.0',
    distType,
    urls: ['https://repo.example.test/acme/hello.zip'],
    cacheKey,
    cachePath: join(root, `files-${counter++}`, cacheKey),
    expectedSha1,
    dev: false,
    origins: ['composer.lock'],
  };
}

async function stageFor(task: DownloadTask, bytes: Buffer | string, mtime = OLD): Promise<StagedFile> {
  const path = tempPathFor(task.cachePath);
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, bytes);
  await utimes(path, mtime, mtime);
  return { path, bytes: Buffer.byteLength(bytes), sha1: undefined, url: task.urls[0] };
}

function assertRecent(date: Date, label: string): void {
  assert.ok(Math.abs(Date.now() - date.getTime()) < 60_000, `${label} ${date.toISOString()} is not now`);
}

describe('commitToCache', () => {
  it('creates the directories, moves the file and removes the staged copy', async () => {
    const task = taskFor(ZIP_SHA1);
    const staged = join(root, `staged-${counter++}`);
    await writeFile(staged, ZIP);
    await commitToCache(staged, task.cachePath);
    assert.deepEqual(await readFile(task.cachePath), ZIP);
    await assert.rejects(stat(staged), { code: 'ENOENT' });
  });

  it('sets mtime and atime to now even when the staged file is old (Composer GC deletes by mtime)', async () => {
    const task = taskFor(ZIP_SHA1);
    const staged = await stageFor(task, ZIP, OLD);
    assert.equal((await stat(staged.path)).mtime.getTime(), OLD.getTime());
    await commitToCache(staged.path, task.cachePath);
    const stats = await stat(task.cachePath);
    assertRecent(stats.mtime, 'mtime');
    assertRecent(stats.atime, 'atime');
  });

  it('replaces an existing entry atomically: readers see the old or the new file, never a part', async () => {
    const task = taskFor(undefined);
    const oldBytes = Buffer.alloc(4 * 1024 * 1024, 0x61);
    const newBytes = Buffer.alloc(4 * 1024 * 1024, 0x62);
    await mkdir(dirname(task.cachePath), { recursive: true });
    await writeFile(task.cachePath, oldBytes);
    const staged = await stageFor(task, newBytes);

    let committing = true;
    const seen = new Set<string>();
    const reader = (async () => {
      while (committing) {
        const bytes = await readFile(task.cachePath);
        if (bytes.equals(oldBytes)) seen.add('old');
        else if (bytes.equals(newBytes)) seen.add('new');
        else assert.fail(`partial file observed (${bytes.length} bytes)`);
      }
    })();
    await commitToCache(staged.path, task.cachePath);
    committing = false;
    await reader;
    assert.deepEqual(await readFile(task.cachePath), newBytes);
    assert.ok(seen.size >= 1);
    assert.deepEqual(await readdir(dirname(task.cachePath)), [task.cachePath.split('/').pop()]);
  });

  it('throws E_CACHE naming the path and removes the staged file when the directory cannot be made', async () => {
    const task = taskFor(undefined);
    const filesDir = task.cachePath.slice(0, task.cachePath.indexOf('/acme/'));
    await mkdir(filesDir, { recursive: true });
    await writeFile(join(filesDir, 'acme'), 'a regular file where a directory should be');
    const staged = join(root, `staged-${counter++}`);
    await writeFile(staged, ZIP);
    await assert.rejects(commitToCache(staged, task.cachePath), (error: unknown) => {
      assert.ok(error instanceof PrefetchError);
      assert.equal(error.code, 'E_CACHE');
      assert.ok(error.message.includes(task.cachePath));
      assert.ok(error.cause !== undefined);
      return true;
    });
    await assert.rejects(stat(staged), { code: 'ENOENT' });
  });

  it('throws E_CACHE when the staged file is gone', async () => {
    const task = taskFor(undefined);
    await assert.rejects(commitToCache(join(root, 'never-staged'), task.cachePath), { code: 'E_CACHE' });
    await assert.rejects(stat(task.cachePath), { code: 'ENOENT' });
  });
});

describe('acceptIntoCache', () => {
  it('verifies and commits; the directory then holds only the cache entry', async () => {
    const task = taskFor(ZIP_SHA1);
    const staged = await stageFor(task, ZIP);
    const verified = await acceptIntoCache(task, staged);
    assert.equal(verified.sha1, ZIP_SHA1);
    assert.deepEqual(await readFile(task.cachePath), ZIP);
    assert.deepEqual(await readdir(dirname(task.cachePath)), [task.cachePath.split('/').pop()]);
  });

  it('leaves no file at the cache path and no temp file when verification fails', async () => {
    for (const [expectedSha1, bytes, code] of [
      [undefined, '<html>Bad Gateway</html>', 'E_CORRUPT'],
      [undefined, ZIP.subarray(0, ZIP.length - 10), 'E_CORRUPT'],
      [ZIP_SHA1, composerPackageZip('acme/hello', '9.9.9'), 'E_CHECKSUM'],
    ] as const) {
      const task = taskFor(expectedSha1);
      const staged = await stageFor(task, bytes);
      await assert.rejects(acceptIntoCache(task, staged), { code });
      await assert.rejects(stat(task.cachePath), { code: 'ENOENT' });
      assert.deepEqual(await readdir(dirname(task.cachePath)), []);
    }
  });

  it('keeps the previous cache entry untouched when the new download fails verification', async () => {
    const task = taskFor(undefined);
    await mkdir(dirname(task.cachePath), { recursive: true });
    await writeFile(task.cachePath, ZIP);
    const staged = await stageFor(task, '{"error":"not found"}');
    await assert.rejects(acceptIntoCache(task, staged), { code: 'E_CORRUPT' });
    assert.deepEqual(await readFile(task.cachePath), ZIP);
    assert.deepEqual(await readdir(dirname(task.cachePath)), [task.cachePath.split('/').pop()]);
  });
});

describe('isCachedAndValid', () => {
  async function place(task: DownloadTask, bytes: Buffer | string): Promise<void> {
    await mkdir(dirname(task.cachePath), { recursive: true });
    await writeFile(task.cachePath, bytes);
  }

  it('is missing when there is no file', async () => {
    assert.equal(await isCachedAndValid(taskFor(ZIP_SHA1)), 'missing');
  });

  it('checks the sha1 when the lock has one', async () => {
    const good = taskFor(ZIP_SHA1);
    await place(good, ZIP);
    assert.equal(await isCachedAndValid(good), 'valid');
    const other = taskFor(ZIP_SHA1);
    await place(other, composerPackageZip('acme/hello', '2.0.0'));
    assert.equal(await isCachedAndValid(other), 'invalid');
  });

  it('validates the archive when there is no shasum', async () => {
    const good = taskFor(undefined);
    await place(good, ZIP);
    assert.equal(await isCachedAndValid(good), 'valid');
    const html = taskFor(undefined);
    await place(html, '<!doctype html><title>404</title>');
    assert.equal(await isCachedAndValid(html), 'invalid');
    const empty = taskFor(undefined, 'file');
    await place(empty, '');
    assert.equal(await isCachedAndValid(empty), 'invalid');
  });

  it('calls a directory at the cache path invalid', async () => {
    const task = taskFor(undefined);
    await mkdir(task.cachePath, { recursive: true });
    assert.equal(await isCachedAndValid(task), 'invalid');
  });
});
