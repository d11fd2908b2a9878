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

  it('shortens a URL in its middle: the origin and the end stay', () => {
    const url = `https://api.github.com/repos/some-organisation/some-package/zipball/${'0123456789abcdef'.repeat(2)}`;
    const short = shortenUrl(url, 50);
    assert.equal(displayWidth(short), 50);
    assert.ok(short.startsWith('https://api.github.com/'), short);
    assert.ok(short.endsWith('89abcdef'), short);
    assert.match(short, /…/);
    assert.equal(shortenUrl('http://h/x.zip', 50), 'http://h/x.zip');
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
    const s: ProgressSnapshot = { total: 1200, finished: 1100, failed: 37, cached: 0, retries: 0, bytes: 123_456_789, bytesPerSecond: 12_345_678, etaMs: 3_700_000, inFlight: [] } as unknown as ProgressSnapshot;
    const overall = formatOverall(s, createPaint(true), 79);
    assert.ok(displayWidth(overall) <= 79, overall);
    assert.match(overall, /ETA 1 h 1 min/);
    const transfer = formatTransfer({ packageName: `acme/${'long-name-'.repeat(10)}`, version: '1.0.0', bytes: 1000, total: 2000 } as never, createPaint(true), 60);
    assert.ok(displayWidth(transfer) <= 60, transfer);
    assert.match(transfer, /…\s+1000 B \/ 2\.0 KiB 50%/);
  });
});
