import { redactUrl } from '../net/redact-url.js';
import type { DownloadTask } from '../types.js';
import { failureCause, failureHint } from './failure-cause.js';
import { jsonError, REPORT_SCHEMA_VERSION } from './json-report.js';
import { originOf } from './origin-stats.js';
import { redactText } from './redact.js';
import type { PrefetchEvent, Reporter } from '../types.js';

export interface NdjsonReporterOptions {
  /** Receives one complete line (with its newline) per event. */
  readonly write: (line: string) => void;
  readonly now?: () => number;
}

function pkg(task: DownloadTask): { name: string; version: string; cacheKey: string } {
  return { name: task.packageName, version: task.version, cacheKey: task.cacheKey };
}

/**
 * One event as a JSON-safe object, or undefined for events not streamed. Every object has
 * `schemaVersion`, `type` and `time`; tasks are flattened to name/version/cacheKey so no
 * unredacted URL can slip out with them.
 */
function eventToJson(event: PrefetchEvent, time: string): Record<string, unknown> | undefined {
  const base = { schemaVersion: REPORT_SCHEMA_VERSION, type: event.type, time };
  switch (event.type) {
    case 'planned':
      return {
        ...base,
        cacheFilesDir: event.plan.cacheFilesDir,
        archives: event.plan.tasks.length,
        skipped: event.plan.skipped.length,
        invalid: event.plan.invalid.length,
        packages: event.plan.tasks.map((t) => ({ ...pkg(t), dev: t.dev, url: redactUrl(t.urls[0]), cachePath: t.cachePath })),
      };
    case 'mirrors':
      return { ...base, packages: event.tasks.map((t) => ({ ...pkg(t), kind: 'git', dev: t.dev, url: redactUrl(t.urls[0]), cachePath: t.cachePath })) };
    case 'started':
      return { ...base, ...pkg(event.task), url: redactUrl(event.url), origin: originOf(redactUrl(event.url)), attempt: event.attempt };
    case 'progress':
      return { ...base, ...pkg(event.task), bytes: event.bytes, total: event.total ?? null };
    case 'retried':
      return {
        ...base,
        ...pkg(event.task),
        url: redactUrl(event.url),
        origin: originOf(redactUrl(event.url)),
        attempt: event.attempt,
        delayMs: event.delayMs,
        cause: failureCause(event.error),
        error: jsonError(event.error),
      };
    case 'done':
      return {
        ...base,
        ...pkg(event.task),
        result: event.result,
        bytes: event.bytes,
        url: event.url === undefined ? null : redactUrl(event.url),
        cachePath: event.task.cachePath,
      };
    case 'failed':
      return {
        ...base,
        ...pkg(event.task),
        cause: failureCause(event.error),
        error: jsonError({ code: event.error.code, message: event.error.message, hint: failureHint(event.error) }),
      };
    case 'warning':
      return { ...base, message: redactText(event.message) };
    default:
      // `summary` is written by the CLI with the per-origin statistics it owns.
      return undefined;
  }
}

/** `--json=ndjson`: one event per line on stdout, as it happens. */
export function createNdjsonReporter(options: NdjsonReporterOptions): Reporter & { writeSummary(summary: Record<string, unknown>): void } {
  const now = options.now ?? Date.now;
  const time = (): string => new Date(now()).toISOString();
  return {
    handle(event) {
      const json = eventToJson(event, time());
      if (json) options.write(`${JSON.stringify(json)}\n`);
    },
    writeSummary(summary) {
      options.write(`${JSON.stringify({ schemaVersion: REPORT_SCHEMA_VERSION, type: 'summary', time: time(), ...summary })}\n`);
    },
    close() {},
  };
}
