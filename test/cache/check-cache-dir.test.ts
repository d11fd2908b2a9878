import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { assertUsableCacheDir } from '../../src/cache/check-cache-dir.js';
import { PrefetchError } from '../../src/errors.js';
import { tempDir } from '../helpers/run.js';

describe('assertUsableCacheDir', () => {
  let root: string;
  let cleanup: () => Promise<void>;
  before(async () => {
    ({ dir: root, cleanup } = await tempDir('cp-cachedir-'));
    await writeFile(path.join(root, 'file'), 'x');
    await mkdir(path.join(root, 'exists'));
  });
  after(async () => {
    await cleanup();
  });

  const rejects = (dir: string, message: RegExp) =>
    assert.rejects(assertUsableCacheDir(dir, 'env COMPOSER_CACHE_DIR'), (error: unknown) => {
      assert.ok(error instanceof PrefetchError);
      assert.equal(error.code, 'E_CACHE');
      assert.match(error.message, message);
      assert.match(error.hint ?? '', /--cache-dir \(or COMPOSER_CACHE_DIR\).*env COMPOSER_CACHE_DIR/);
      return true;
    });

  it('accepts an existing directory and creates a missing one', async () => {
    await assertUsableCacheDir(path.join(root, 'exists'), 'x');
    await assertUsableCacheDir(path.join(root, 'new', 'files'), 'x');
    assert.ok(existsSync(path.join(root, 'new', 'files')));
  });

  it('names the file in the way: the directory itself, or a parent', async () => {
    const file = path.join(root, 'file');
    await rejects(file, new RegExp(`${file} is a file, not a directory`));
    await rejects(path.join(file, 'files'), new RegExp(`${file}/files is not usable: ${file} is a file, not a directory`));
    await rejects(path.join(file, 'a', 'b'), new RegExp(`${file} is a file, not a directory`));
  });
});
