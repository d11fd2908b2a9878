import { appendFile } from 'node:fs/promises';
import { redactUrl } from '../net/redact-url.js';
import { formatBytes } from '../bytes.js';
import { failureGuidance } from './failure-cause.js';
import { failureText, formatDuration, groupFailures, verifyState } from './format.js';
import type { OriginStats } from './origin-stats.js';
import { redactText } from './redact.js';
import type { Summary } from '../types.js';

export interface GithubSummaryInput {
  readonly command: 'prefetch' | 'verify';
  readonly summary: Summary;
  readonly origins: readonly OriginStats[];
}

/**
 * Text from a lock, a server or an error message, made inert in GitHub-flavoured Markdown: control
 * characters shown as `\xHH` (a newline could start a heading or a table row), HTML special
 * characters as entities, and Markdown punctuation backslash-escaped (no emphasis, links, images,
 * table cells, @mentions or code spans can be opened by a package name or a message).
 */
export function escapeMarkdown(text: string): string {
  return text
    .replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`)
    .replace(/[\\`*_{}[\]()#!|~@^$]/g, (c) => `\\${c}`)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;');
}

/**
 * The job summary a person opens the run page to see: counts, bytes, time and throughput, one row
 * per host, and each failure with what to do next. Messages and URLs are redacted, then escaped.
 */
export function formatGithubSummary(input: GithubSummaryInput): string {
  const { summary, origins } = input;
  const lines: string[] = [];
  const seconds = Math.max(summary.durationMs, 1) / 1000;
  const throughput = summary.bytes > 0 ? `${formatBytes(summary.bytes / seconds)}/s` : '–';
  if (input.command === 'verify') {
    // Archives in the title; the git mirror packages are in the counts and failures below.
    const archives = { cached: summary.cached - (summary.git?.cached ?? 0), planned: summary.planned - (summary.git?.planned ?? 0) };
    const missing = summary.failures.filter((f) => verifyState(f) === 'missing').length;
    const unreadable = summary.failures.filter((f) => verifyState(f) === 'unreadable').length;
    const invalid = summary.failures.length - missing - unreadable;
    lines.push(
      summary.failed === 0
        ? `### ✅ composer-prefetch verify: all ${archives.cached} archives are in Composer's cache`
        : `### ❌ composer-prefetch verify: ${missing} missing, ${invalid} invalid${unreadable > 0 ? `, ${unreadable} unreadable` : ''} of ${archives.planned} archives`,
    );
  } else {
    const verdict = summary.interrupted ? '⚠️' : summary.failed > 0 || summary.invalid > 0 ? '❌' : '✅';
    const tail = summary.interrupted ? ` (interrupted: ${summary.unfinished} not fetched, a rerun fetches them)` : '';
    lines.push(`### ${verdict} composer-prefetch: ${summary.downloaded} downloaded, ${summary.cached} cached, ${summary.failed} failed${tail}`);
  }
  lines.push(
    '',
    '| Downloaded | Cached | Skipped | Failed | Invalid entries | Bytes | Time | Throughput |',
    '|---:|---:|---:|---:|---:|---:|---:|---:|',
    `| ${summary.downloaded} | ${summary.cached} | ${summary.skipped} | ${summary.failed} | ${summary.invalid} | ${formatBytes(summary.bytes)} | ${formatDuration(summary.durationMs)} | ${throughput} |`,
    '',
    `Backend: ${escapeMarkdown(summary.backend)} · Cache: ${escapeMarkdown(summary.cacheFilesDir)}`,
  );
  if (origins.length > 0) {
    lines.push('', '| Host | Requests | Archives | Bytes | Throughput | Retries | Failures |', '|---|---:|---:|---:|---:|---:|---:|');
    for (const o of origins) {
      const causes = Object.entries(o.failuresByCause)
        .filter(([, n]) => n > 0)
        .map(([cause, n]) => `${n} ${cause}`)
        .join(', ');
      const failures = causes === '' ? `${o.failures}` : `${o.failures} (${causes})`;
      lines.push(
        `| ${escapeMarkdown(redactUrl(o.origin).replace(/\/$/, ''))} | ${o.requests} | ${o.downloaded} | ${formatBytes(o.bytes)} | ${formatBytes(o.bytesPerSecond)}/s | ${o.retries} | ${failures} |`,
      );
    }
  }
  if (summary.failures.length > 0) {
    lines.push('', input.command === 'verify' ? '#### Not in the cache' : '#### Failures', '');
    // Grouped by reason and host as on the terminal: eight 404s from one host are one entry with
    // one hint, not the same hint eight times. `verify` lists each archive: each is its own miss.
    const entries = input.command === 'verify' ? summary.failures : groupFailures(summary.failures);
    for (const entry of entries) {
      if ('failures' in entry) {
        const guidance = entry.cause === undefined ? undefined : failureGuidance(entry.cause, entry.failures[0]?.url);
        const where = entry.host === '' ? '' : ` at ${redactText(entry.host)}`;
        lines.push(`- ${escapeMarkdown(`${entry.failures.length} packages failed: ${redactText(entry.reason)}${where}`)}`);
        lines.push(`  <br>${escapeMarkdown(entry.failures.map((f) => `${f.packageName} ${f.version}`).join(', '))}`);
        const hints = new Set(entry.failures.map((f) => f.hint ?? guidance).filter((h) => h !== undefined));
        for (const hint of hints) lines.push(`  <br>${escapeMarkdown(redactText(hint))}`);
        continue;
      }
      const text = redactText(failureText(entry.packageName, entry.version, entry.message));
      lines.push(`- ${escapeMarkdown(text)}`);
      if (entry.hint !== undefined) lines.push(`  <br>${escapeMarkdown(redactText(entry.hint))}`);
    }
  }
  return `${lines.join('\n')}\n\n`;
}

/** A run that stopped before it had a summary: a bad `lock` input, an unknown option, an unusable cache. */
export interface GithubStopInput {
  readonly command: 'prefetch' | 'verify';
  readonly message: string;
  readonly hint?: string | undefined;
  readonly exitCode: number;
}

/**
 * The job summary of a run that stopped (exit 2 and the like): without it the run page shows
 * nothing at all, and the reason is only in the step's log.
 */
export function formatGithubStopSummary(input: GithubStopInput): string {
  const name = input.command === 'verify' ? 'composer-prefetch verify' : 'composer-prefetch';
  const lines = [`### ❌ ${name} stopped before downloading anything (exit ${input.exitCode})`, '', escapeMarkdown(redactText(input.message))];
  if (input.hint !== undefined) lines.push('', escapeMarkdown(redactText(input.hint)));
  return `${lines.join('\n')}\n\n`;
}

/**
 * Appends `text` to the file GitHub Actions names in `GITHUB_STEP_SUMMARY`. Does nothing outside
 * Actions; an unwritable file is the caller's warning, never the run's failure.
 */
async function appendToStepSummary(env: NodeJS.ProcessEnv, text: () => string): Promise<string | undefined> {
  const file = env['GITHUB_STEP_SUMMARY'];
  if (file === undefined || file === '') return undefined;
  try {
    await appendFile(file, text());
    return undefined;
  } catch (error) {
    return `could not write the GitHub job summary to ${file}: ${(error as Error).message}`;
  }
}

/** The summary of a finished run, appended to the job summary (`appendToStepSummary`). */
export function appendGithubSummary(env: NodeJS.ProcessEnv, input: GithubSummaryInput): Promise<string | undefined> {
  return appendToStepSummary(env, () => formatGithubSummary(input));
}

/** The reason a run stopped, appended to the job summary (`appendToStepSummary`). */
export function appendGithubStopSummary(env: NodeJS.ProcessEnv, input: GithubStopInput): Promise<string | undefined> {
  return appendToStepSummary(env, () => formatGithubStopSummary(input));
}
