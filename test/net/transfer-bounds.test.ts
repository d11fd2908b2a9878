import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatBytes } from '../../src/bytes.js';
import { checkLowSpeed, checkPartialResponse, exceedsMaxSize, validatorOf, type SpeedSample } from '../../src/net/transfer-bounds.js';

describe('validatorOf: what If-Range may carry', () => {
  it('takes a strong ETag, else Last-Modified, never a weak ETag', () => {
    assert.deepEqual(validatorOf({ etag: '"a"', 'last-modified': 'x' }), { kind: 'etag', value: '"a"' });
    assert.deepEqual(validatorOf({ etag: 'W/"a"', 'last-modified': 'Tue, 02 Jan 2024 03:04:06 GMT' }), {
      kind: 'last-modified',
      value: 'Tue, 02 Jan 2024 03:04:06 GMT',
    });
    assert.equal(validatorOf({ etag: 'W/"a"' }), undefined);
    assert.equal(validatorOf({}), undefined);
  });
});

describe('checkPartialResponse: is this 206 the rest of our entity?', () => {
  const etag = { validator: { kind: 'etag', value: '"v1"' }, start: 100, total: 1000 } as const;
  const range = (a: number, b: number, total: number | '*' = 1000): string => `bytes ${a}-${b}/${total}`;
  const cases: [
    string,
    typeof etag | { validator: { kind: 'last-modified'; value: string }; start: number; total: number | undefined },
    Record<string, string>,
    string | true,
  ][] = [
    ['same ETag, offset and length', etag, { etag: '"v1"', 'content-range': range(100, 999) }, true],
    ['another ETag', etag, { etag: '"v2"', 'content-range': range(100, 999) }, 'validator-changed'],
    ['the weak form of our ETag', etag, { etag: 'W/"v1"', 'content-range': range(100, 999) }, 'validator-changed'],
    ['no ETag (but a Last-Modified)', etag, { 'last-modified': 'Tue, 02 Jan 2024 03:04:06 GMT', 'content-range': range(100, 999) }, 'validator-missing'],
    ['no validator at all', etag, { 'content-range': range(100, 999) }, 'validator-missing'],
    ['another offset', etag, { etag: '"v1"', 'content-range': range(0, 999) }, 'offset'],
    ['another total length', etag, { etag: '"v1"', 'content-range': range(100, 1999, 2000) }, 'length'],
    ['an unknown total is accepted', etag, { etag: '"v1"', 'content-range': range(100, 999, '*') }, true],
    ['no Content-Range', etag, { etag: '"v1"' }, 'unexpected'],
    [
      'same Last-Modified, other spelling of the instant',
      { validator: { kind: 'last-modified', value: 'Tue, 02 Jan 2024 03:04:06 GMT' }, start: 0, total: undefined },
      { 'last-modified': 'Tuesday, 02-Jan-24 03:04:06 GMT', 'content-range': range(0, 9, 10) },
      true,
    ],
    [
      'another Last-Modified',
      { validator: { kind: 'last-modified', value: 'Tue, 02 Jan 2024 03:04:06 GMT' }, start: 0, total: undefined },
      { 'last-modified': 'Wed, 03 Jan 2024 03:04:06 GMT', etag: '"x"', 'content-range': range(0, 9, 10) },
      'validator-changed',
    ],
  ];
  for (const [label, expect, headers, want] of cases) {
    it(label, () => {
      const verdict = checkPartialResponse(expect, headers);
      if (want === true) assert.deepEqual(verdict, { ok: true });
      else {
        assert.equal(verdict.ok, false);
        if (!verdict.ok) {
          assert.equal(verdict.problem, want);
          assert.ok(verdict.detail.length > 0);
        }
      }
    });
  }
});

describe('bounds', () => {
  it('exceedsMaxSize: over the limit only; unknown sizes and limit 0 never', () => {
    assert.equal(exceedsMaxSize(1025, 1024), true);
    assert.equal(exceedsMaxSize(1024, 1024), false);
    assert.equal(exceedsMaxSize(undefined, 1024), false);
    assert.equal(exceedsMaxSize(10 ** 12, 0), false);
  });

  it('checkLowSpeed: judged only once a full window has passed, over the last window', () => {
    let samples: readonly SpeedSample[] = [{ at: 0, bytes: 0 }];
    const step = (at: number, bytes: number): number | undefined => {
      const r = checkLowSpeed(samples, at, bytes, 1000, 2000);
      samples = r.samples;
      return r.tooSlow;
    };
    assert.equal(step(500, 10), undefined, 'window not full yet');
    assert.equal(step(1500, 20), undefined);
    assert.equal(step(2000, 30), 15, '30 bytes in 2 s: too slow');
    // A burst: 5000 bytes in the last window → fast enough.
    samples = [{ at: 0, bytes: 0 }];
    assert.equal(step(1000, 100), undefined);
    assert.equal(step(2000, 5000), undefined);
    // Then nothing for a window: slow again, measured from the newest sample a window old.
    assert.equal(step(3000, 5000), undefined, '4900 bytes since t=1000');
    assert.equal(step(4000, 5000), 0);
  });

  it('checkLowSpeed: limit 0 never judges and keeps one sample', () => {
    const r = checkLowSpeed([{ at: 0, bytes: 0 }], 10_000, 0, 0, 1000);
    assert.equal(r.tooSlow, undefined);
    assert.equal(r.samples.length, 1);
  });

  it('formatBytes', () => {
    assert.equal(formatBytes(12), '12 B');
    assert.equal(formatBytes(10.6 * 1024), '11 KiB');
    assert.equal(formatBytes(1024), '1 KiB');
    assert.equal(formatBytes(1536), '1.5 KiB');
    assert.equal(formatBytes(1024 ** 3), '1 GiB');
    assert.equal(formatBytes(50 * 1024 * 1024), '50 MiB');
  });
});
