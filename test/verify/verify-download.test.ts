import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { StagedFile } from '../../src/types.js';
import { ChecksumMismatchError, CorruptArchiveError, PrefetchError } from '../../src/errors.js';
import type { DownloadTask } from '../../src/types.js';
import { verifyDownload } from '../../src/verify/verify-download.js';
import { composerPackageZip } from '../helpers/archives.js';

const ZIP = composerPackageZip('acme/hello', '1.0.0');
const ZIP_SHA1 = createHash('sha1').update(ZIP).digest('hex');
const URL = 'https://repo.example.test/dist/acme/hello/1.0.0.zip';

function taskFor(overrides: { distType?: string; expectedSha1?: string | undefined; cachePath?: string } = {}): DownloadTask {
  return {
    packageName: 'acme/hello',
    version: '1.0.0',
    distType: overrides.distType ?? 'zip',
    urls: [URL],
    cacheKey: `acme/hello/${'a'.repeat(40)}.zip`,
    cachePath: overrides.cachePath ?? '/nonexistent/cache/acme/hello/x.zip',
    expectedSha1: 'expectedSha1' in overrides ? overrides.expectedSha1 : ZIP_SHA1,
    dev: false,
    origins: ['composer.lock'],
  };
}

describe('verifyDownload', () => {
  let dir: string;
  let counter = 0;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cp-verify-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function stage(bytes: Buffer | string, sha1?: string): Promise<StagedFile> {
    const path = join(dir, `staged-${counter++}`);
    await writeFile(path, bytes);
    return { path, bytes: Buffer.byteLength(bytes), sha1, url: URL };
  }

  it('accepts a matching sha1 and a valid archive', async () => {
    const result = await verifyDownload(taskFor(), await stage(ZIP));
    assert.deepEqual(result, { sha1: ZIP_SHA1, archive: { format: 'zip', entries: 4 } });
  });

  it('does not hash when the lock has no shasum (nothing to compare), and still validates the archive', async () => {
    const result = await verifyDownload(taskFor({ expectedSha1: undefined }), await stage(ZIP));
    assert.deepEqual(result, { sha1: undefined, archive: { format: 'zip', entries: 4 } });
    await assert.rejects(verifyDownload(taskFor({ expectedSha1: undefined }), await stage(ZIP.subarray(0, ZIP.length - 10))), { code: 'E_CORRUPT' });
  });

  it('uses the sha1 the backend computed while streaming', async () => {
    // Proves the file is not re-hashed: the staged sha1 wins over the bytes.
    const result = await verifyDownload(taskFor({ expectedSha1: 'f'.repeat(40) }), await stage(ZIP, 'F'.repeat(40)));
    assert.equal(result.sha1, 'f'.repeat(40));
  });

  it('throws ChecksumMismatchError for a wrong sha1, even when the archive is valid', async () => {
    const other = composerPackageZip('acme/hello', '2.0.0');
    await assert.rejects(verifyDownload(taskFor(), await stage(other)), (error: unknown) => {
      assert.ok(error instanceof ChecksumMismatchError);
      assert.equal(error.code, 'E_CHECKSUM');
      assert.equal(error.expected, ZIP_SHA1);
      assert.equal(error.actual, createHash('sha1').update(other).digest('hex'));
      assert.equal(error.packageName, 'acme/hello');
      assert.equal(error.url, URL);
      assert.equal(error.retryable, true);
      return true;
    });
  });

  it('treats an uppercase shasum as a mismatch, as Composer does', async () => {
    await assert.rejects(verifyDownload(taskFor({ expectedSha1: ZIP_SHA1.toUpperCase() }), await stage(ZIP)), { code: 'E_CHECKSUM' });
  });

  it('throws CorruptArchiveError for an HTML page when there is no shasum', async () => {
    const staged = await stage('<html><body>Service Unavailable</body></html>');
    await assert.rejects(verifyDownload(taskFor({ expectedSha1: undefined }), staged), (error: unknown) => {
      assert.ok(error instanceof CorruptArchiveError);
      assert.equal(error.code, 'E_CORRUPT');
      assert.equal(error.packageName, 'acme/hello');
      assert.equal(error.url, URL);
      assert.match(error.reason, /HTML/);
      assert.match(error.message, /not a valid zip archive/);
      return true;
    });
  });

  it('throws CorruptArchiveError for an empty file, even if its sha1 is the one locked', async () => {
    const emptySha1 = 'da39a3ee5e6b4b0d3255bfef95601890afd80709';
    await assert.rejects(verifyDownload(taskFor({ expectedSha1: emptySha1, distType: 'file' }), await stage('')), { code: 'E_CORRUPT' });
  });

  it('reports an unreadable staged file as E_CACHE, not as corrupt bytes', async () => {
    const staged: StagedFile = { path: join(dir, 'missing'), bytes: 0, sha1: undefined, url: URL };
    await assert.rejects(verifyDownload(taskFor(), staged), (error: unknown) => {
      assert.ok(error instanceof PrefetchError);
      assert.equal(error.code, 'E_CACHE');
      return true;
    });
  });
});
