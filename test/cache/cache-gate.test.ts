import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createCacheGate } from '../../src/cache/cache-gate.js';
import { tempPathFor } from '../../src/cache/temp-files.js';
import type { DownloadTask, StagedFile } from '../../src/types.js';
import { composerPackageZip } from '../helpers/archives.js';

const LOCK_URL = 'https://repo.example.test/acme/hello.zip';
const MIRROR_URL = 'https://mirror.example.test/acme/hello.zip?token=s3cr3t';

let root: string;
let counter = 0;
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'cp-gate-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

function task(): DownloadTask {
  const cacheKey = `acme/hello/${'0123456789abcdef0123'.repeat(2)}.zip`;
  return {
    packageName: 'acme/hello',
    version: '1.0.0',
    distType: 'zip',
    urls: [LOCK_URL],
    downloadUrls: [MIRROR_URL, LOCK_URL],
    mirrorUrls: [MIRROR_URL],
    cacheKey,
    cachePath: join(root, `files-${counter++}`, cacheKey),
    expectedSha1: undefined,
    dev: false,
    origins: ['composer.lock'],
  };
}

async function stage(t: DownloadTask, bytes: Buffer, url: string): Promise<StagedFile> {
  const path = tempPathFor(t.cachePath);
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, bytes);
  return { path, bytes: bytes.length, sha1: undefined, url };
}

describe('the cache gate (FetchContext.accept)', () => {
  const accept = createCacheGate({ level: 'structure' });

  it('commits a mirror archive that names the package', async () => {
    const t = task();
    const staged = await stage(t, composerPackageZip('acme/hello', '1.0.0'), MIRROR_URL);
    await accept(t, staged, MIRROR_URL);
    assert.ok(existsSync(t.cachePath));
    assert.ok(!existsSync(staged.path));
  });

  it('refuses a mirror archive of another package, removes it, and never shows the token', async () => {
    const t = task();
    const staged = await stage(t, composerPackageZip('evil/other', '1.0.0'), MIRROR_URL);
    await assert.rejects(accept(t, staged, MIRROR_URL), (error: Error & { code?: string; retryable?: boolean }) => {
      assert.equal(error.code, 'E_CORRUPT');
      assert.equal(error.retryable, false);
      assert.doesNotMatch(error.message, /s3cr3t/);
      return true;
    });
    assert.ok(!existsSync(staged.path));
    assert.ok(!existsSync(t.cachePath));
  });

  it("does not ask bytes from the lock's own URL to name the package", async () => {
    const t = task();
    const staged = await stage(t, composerPackageZip('evil/other', '1.0.0'), LOCK_URL);
    await accept(t, staged, LOCK_URL);
    assert.ok(existsSync(t.cachePath));
  });
});
