import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { orderLargestFirst, sizeHints } from '../../src/cache/size-hints.js';
import type { DownloadTask } from '../../src/types.js';
import { tempDir } from '../helpers/run.js';

const task = (root: string, name: string, type = 'zip'): DownloadTask => {
  const cacheKey = `${name}/${'f'.repeat(40)}.${type}`;
  return {
    packageName: name,
    version: '2.0.0',
    distType: type,
    urls: [`https://e.com/${name}.${type}`],
    cacheKey,
    cachePath: path.join(root, cacheKey),
    expectedSha1: undefined,
    dev: false,
    origins: [],
  };
};

describe('start order from sizes already in the cache', () => {
  it('estimates a package from its largest older archive of the same type, ignoring temp files', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const put = async (rel: string, bytes: number) => {
        await mkdir(path.dirname(path.join(dir, rel)), { recursive: true });
        await writeFile(path.join(dir, rel), Buffer.alloc(bytes));
      };
      await put(`aws/sdk/${'a'.repeat(40)}.zip`, 5000);
      await put(`aws/sdk/${'b'.repeat(40)}.zip`, 9000);
      await put(`aws/sdk/${'c'.repeat(40)}.tar`, 99_000);
      await put(`aws/sdk/.${'d'.repeat(40)}.zip.1-abc.cp-tmp`, 500_000);
      await put(`small/lib/${'e'.repeat(40)}.zip`, 10);
      const tasks = [task(dir, 'small/lib'), task(dir, 'cold/pkg'), task(dir, 'aws/sdk')];
      const hints = await sizeHints(tasks);
      assert.deepEqual([...hints].map(([t, size]) => [t.packageName, size]).sort(), [
        ['aws/sdk', 9000],
        ['small/lib', 10],
      ]);
    } finally {
      await cleanup();
    }
  });

  it('starts the big ones first, largest first, and keeps the lock order for the rest', () => {
    const [a, b, c, d, e] = ['a/a', 'b/b', 'c/c', 'd/d', 'e/e'].map((n) => task('/c', n)) as [
      DownloadTask,
      DownloadTask,
      DownloadTask,
      DownloadTask,
      DownloadTask,
    ];
    const hints = new Map([
      [b, 5_000_000],
      [d, 20_000_000],
      [e, 100],
    ]);
    assert.deepEqual(
      orderLargestFirst([a, b, c, d, e], hints, 1_000_000).map((t) => t.packageName),
      ['d/d', 'b/b', 'a/a', 'c/c', 'e/e'],
    );
    assert.deepEqual(orderLargestFirst([a, b, c], new Map(), 1_000_000), [a, b, c]);
  });
});
