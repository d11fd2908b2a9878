import type { ComposerConfig } from '../config/composer-config.js';
import { CacheStateError, type PrefetchError } from '../errors.js';
import type { CacheSizeCheck } from '../report/cache-size.js';
import { inChunks, planCounts, planLines } from '../report/format.js';
import {
  buildJsonReport,
  jsonError,
  jsonSummary,
  REPORT_SCHEMA_VERSION,
  reportPieces,
  summaryOk,
  type JsonCommand,
  type PackageOutcome,
} from '../report/json-report.js';
import { createNdjsonReporter } from '../report/ndjson-reporter.js';
import type { OriginStats } from '../report/origin-stats.js';
import { redactText } from '../report/redact.js';
import { displayText } from '../report/terminal-text.js';
import type { Plan, PrefetchEvent, Summary } from '../types.js';
import { gitMirrorEntries, type SourceOutcome } from '../vcs/mirror-report.js';
import type { JsonFormat } from './program.js';

/** What a finished run hands to its stdout format. */
export interface FinishedRun {
  readonly plan: Plan;
  readonly summary: Summary;
  readonly config: ComposerConfig;
  readonly sources: SourceOutcome | undefined;
  readonly origins: readonly OriginStats[];
  readonly cacheSize: CacheSizeCheck | undefined;
  readonly warnings: readonly string[];
}

/**
 * One stdout format: sees every event as it happens, then writes its document at the end, or its
 * error document when the run stops. The only place that decides what goes to stdout, so a new
 * format (a SARIF file, a JUnit report, …) is one more case here and nothing else.
 */
export interface StdoutFormat {
  handle(event: PrefetchEvent): void;
  finish(run: FinishedRun): void;
  fail(error: PrefetchError): void;
}

export interface StdoutContext {
  readonly command: JsonCommand;
  readonly version: string;
  readonly verifyOnly: boolean;
  readonly dryRun: boolean;
  readonly write: (chunk: string) => void;
}

/** `--json` (one report), `--json=ndjson` (events as they happen), or the dry run's plan listing (none otherwise). */
export function stdoutFormat(format: JsonFormat | undefined, context: StdoutContext): StdoutFormat {
  if (format === 'report') return jsonReportFormat(context);
  if (format === 'ndjson') return ndjsonFormat(context);
  return context.dryRun ? planListingFormat(context) : { handle: () => undefined, finish: () => undefined, fail: () => undefined };
}

/** `--json`: one document at the end, with each package's outcome (kept only for this format: ~6 MB per 50,000). */
function jsonReportFormat(c: StdoutContext): StdoutFormat {
  const outcomes = new Map<string, PackageOutcome>();
  return {
    handle(event) {
      if (event.type === 'done') outcomes.set(event.task.cacheKey, { status: event.result, bytes: event.bytes, source: event.url });
      if (event.type === 'failed') {
        const status = c.verifyOnly && event.error instanceof CacheStateError ? event.error.state : 'failed';
        outcomes.set(event.task.cacheKey, { status, bytes: 0, source: undefined });
      }
    },
    finish(run) {
      const report = buildJsonReport({
        command: c.command,
        version: c.version,
        plan: run.plan,
        summary: c.dryRun ? undefined : run.summary,
        outcomeOf: (key) => outcomes.get(key),
        gitMirrors: gitMirrorEntries(run.sources, c.dryRun ? 'plan' : c.verifyOnly ? 'check' : 'fetch'),
        origins: run.origins,
        cacheSize: run.cacheSize,
        warnings: run.warnings,
      });
      for (const chunk of inChunks(reportPieces(report))) c.write(chunk);
      c.write('\n');
    },
    fail(error) {
      // A JSON consumer gets a document it can parse, not an empty stdout.
      c.write(
        `${JSON.stringify({ schemaVersion: REPORT_SCHEMA_VERSION, command: c.command, ok: false, error: jsonError(error), tool: { name: 'composer-prefetch', version: c.version } }, null, 2)}\n`,
      );
    },
  };
}

/** `--json=ndjson`: one event per line as it happens, a summary line last (or an error line). */
function ndjsonFormat(c: StdoutContext): StdoutFormat {
  const ndjson = createNdjsonReporter({ write: c.write });
  return {
    handle: (event) => ndjson.handle(event),
    finish(run) {
      ndjson.writeSummary({
        command: c.command,
        ok: summaryOk(c.dryRun ? undefined : run.summary),
        summary: jsonSummary(run.summary),
        origins: run.origins,
        cacheSize: run.cacheSize ?? null,
      });
    },
    fail(error) {
      c.write(
        `${JSON.stringify({ schemaVersion: REPORT_SCHEMA_VERSION, command: c.command, ok: false, error: jsonError(error), type: 'error', time: new Date().toISOString() })}\n`,
      );
    },
  };
}

/** `--dry-run` without `--json`: the plan, one block per archive, then the git mirrors. */
function planListingFormat(c: StdoutContext): StdoutFormat {
  return {
    handle: () => undefined,
    finish(run) {
      for (const chunk of inChunks(planLines(run.plan), '\n')) c.write(chunk);
      c.write('\n');
      const mirrors = run.sources?.plans.flatMap((p) => p.tasks) ?? [];
      if (mirrors.length > 0) {
        c.write(
          `${mirrors.length} git ${mirrors.length === 1 ? 'mirror' : 'mirrors'} for packages installed from source (cloned or updated in Composer's cache-vcs-dir):\n`,
        );
        for (const m of mirrors) c.write(`  ${displayText(redactText(m.url))}\n    ${displayText(m.dir)}\n`);
      }
      // The counts again, last: a 153-package listing is 461 lines, and its first line has scrolled away.
      const skipped = run.plan.skipped.length > 0 ? `, ${run.plan.skipped.length} skipped` : '';
      const git = mirrors.length > 0 ? `, ${mirrors.length} git ${mirrors.length === 1 ? 'mirror' : 'mirrors'}` : '';
      c.write(`In all, ${planCounts(run.plan)}${skipped}${git}. Nothing was downloaded (--dry-run).\n`);
    },
    fail: () => undefined,
  };
}
