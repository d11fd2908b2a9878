import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatOverall, formatTransfer } from '../../src/report/bar-reporter.js';
import { createPaint } from '../../src/report/color.js';
import { displayWidth, shortenUrl, truncateToWidth, wrapToWidth } from '../../src/report/fit-width.js';
import type { ProgressSnapshot } from '../../src/report/progress-state.js';

describe('fitting lines to a terminal', () => {
  it('counts columns, not escape codes or UTF-16 units', () => {
    assert.equal(displayWidth('\u001b[31mabc\u001b[39m'), 3);
    assert.equal(displayWidth('█░✗↓'), 4);
    assert.equal(displayWidth('包裹'), 4);
  });

  it('cuts with an ellipsis and closes a colour it cut', () => {
    assert.equal(truncateToWidth('abcdef', 6), 'abcdef');
    assert.equal(truncateToWidth('abcdef', 4), 'abc…');
    assert.equal(truncateToWidth('\u001b[2mabcdef\u001b[22m', 4), '\u001b[2mabc…\u001b[0m');
  });

  it('shortens a URL where it says least: a long hash to its ends, then segments next to the host; the origin and the last segments stay whole', () => {
    const hash = '0123456789abcdef'.repeat(2);
    const url = `https://api.github.com/repos/some-organisation/some-package/zipball/${hash}`;
    // The package and the reference asked for (what a 404 is about) stay; `repos` and the organisation give way.
    assert.equal(shortenUrl(url, 60), 'https://api.github.com/…/some-package/zipball/01234567…cdef');
    const short = shortenUrl(url, 50);
    assert.ok(displayWidth(short) <= 50, short);
    assert.ok(short.startsWith('https://api.github.com/…/'), short);
    assert.ok(short.endsWith('/zipball/01234567…cdef'), short);
    // The 80-column test's URL: the segment that differs between the failing packages survives.
    const local = `http://127.0.0.1:19209/repos/some-organisation-with-a-long-name/package-number-3/zipball/${'0123456789abcdef'.repeat(3)}3`;
    assert.equal(shortenUrl(local, 67), 'http://127.0.0.1:19209/…/package-number-3/zipball/01234567…def3');
    // One long segment: its ends stay.
    assert.equal(shortenUrl(`https://h.example/${'q'.repeat(100)}.zip`, 40), 'https://h.example/qqqqqqqq….zip');
    // Nothing left to give way: the middle is cut, the origin kept.
    const many = `https://h.example/${'abcdefgh/'.repeat(12)}end.zip`;
    const cut = shortenUrl(many, 30);
    assert.ok(displayWidth(cut) <= 30, cut);
    assert.ok(cut.startsWith('https://h.example/'), cut);
    assert.equal(shortenUrl('http://h/x.zip', 50), 'http://h/x.zip');
  });

  it('never ends a wrapped line on a bare number: a count stays with its word', () => {
    const text = 'Done: 140 downloaded (52.1 MiB, 3.7 MiB/s), 0 already cached, 0 skipped, 13 failed in 14.1 s';
    for (let width = 20; width <= 90; width++) {
      const lines = wrapToWidth(text, width);
      for (const line of lines) {
        assert.ok(displayWidth(line) <= width, `${width}: ${line}`);
        assert.doesNotMatch(line, /(^|\s)[(]?\d[\d.,]*$/, `${width}: a line ends on a number:\n${lines.join('\n')}`);
      }
      assert.equal(lines.map((l) => l.trim()).join(' '), text);
    }
  });

  it('wraps at spaces within the width, indents what follows, and keeps every word', () => {
    const text = `✗ acme/pkg 1.0.0: HTTP 404 from https://example.org/${'x'.repeat(120)}/end.zip and more words after it`;
    const lines = wrapToWidth(text, 40);
    for (const line of lines) assert.ok(displayWidth(line) <= 40, line);
    for (const line of lines.slice(1)) assert.ok(line.startsWith('  '), line);
    const joined = lines.map((l) => l.trim()).join(' ');
    assert.match(joined, /^✗ acme\/pkg 1\.0\.0: HTTP 404 from https:\/\/\S*…\S*\/end\.zip and more words after it$/);
    assert.deepEqual(wrapToWidth('short', 40), ['short']);
  });

  it('the bar lines fit the width: the bar gives up columns, a long name is cut', () => {
    const s: ProgressSnapshot = {
      total: 1200,
      finished: 1100,
      failed: 37,
      cached: 0,
      retries: 0,
      bytes: 123_456_789,
      bytesPerSecond: 12_345_678,
      etaMs: 3_700_000,
      inFlight: [],
    } as unknown as ProgressSnapshot;
    const overall = formatOverall(s, createPaint(true), 79);
    assert.ok(displayWidth(overall) <= 79, overall);
    assert.match(overall, /ETA 1 h 1 min/);
    const transfer = formatTransfer(
      { packageName: `acme/${'long-name-'.repeat(10)}`, version: '1.0.0', bytes: 1000, total: 2000 } as never,
      createPaint(true),
      60,
    );
    assert.ok(displayWidth(transfer) <= 60, transfer);
    assert.match(transfer, /…\s+1000 B \/ 2\.0 KiB 50%/);
  });
});
