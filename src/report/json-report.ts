import { redactUrl } from '../net/request-policy.js';
import type { Plan } from '../plan/types.js';
import type { Summary } from './types.js';

export const REPORT_SCHEMA_VERSION = 1;

export interface JsonPackageEntry {
  readonly name: string;
  readonly version: string;
  readonly dev: boolean;
  readonly url: string;
  readonly mirrors: readonly string[];
  readonly cacheKey: string;
  readonly cachePath: string;
  readonly shasum: string | null;
  readonly status: 'planned' | 'downloaded' | 'cached' | 'failed';
  readonly error: { readonly code: string; readonly message: string; readonly hint: string | null } | null;
}

/** The `--json` document: stable, versioned, secrets redacted. */
export function buildJsonReport(plan: Plan, summary: Summary | undefined, statusOf: (cacheKey: string) => JsonPackageEntry['status']): unknown {
  const failures = new Map((summary?.failures ?? []).map((f) => [`${f.packageName}@${f.version}`, f]));
  return {
    schemaVersion: REPORT_SCHEMA_VERSION,
    cacheFilesDir: plan.cacheFilesDir,
    packages: plan.tasks.map((task): JsonPackageEntry => {
      const failure = failures.get(`${task.packageName}@${task.version}`);
      return {
        name: task.packageName,
        version: task.version,
        dev: task.dev,
        url: redactUrl(task.urls[0]),
        mirrors: task.urls.slice(1).map(redactUrl),
        cacheKey: task.cacheKey,
        cachePath: task.cachePath,
        shasum: task.expectedSha1 ?? null,
        status: statusOf(task.cacheKey),
        error: failure ? { code: failure.code, message: failure.message, hint: failure.hint ?? null } : null,
      };
    }),
    skipped: plan.skipped.map((s) => ({ name: s.packageName, version: s.version, reason: s.reason, origin: s.origin })),
    invalid: plan.invalid.map((i) => ({ name: i.packageName ?? null, origin: i.origin, message: i.message })),
    warnings: plan.warnings,
    summary: summary ?? null,
  };
}
