import { redactUrl } from '../net/request-policy.js';
import type { Plan } from '../plan/types.js';
import type { OriginStats } from './origin-stats.js';
import type { Summary } from './types.js';

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

export function formatDuration(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

/** The closing lines every human-facing reporter prints. */
export function formatSummary(summary: Summary): string {
  const seconds = Math.max(summary.durationMs, 1) / 1000;
  const rate = summary.bytes > 0 ? `, ${formatBytes(summary.bytes / seconds)}/s` : '';
  const lines = [
    `${summary.interrupted ? 'Interrupted' : 'Done'}: ${summary.downloaded} downloaded (${formatBytes(summary.bytes)}${rate}), ` +
      `${summary.cached} already cached, ${summary.skipped} skipped, ${summary.failed} failed` +
      (summary.invalid > 0 ? `, ${summary.invalid} invalid entries` : '') +
      ` in ${formatDuration(summary.durationMs)}`,
    `Cache: ${summary.cacheFilesDir}`,
  ];
  for (const failure of summary.failures) {
    lines.push(`  ✗ ${failureText(failure.packageName, failure.version, failure.message)}`);
    if (failure.hint !== undefined) lines.push(`    ${failure.hint}`);
  }
  return lines.join('\n');
}

/** `--dry-run`: one block per archive, then what is skipped and why. */
export function formatPlan(plan: Plan): string {
  const lines = [`Cache: ${plan.cacheFilesDir}`, `${plan.tasks.length} archives to prefetch:`];
  for (const task of plan.tasks) {
    lines.push(`  ${task.packageName} ${task.version}${task.dev ? ' (dev)' : ''}`);
    lines.push(`    url:   ${redactUrl(task.urls[0])}`);
    for (const url of task.urls.slice(1)) lines.push(`    also:  ${redactUrl(url)}`);
    lines.push(`    cache: ${task.cachePath}`);
  }
  if (plan.skipped.length > 0) {
    lines.push(`${plan.skipped.length} skipped:`);
    for (const skip of plan.skipped) lines.push(`  ${skip.packageName} ${skip.version}: ${skip.reason}`);
  }
  for (const bad of plan.invalid) lines.push(`  ✗ ${bad.packageName ?? '(unnamed entry)'} in ${bad.origin}: ${bad.message}`);
  return lines.join('\n');
}

/** One line per origin: what the network did, so a slow GitHub is told apart from a broken proxy. */
export function formatOrigins(origins: readonly OriginStats[]): string {
  if (origins.length === 0) return '';
  const lines = ['Origins:'];
  for (const o of origins) {
    const causes = Object.entries(o.failuresByCause)
      .filter(([, n]) => n > 0)
      .map(([cause, n]) => `${n} ${cause}`)
      .join(', ');
    lines.push(
      `  ${o.origin}: ${plural(o.requests, 'request')}, ${formatBytes(o.bytes)} at ${formatBytes(o.bytesPerSecond)}/s, ` +
        `${plural(o.retries, 'retry', 'retries')}, ${plural(o.failures, 'failure')}${causes === '' ? '' : ` (${causes})`}`,
    );
  }
  return lines.join('\n');
}

/** Whether a `verify` failure is a missing or an invalid archive (prefetch.ts words the message). */
export function verifyState(message: string): 'missing' | 'invalid' {
  return /invalid archive/.test(message) ? 'invalid' : 'missing';
}

/** `verify`: the cache-hit verdict and every archive `composer install` would have to download. */
export function formatVerifySummary(summary: Summary): string {
  const present = summary.cached;
  const missing = summary.failures.filter((f) => verifyState(f.message) === 'missing');
  const invalid = summary.failures.filter((f) => verifyState(f.message) === 'invalid');
  const lines = [
    summary.failed === 0
      ? `Verified: all ${present} archives are in Composer's cache; \`composer install\` will download no dist.`
      : `Not ready: ${present} of ${summary.planned} archives are in Composer's cache; ${missing.length} missing, ${invalid.length} invalid.`,
    `Cache: ${summary.cacheFilesDir}`,
  ];
  for (const f of missing) lines.push(`  missing  ${f.packageName} ${f.version}`);
  // The message says where and why (e.g. which entry failed its CRC).
  for (const f of invalid) lines.push(`  invalid  ${failureText(f.packageName, f.version, f.message)}`);
  // A prefetch run checks cached archives at structure level unless --verify is given, so only
  // `--verify deep` is sure to replace what a deep `verify` found damaged.
  if (invalid.length > 0) lines.push('Run composer-prefetch --verify deep with the same inputs to replace the invalid ones and fetch the rest.');
  else if (summary.failed > 0) lines.push('Run composer-prefetch with the same inputs to fetch them.');
  return lines.join('\n');
}

/** `name version: message`, without repeating the name when the message already starts with it. */
export function failureText(packageName: string, version: string, message: string): string {
  const rest = message.startsWith(`${packageName} ${version}: `)
    ? message.slice(packageName.length + version.length + 3)
    : message.startsWith(`${packageName}: `)
      ? message.slice(packageName.length + 2)
      : message;
  return `${packageName} ${version}: ${rest}`;
}

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}
