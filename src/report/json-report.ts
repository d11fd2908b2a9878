import { redactUrl } from '../net/request-policy.js';
import type { Plan } from '../types.js';
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
export type JsonPackageStatus = 'planned' | 'downloaded' | 'cached' | 'failed' | 'missing' | 'invalid';

export interface JsonError {
  readonly code: string;
  readonly message: string;
  readonly hint: string | null;
}

export interface JsonPackageEntry {
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
  const failures = new Map((summary?.failures ?? []).map((f) => [`${f.packageName}@${f.version}`, f]));
  return {
    schemaVersion: REPORT_SCHEMA_VERSION,
    tool: { name: 'composer-prefetch', version: input.version },
    command: input.command,
    ok: summaryOk(summary),
    cacheFilesDir: plan.cacheFilesDir,
    packages: plan.tasks.map((task): JsonPackageEntry => {
      const failure = failures.get(`${task.packageName}@${task.version}`);
      const outcome = input.outcomeOf(task.cacheKey);
      return {
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
    skipped: plan.skipped.map((s) => ({ name: s.packageName, version: s.version, reason: s.reason, origin: s.origin })),
    invalid: plan.invalid.map((i) => ({ name: i.packageName ?? null, origin: i.origin, message: redactText(i.message) })),
    warnings: input.warnings.map(redactText),
    summary: summary === undefined ? null : jsonSummary(summary),
    origins: input.origins,
    cacheSize: input.cacheSize ?? null,
  };
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
