import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { sha1File } from '../../src/verify/sha1.js';

describe('sha1File', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cp-sha1-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('hashes the FIPS 180 test vector', async () => {
    const path = join(dir, 'abc');
    await writeFile(path, 'abc');
    assert.equal(await sha1File(path), 'a9993e364706816aba3e25717850c26c9cd0d89d');
  });

  it('hashes an empty file', async () => {
    const path = join(dir, 'empty');
    await writeFile(path, '');
    assert.equal(await sha1File(path), 'da39a3ee5e6b4b0d3255bfef95601890afd80709');
  });

  it('matches a one-shot hash for a multi-chunk file, in lowercase hex', async () => {
    const data = Buffer.alloc(3 * 1024 * 1024 + 7);
    for (let i = 0; i < data.length; i++) data[i] = (i * 31) & 0xff;
    const path = join(dir, 'big');
    await writeFile(path, data);
    const expected = createHash('sha1').update(data).digest('hex');
    const actual = await sha1File(path);
    assert.equal(actual, expected);
    assert.match(actual, /^[0-9a-f]{40}$/);
  });

  it('rejects with ENOENT for a missing file', async () => {
    await assert.rejects(sha1File(join(dir, 'missing')), { code: 'ENOENT' });
  });
});
