import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { transportHeadersFor } from '../../src/auth/transport-headers.js';
import { parseInput } from '../../src/lockfile/parse-input.js';

const task = {
  urls: ['https://repo.example.com/dists/a.zip', 'https://mirror.example.org/a.zip'] as [string, ...string[]],
  transportHeaders: ['X-Repo-Token: s3cret', 'Accept: application/zip', 'Host: evil.example', 'Range: bytes=0-', 'not a header', ': empty'],
};

describe('transport-options headers', () => {
  it('are read from the lock as Composer accepts them (a line or a list)', () => {
    const entry = (header: unknown) => ({
      name: 'a/b',
      version: '1.0.0',
      dist: { type: 'zip', url: 'https://r/x.zip' },
      'transport-options': { http: { header } },
    });
    const parsed = parseInput(
      { 'content-hash': 'x', packages: [entry(['X-A: 1', 'X-B: 2']), { ...entry('X-C: 3'), name: 'c/d' }, { ...entry(42), name: 'e/f' }] },
      'composer.lock',
    );
    assert.deepEqual(
      parsed.packages.map((p) => p.transportHeaders),
      [['X-A: 1', 'X-B: 2'], ['X-C: 3'], undefined],
    );
  });

  it("go to the origins of the lock's own URLs only, without connection-level headers", () => {
    assert.deepEqual(transportHeadersFor(task, new URL('https://repo.example.com/other/path')), { 'x-repo-token': 's3cret', accept: 'application/zip' });
    assert.deepEqual(Object.keys(transportHeadersFor(task, new URL('https://mirror.example.org/a.zip'))), ['x-repo-token', 'accept']);
  });

  it('never go to another origin (a redirect target, a --mirror host, another port or scheme)', () => {
    for (const url of [
      'https://cdn.example.net/a.zip',
      'https://repo.example.com:8443/a.zip',
      'http://repo.example.com/a.zip',
      'https://mirrors.aliyun.com/x',
    ]) {
      assert.deepEqual(transportHeadersFor(task, new URL(url)), {}, url);
    }
    assert.deepEqual(transportHeadersFor({ urls: task.urls }, new URL(task.urls[0])), {});
  });
});
