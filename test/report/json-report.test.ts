import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildJsonReport, jsonSummary, reportPieces, type PackageOutcome } from '../../src/report/json-report.js';
import { inChunks, planLines } from '../../src/report/format.js';
import type { DownloadTask, Plan, Summary } from '../../src/types.js';
import { check, reportShape } from './report-schema.js';

const task = (name: string, url: string): DownloadTask => ({
  packageName: name,
  version: '1.0.0',
  distType: 'zip',
  urls: [url, `${url}?mirror=1`],
  cacheKey: `${name}/k.zip`,
  cachePath: `/cache/files/${name}/k.zip`,
  expectedSha1: undefined,
  dev: false,
  origins: ['composer.lock'],
});

const plan: Plan = {
  cacheFilesDir: '/cache/files',
  tasks: [
    task('acme/got', 'https://user:pw@repo.test/got.zip'),
    task('acme/bad', 'https://repo.test/bad.zip'),
    task('acme/left', 'https://repo.test/left.zip'),
  ],
  skipped: [{ packageName: 'acme/meta', version: '1.0.0', reason: 'metapackage', origin: 'composer.lock' }],
  invalid: [],
  warnings: ['a warning about https://repo.test/x.zip?token=s3cr3t'],
};

const summary: Summary = {
  backend: 'native',
  cacheFilesDir: '/cache/files',
  planned: 3,
  downloaded: 1,
  cached: 0,
  skipped: 1,
  invalid: 0,
  failed: 1,
  unfinished: 0,
  bytes: 10,
  durationMs: 5,
  interrupted: false,
  failures: [
    {
      packageName: 'acme/bad',
      version: '1.0.0',
      url: 'https://repo.test/bad.zip?access_token=s3cr3t',
      code: 'E_HTTP',
      message: 'HTTP 500 from https://repo.test/bad.zip?access_token=s3cr3t',
      hint: undefined,
    },
  ],
};

const outcomes = new Map<string, PackageOutcome>([['acme/got/k.zip', { status: 'downloaded', bytes: 10, source: 'https://mirror.test/got.zip?sig=s3cr3t' }]]);

describe('the --json report', () => {
  const report = buildJsonReport({
    command: 'prefetch',
    version: '9.9.9',
    plan,
    summary,
    outcomeOf: (key) => outcomes.get(key),
    origins: [],
    cacheSize: undefined,
    warnings: plan.warnings,
  });

  it('has the documented shape, and ok is false when a package failed', () => {
    assert.deepEqual(check(report, reportShape), []);
    assert.equal(report['ok'], false);
    assert.equal(report['summary'] !== null, true);
  });

  it("takes each package's status from the run's events (outcomeOf) and its error from the summary", () => {
    const packages = report['packages'] as { name: string; status: string; bytes: number; error: { code: string } | null; mirrors: string[] }[];
    assert.deepEqual(
      packages.map((p) => [p.name, p.status, p.bytes, p.error?.code ?? null]),
      [
        ['acme/got', 'downloaded', 10, null],
        ['acme/bad', 'planned', 0, 'E_HTTP'],
        ['acme/left', 'planned', 0, null],
      ],
    );
    assert.equal(packages[0]!.mirrors.length, 1);
  });

  it('never shows a secret: URLs, sources, messages and warnings are redacted', () => {
    const text = JSON.stringify(report);
    assert.doesNotMatch(text, /s3cr3t|user:pw/);
    assert.match(text, /https:\/\/\*\*\*@repo\.test\/got\.zip/);
  });

  it('a dry run has no summary and is ok', () => {
    const dry = buildJsonReport({
      command: 'dry-run',
      version: '9.9.9',
      plan,
      summary: undefined,
      outcomeOf: () => undefined,
      origins: [],
      cacheSize: undefined,
      warnings: [],
    });
    assert.deepEqual([dry['summary'], dry['ok'], dry['cacheSize']], [null, true, null]);
  });

  it("the summary lists failures by package with redacted URLs, and nothing of the run's internals", () => {
    const json = jsonSummary({ ...summary, failures: [{ ...summary.failures[0]!, cause: 'http5xx', reason: 'HTTP 500', cacheState: 'missing' }] });
    assert.deepEqual(json['failures'], [
      {
        packageName: 'acme/bad',
        version: '1.0.0',
        url: 'https://repo.test/bad.zip?access_token=***',
        code: 'E_HTTP',
        message: 'HTTP 500 from https://repo.test/bad.zip?access_token=***',
        hint: null,
      },
    ]);
  });
});

describe('the --json report and the --dry-run listing are written in pieces', () => {
  const tricky = (name: string): DownloadTask => ({
    ...task(name, 'https://repo.test/a.zip'),
    cachePath: `/cache/files/${name}/"packages": []\n  "packages": [].zip`,
  });
  const reports: Record<string, Record<string, unknown>> = {
    'a run with packages': buildJsonReport({
      command: 'prefetch',
      version: '1.2.3',
      plan,
      summary,
      outcomeOf: () => undefined,
      origins: [],
      cacheSize: undefined,
      warnings: [],
    }),
    'no packages': buildJsonReport({
      command: 'dry-run',
      version: '1.2.3',
      plan: { ...plan, tasks: [] },
      summary: undefined,
      outcomeOf: () => undefined,
      origins: [],
      cacheSize: undefined,
      warnings: ['"packages": []'],
    }),
    'values that look like the list': buildJsonReport({
      command: 'dry-run',
      version: '1.2.3',
      plan: { ...plan, tasks: [tricky('acme/one'), tricky('acme/two')] },
      summary: undefined,
      outcomeOf: () => undefined,
      origins: [],
      cacheSize: undefined,
      warnings: ['\n  "packages": []'],
    }),
  };
  for (const [label, report] of Object.entries(reports)) {
    it(`pieces join to exactly JSON.stringify(report, null, 2): ${label}`, () => {
      const pieces = [...reportPieces(report)];
      assert.equal(pieces.join(''), JSON.stringify(report, null, 2));
      assert.equal([...inChunks(pieces, '', 16)].join(''), JSON.stringify(report, null, 2));
    });
  }

  it('a long report is more than one piece, each entry on its own', () => {
    const many = buildJsonReport({
      command: 'dry-run',
      version: '1',
      plan: { ...plan, tasks: Array.from({ length: 50 }, (_, i) => task(`acme/p${i}`, 'https://repo.test/p.zip')) },
      summary: undefined,
      outcomeOf: () => undefined,
      origins: [],
      cacheSize: undefined,
      warnings: [],
    });
    const pieces = [...reportPieces(many)];
    assert.equal(pieces.length, 52);
    const chunks = [...inChunks(pieces, '', 1024)];
    assert.ok(chunks.length > 3 && chunks.every((c) => c.length < 1024 + 1000), `${chunks.length} chunks`);
    assert.equal(chunks.join(''), JSON.stringify(many, null, 2));
  });

  it('inChunks joins with the separator across chunk boundaries', () => {
    const lines = Array.from({ length: 100 }, (_, i) => `line ${i}`);
    assert.equal([...inChunks(lines, '\n', 10)].join(''), lines.join('\n'));
    assert.deepEqual([...inChunks([], '\n')], []);
    assert.equal([...inChunks([...planLines(plan)], '\n', 7)].join(''), [...planLines(plan)].join('\n'));
  });
});
