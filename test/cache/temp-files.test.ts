import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { cleanStaleTempFiles, isTempFileName, removeQuietly, tempPathFor } from '../../src/cache/temp-files.js';

const COMPOSER_KEY = /^[0-9a-f]{40}\.[a-z0-9-]+$/;
const HOUR = 60 * 60 * 1000;

describe('tempPathFor', () => {
  const target = `/cache/files/acme/hello/${'0123456789abcdef0123'.repeat(2)}.zip`;

  it('is in the same directory as the target, named clearly as ours', () => {
    const temp = tempPathFor(target);
    assert.equal(dirname(temp), dirname(target));
    assert.match(basename(temp), new RegExp(`^\\.${basename(target).replace('.', '\\.')}\\.${process.pid}-[0-9a-f]{12}(\\.[0-9a-f]{8})?\\.cp-tmp$`));
    assert.ok(isTempFileName(basename(temp)));
  });

  it('never looks like a Composer cache key', () => {
    for (let i = 0; i < 50; i++) assert.doesNotMatch(basename(tempPathFor(target)), COMPOSER_KEY);
    assert.equal(isTempFileName(basename(target)), false);
  });

  it('is unique per call', () => {
    const seen = new Set(Array.from({ length: 200 }, () => tempPathFor(target)));
    assert.equal(seen.size, 200);
  });
});

describe('cleanStaleTempFiles', () => {
  let root: string;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'cp-temp-'));
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  async function touch(path: string, ageMs: number): Promise<void> {
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, 'x');
    const when = new Date(Date.now() - ageMs);
    await utimes(path, when, when);
  }

  it('removes only our temp files older than the threshold', async () => {
    const dir = join(root, 'flat');
    const key = `${'ab'.repeat(20)}.zip`;
    const stale = tempPathFor(join(dir, key));
    const live = tempPathFor(join(dir, key));
    await touch(stale, 3 * HOUR);
    await touch(live, 0);
    await touch(join(dir, key), 400 * 24 * HOUR); // an old Composer entry: not ours to delete
    await touch(join(dir, '.some-other-dotfile.tmp'), 3 * HOUR);

    assert.equal(await cleanStaleTempFiles(dir, { olderThanMs: HOUR }), 1);
    assert.deepEqual((await readdir(dir)).sort(), [basename(live), '.some-other-dotfile.tmp', key].sort());
  });

  it('descends into sub-directories only when asked', async () => {
    const dir = join(root, 'nested');
    const deep = tempPathFor(join(dir, 'acme', 'hello', `${'cd'.repeat(20)}.tar`));
    await touch(deep, 2 * HOUR);
    assert.equal(await cleanStaleTempFiles(dir, { olderThanMs: HOUR }), 0);
    assert.equal(await cleanStaleTempFiles(dir, { olderThanMs: HOUR, recursive: true }), 1);
    assert.deepEqual(await readdir(dirname(deep)), []);
  });

  it('uses the injected clock', async () => {
    const dir = join(root, 'clock');
    await touch(tempPathFor(join(dir, 'k.zip')), 0);
    assert.equal(await cleanStaleTempFiles(dir, { olderThanMs: HOUR, now: Date.now() + 2 * HOUR }), 1);
  });

  it('returns 0 for a directory that does not exist', async () => {
    assert.equal(await cleanStaleTempFiles(join(root, 'nope'), { olderThanMs: 0 }), 0);
  });
});

describe('removeQuietly', () => {
  it('removes a file and ignores a missing one', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cp-rmq-'));
    try {
      const path = join(dir, 'f');
      await writeFile(path, 'x');
      await removeQuietly(path);
      assert.deepEqual(await readdir(dir), []);
      await removeQuietly(path);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
