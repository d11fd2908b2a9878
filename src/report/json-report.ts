import { redactUrl } from '../net/redact-url.js';
import type { DownloadTask, Plan } from '../types.js';
import type { CacheSizeCheck } from './cache-size.js';
import type { OriginStats } from './origin-stats.js';
import { redactText } from './redact.js';
import type { Summary } from '../types.js';

/**
 * Version of the `--json` document and of `--json=ndjson` events. Adding a field keeps the
 * version; renaming, removing or changing the meaning of one bumps it (README, "JSON output").
 */
export const REPORT_SCHEMA_VERSION = 1;

export type JsonCommand = 'prefetch' | 'verify' | 'dry-run';
export type JsonPackageStatus = 'planned' | 'downloaded' | 'cached' | 'failed' | 'missing' | 'invalid' | 'unreadable';

export interface JsonError {
  readonly code: string;
  readonly message: string;
  readonly hint: string | null;
}

export interface JsonPackageEntry {
  /** `dist`: an archive in cache-files-dir; `git`: the package's bare mirror in cache-vcs-dir. */
  readonly kind: 'dist' | 'git';
  readonly name: string;
  readonly version: string;
  readonly dev: boolean;
  readonly url: string;
  readonly mirrors: readonly string[];
  readonly cacheKey: string;
  readonly cachePath: string;
  readonly shasum: string | null;
  readonly status: JsonPackageStatus;
  /** Bytes downloaded for it in this run (0 when cached). */
  readonly bytes: number;
  /** The URL the bytes came from, when downloaded (a mirror, maybe). */
  readonly source: string | null;
  readonly error: JsonError | null;
}

/** A git mirror package's entry: `kind: git`, plus the locked commit and what was done to its mirror. */
export interface JsonGitEntry extends JsonPackageEntry {
  readonly kind: 'git';
  /** `source.reference`: the commit the mirror must hold. */
  readonly reference: string;
  /** What this run did to the mirror; null when it was not looked at (`--dry-run`, git missing). */
  readonly result: 'cloned' | 'updated' | 'cached' | 'failed' | null;
  /** False when git did not say how much it received (`bytes` is then 0). */
  readonly bytesKnown: boolean;
}

/** One package of a git mirror as the source stage found it (vcs/source-stage.ts `gitMirrorEntries`). */
export interface GitMirrorEntry {
  /** `cacheKey` `vcs/<folder>`, `cachePath` the mirror folder, `urls[0]` the sanitized source URL. */
  readonly task: DownloadTask;
  readonly reference: string;
  readonly status: JsonPackageStatus;
  readonly result: 'cloned' | 'updated' | 'cached' | 'failed' | undefined;
  readonly bytes: number;
  readonly bytesKnown: boolean;
  readonly source: string | undefined;
  readonly error: { readonly code: string; readonly message: string; readonly hint?: string | undefined } | undefined;
}

/** What the CLI learned about one archive from the events. */
export interface PackageOutcome {
  readonly status: JsonPackageStatus;
  readonly bytes: number;
  readonly source: string | undefined;
}

export interface JsonReportInput {
  readonly command: JsonCommand;
  readonly version: string;
  readonly plan: Plan;
  readonly summary: Summary | undefined;
  readonly outcomeOf: (cacheKey: string) => PackageOutcome | undefined;
  /** The packages of the git mirrors (none without source packages or with `--no-source`). */
  readonly gitMirrors?: readonly GitMirrorEntry[];
  readonly origins: readonly OriginStats[];
  readonly cacheSize: CacheSizeCheck | undefined;
  readonly warnings: readonly string[];
}

export function jsonError(error: { code: string; message: string; hint?: string | undefined }): JsonError {
  return { code: error.code, message: redactText(error.message), hint: error.hint === undefined ? null : redactText(error.hint) };
}

/** `ok` of a report or ndjson summary: nothing failed, nothing invalid, not interrupted (a dry run is ok). */
export function summaryOk(summary: Summary | undefined): boolean {
  return summary === undefined ? true : summary.failed === 0 && summary.invalid === 0 && !summary.interrupted;
}

/** The `--json` document: stable, versioned, secrets redacted. */
export function buildJsonReport(input: JsonReportInput): Record<string, unknown> {
  const { plan, summary } = input;
  // A package may have both an archive and a git mirror (preferred-install: source): each its own error.
  const failures = new Map((summary?.failures ?? []).filter((f) => f.vcs === undefined).map((f) => [`${f.packageName}@${f.version}`, f]));
  return {
    schemaVersion: REPORT_SCHEMA_VERSION,
    tool: { name: 'composer-prefetch', version: input.version },
    command: input.command,
    ok: summaryOk(summary),
    cacheFilesDir: plan.cacheFilesDir,
    packages: [
      ...plan.tasks.map((task): JsonPackageEntry => {
        const failure = failures.get(`${task.packageName}@${task.version}`);
        const outcome = input.outcomeOf(task.cacheKey);
        return {
          kind: 'dist',
          name: task.packageName,
          version: task.version,
          dev: task.dev,
          url: redactUrl(task.urls[0]),
          mirrors: task.urls.slice(1).map(redactUrl),
          cacheKey: task.cacheKey,
          cachePath: task.cachePath,
          shasum: task.expectedSha1 ?? null,
          status: outcome?.status ?? 'planned',
          bytes: outcome?.bytes ?? 0,
          source: outcome?.source === undefined ? null : redactUrl(outcome.source),
          error: failure ? jsonError(failure) : null,
        };
      }),
      ...(input.gitMirrors ?? []).map(gitEntry),
    ],
    skipped: plan.skipped.map((s) => ({ name: s.packageName, version: s.version, reason: s.reason, origin: s.origin })),
    invalid: plan.invalid.map((i) => ({ name: i.packageName ?? null, origin: i.origin, message: redactText(i.message) })),
    warnings: input.warnings.map(redactText),
    summary: summary === undefined ? null : jsonSummary(summary),
    origins: input.origins,
    cacheSize: input.cacheSize ?? null,
  };
}

function gitEntry(m: GitMirrorEntry): JsonGitEntry {
  return {
    kind: 'git',
    name: m.task.packageName,
    version: m.task.version,
    dev: m.task.dev,
    url: redactUrl(m.task.urls[0]),
    mirrors: [],
    cacheKey: m.task.cacheKey,
    cachePath: m.task.cachePath,
    shasum: null,
    status: m.status,
    bytes: m.bytes,
    source: m.source === undefined ? null : redactUrl(m.source),
    error: m.error === undefined ? null : jsonError(m.error),
    reference: m.reference,
    result: m.result ?? null,
    bytesKnown: m.bytesKnown,
  };
}

/**
 * `JSON.stringify(report, null, 2)` as a sequence of pieces whose concatenation is exactly that
 * text: the head and tail of the document once, then each entry of `packages` on its own. A
 * 50,000-package report is ~28 MB of text; made as one string it was held two or three times
 * over (the string, its flattened copy with the newline, the Buffer written), ~60 MB of peak RSS.
 */
export function* reportPieces(report: Record<string, unknown>): Generator<string> {
  const packages = report['packages'];
  // Overriding a key keeps its place in the order, so the rest of the document is unchanged.
  const text = JSON.stringify({ ...report, packages: [] }, null, 2);
  // At depth 1 the key is unique, and a string value holding these characters would show its
  // quotes escaped, so this finds the list itself.
  const marker = '\n  "packages": []';
  const at = text.indexOf(marker);
  if (!Array.isArray(packages) || packages.length === 0 || at < 0) {
    yield JSON.stringify(report, null, 2);
    return;
  }
  yield text.slice(0, at + marker.length - 1);
  let first = true;
  for (const entry of packages) {
    // An entry is an element at depth 2: its own lines indented by four more spaces.
    yield `${first ? '' : ','}\n    ${JSON.stringify(entry, null, 2).replaceAll('\n', '\n    ')}`;
    first = false;
  }
  yield `\n  ]${text.slice(at + marker.length)}`;
}

export function jsonSummary(summary: Summary): Record<string, unknown> {
  return {
    ...summary,
    failures: summary.failures.map((f) => ({
      packageName: f.packageName,
      version: f.version,
      url: f.url === undefined ? null : redactUrl(f.url),
      ...jsonError(f),
    })),
  };
}
