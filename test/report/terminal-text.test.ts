import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PrefetchError } from '../../src/errors.js';
import type { DownloadTask, Plan } from '../../src/types.js';
import { formatTransfer } from '../../src/report/bar-reporter.js';
import { formatSummary, planLines } from '../../src/report/format.js';
import { createPlainReporter, escapeWorkflowData } from '../../src/report/plain-reporter.js';
import { displayText, escapeControlChars } from '../../src/report/terminal-text.js';

/** What a terminal would act on: C0 (LF/CR included), DEL, C1, line separators, bidi controls. */
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;
const HOSTILE = ['\u001b]0;pwned\u0007', '\u001b[2J', '\nDone: 0 failed', '\r\u009b31m', '\u202eevil\u2066', '\u0000\u007f\u2028'];

function task(name: string, version: string, url: string): DownloadTask {
  return {
    packageName: name,
    version,
    distType: 'zip',
    urls: [url],
    cacheKey: `${name}/abc.zip`,
    cachePath: `/cache/files/${name}/abc.zip`,
    expectedSha1: undefined,
    dev: false,
    origins: ['composer.lock'],
  };
}

describe('escapeControlChars / displayText', () => {
  it('makes every unsafe character visible and keeps the rest', () => {
    assert.equal(escapeControlChars('a\u001b[2Jb\nc\td\u007f\u009b\u202e'), 'a\\x1b[2Jb\\nc\\td\\x7f\\x9b\\u202e');
    assert.equal(escapeControlChars('acme/ünïcode ✓ 1.0.0'), 'acme/ünïcode ✓ 1.0.0');
    for (const h of HOSTILE) assert.doesNotMatch(escapeControlChars(h), UNSAFE);
  });

  it('redacts URLs too, and can leave line breaks to a caller that encodes them', () => {
    assert.equal(displayText('from http://u:SECRET@h/x.zip\u001b[2J'), 'from http://***@h/x.zip\\x1b[2J');
    assert.equal(displayText('a\nb\u001b', { keepLineBreaks: true }), 'a\nb\\x1b');
  });
});

describe('human reporters with hostile names, versions and URLs', () => {
  const tasks = HOSTILE.map((h, i) => task(`acme/p${i}${h}`, `1.0.${i}${h}`, `https://example.org/${i}${h}.zip`));
  const plan: Plan = {
    cacheFilesDir: '/cache/files\u001b[2J',
    tasks,
    skipped: [],
    invalid: [{ packageName: `bad${HOSTILE[0]}`, origin: `composer.lock${HOSTILE[2]}`, message: `nope${HOSTILE[1]}` }],
    warnings: [],
  };

  for (const annotations of [undefined, 'github'] as const) {
    it(`plain reporter${annotations ? ' (GitHub annotations)' : ''}: one line per message, nothing a terminal would act on`, () => {
      const lines: string[] = [];
      const reporter = createPlainReporter({ write: (l) => lines.push(l), quiet: false, verbose: true, annotations, every: () => () => undefined });
      reporter.handle({ type: 'planned', plan });
      for (const t of tasks) {
        reporter.handle({ type: 'started', task: t, url: t.urls[0], attempt: 1 });
        reporter.handle({ type: 'retried', task: t, url: t.urls[0], attempt: 1, delayMs: 5, error: new PrefetchError('E_NETWORK', `reset ${t.urls[0]}`) });
        reporter.handle({
          type: 'failed',
          task: t,
          error: new PrefetchError('E_HTTP', `${t.packageName}: HTTP 404 from ${t.urls[0]}${HOSTILE[2]}`, { hint: `hint${HOSTILE[0]}` }),
        });
      }
      reporter.handle({ type: 'warning', message: `careful${HOSTILE[2]}${HOSTILE[1]}` });
      reporter.close();
      assert.ok(lines.length > 0);
      for (const line of lines) {
        assert.doesNotMatch(line, UNSAFE, JSON.stringify(line));
        assert.doesNotMatch(line, /^Done:/);
      }
    });
  }

  it('summary, dry-run plan and bar transfer lines', () => {
    const failures = tasks.map((t) => ({
      packageName: t.packageName,
      version: t.version,
      url: t.urls[0],
      code: 'E_HTTP',
      message: `HTTP 404 from ${t.urls[0]}`,
      hint: `h${HOSTILE[2]}`,
    }));
    const summary = {
      backend: 'native' as const,
      cacheFilesDir: plan.cacheFilesDir,
      planned: tasks.length,
      downloaded: 0,
      cached: 0,
      skipped: 0,
      invalid: 1,
      failed: tasks.length,
      bytes: 0,
      durationMs: 5,
      failures,
      interrupted: false,
      unfinished: 0,
    };
    const text = [
      formatSummary(summary),
      [...planLines(plan)].join('\n'),
      ...tasks.map((t) => formatTransfer({ packageName: t.packageName, version: t.version, bytes: 1, total: 2 })),
    ].join('\n');
    for (const line of text.split('\n')) {
      assert.doesNotMatch(line, /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/, JSON.stringify(line));
      assert.doesNotMatch(line, /^Done: 0 failed/);
    }
  });

  it('a workflow command cannot be ended early by a name', () => {
    const text = escapeWorkflowData(`acme/x\r\n::error::forged\u001b[2J 100%`);
    assert.equal(text, 'acme/x%0D%0A::error::forged\\x1b[2J 100%25');
  });
});
