import { formatBytes } from '../bytes.js';
import type { Plan } from '../types.js';
import { failureGuidance } from './failure-cause.js';
import type { FailureCause } from '../types.js';
import { originOf, scpHost, type OriginStats } from './origin-stats.js';
import { displayText as d, displayUrl } from './terminal-text.js';
import type { FailedPackage, Summary } from '../types.js';
import type { CacheState } from '../errors.js';

export function formatDuration(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

/** Time left as a person reads it, in whole seconds: `8 s`, `2 min 5 s`, `1 h 20 min`. */
export function formatEta(ms: number): string {
  const s = Math.max(1, Math.ceil(ms / 1000));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

/** Failures that share a reason and an origin, shown as one entry. */
export interface FailureGroup {
  readonly reason: string;
  readonly cause: FailureCause | undefined;
  /** `host:port` of the URL asked for, or the URL itself when it does not parse. */
  readonly host: string;
  readonly failures: readonly FailedPackage[];
}

/**
 * Names shown in a group before "and N more": enough that an ordinary run names every failed
 * package (the live lines promise the summary does), few enough that a registry that is down for
 * a 2,000-package lock does not push the rest of the summary off the screen.
 */
const GROUP_NAMES = 50;

/** Where the packages a group does not name are seen. */
const HIDDEN_NAMES_HINT = '-v prints each failure as it happens, --json lists every one';

/** The host a (redacted) failure URL points at; the text itself when it does not parse. */
export function failureHost(url: string | undefined): string {
  if (url === undefined) return '';
  // git's scp-like `git@host:path` does not parse, and `host:path` parses with no host.
  const host = URL.canParse(url) ? new URL(url).host : '';
  return host !== '' ? host : (scpHost(url) ?? url);
}

/**
 * Failures in first-seen order, those sharing a reason (`failureReason`) and an origin folded into
 * one group; a failure alone in its group stays as it is.
 */
export function groupFailures(failures: readonly FailedPackage[]): (FailedPackage | FailureGroup)[] {
  const groups = new Map<string, FailedPackage[]>();
  for (const f of failures) {
    const key = f.reason === undefined ? `\u0000${groups.size}` : `${f.reason}\u0000${originOf(f.url ?? '')}`;
    const list = groups.get(key);
    if (list) list.push(f);
    else groups.set(key, [f]);
  }
  return [...groups.values()].map((list) =>
    list.length === 1 ? list[0]! : { reason: list[0]!.reason!, cause: list[0]!.cause, host: failureHost(list[0]!.url), failures: list },
  );
}

/** `acme/a, acme/b, … and 148 more (-v prints …)`: how many are not named, and where to see them. */
export function listNames(names: readonly string[], shown = GROUP_NAMES): string {
  const head = names.slice(0, shown).join(', ');
  return names.length > shown ? `${head} and ${names.length - shown} more (${HIDDEN_NAMES_HINT})` : head;
}

/** Lines for one group: what failed where, what to check, which packages. */
function formatGroup(group: FailureGroup): string[] {
  const guidance = group.cause === undefined ? undefined : failureGuidance(group.cause, group.failures[0]?.url);
  const hints = new Set(group.failures.map((f) => f.hint));
  const where = group.host === '' ? '' : ` at ${d(group.host)}`;
  const lines = [`  ✗ ${group.failures.length} packages failed: ${d(group.reason)}${where}${guidance === undefined ? '' : ` — ${guidance}`}`];
  lines.push(`    ${d(listNames(group.failures.map((f) => f.packageName)))}`);
  // Generic words ("cannot write to the cache") or differing advice: the first failure in full says more.
  const [first] = group.failures;
  if (first !== undefined && (group.cause === 'other' || group.cause === 'limit' || hints.size > 1))
    lines.push(`    e.g. ${d(failureText(first.packageName, first.version, first.message))}`);
  const hint = first?.hint;
  // The guidance already closes the group's first line; a hint that is only that is not repeated.
  if (hint !== undefined && hint !== guidance) lines.push(`    ${d(hint)}`);
  return lines;
}

/** What the network carried, as the progress bar counted it (report/progress-state.ts). */
export interface Traffic {
  /** Every byte received, those of transfers cut off by an interrupt or a retry included. */
  readonly receivedBytes: number;
  /** From the first transfer's start to the last byte. */
  readonly transferMs: number;
}

/** `5.4 MiB, 3.7 MiB/s`, or `5.4 MiB kept of 18 MiB received, 3.7 MiB/s`: the bytes and speed the bar showed. */
function bytesAndRate(summary: Summary, traffic: Traffic | undefined, unsized: string): string {
  const received = traffic?.receivedBytes ?? summary.bytes;
  // Speed while downloading: the whole run's time includes reading the lock and checking the cache.
  const ms = traffic !== undefined && traffic.transferMs > 0 ? traffic.transferMs : summary.durationMs;
  const rate = received > 0 ? `, ${formatBytes(received / (Math.max(ms, 1) / 1000))}/s` : '';
  const bytes = received > summary.bytes ? `${formatBytes(summary.bytes)} kept of ${formatBytes(received)} received` : formatBytes(summary.bytes);
  return `${bytes}${unsized}${rate}`;
}

/**
 * The closing lines every human-facing reporter prints. `traffic` (what the bar counted) makes the
 * bytes and speed agree with the bar: an interrupted run had received 18 MiB at 3.7 MiB/s on the
 * bar and said 5.4 MiB at 1.1 MiB/s (the archives it kept, over the run's whole time).
 */
export function formatSummary(summary: Summary, traffic?: Traffic): string {
  const { unfinished } = summary;
  // git prints no size for a small transfer or an update: said, rather than counted as 0 B.
  const unknown = summary.git?.bytesUnknown ?? 0;
  const unsized = unknown > 0 ? ` + ${plural(unknown, 'git mirror')} of unknown size` : '';
  const lines = [
    `${summary.interrupted ? 'Interrupted' : 'Done'}: ${summary.downloaded} downloaded (${bytesAndRate(summary, traffic, unsized)}), ` +
      `${summary.cached} already cached, ${summary.skipped} skipped, ${summary.failed} failed` +
      (unfinished > 0 ? `, ${unfinished} not fetched` : '') +
      (summary.invalid > 0 ? `, ${summary.invalid} invalid entries` : '') +
      ` in ${formatDuration(summary.durationMs)}`,
    `Cache: ${d(summary.cacheFilesDir)}`,
  ];
  for (const entry of groupFailures(summary.failures)) {
    if ('failures' in entry) {
      lines.push(...formatGroup(entry));
      continue;
    }
    lines.push(`  ✗ ${d(failureText(entry.packageName, entry.version, entry.message))}`);
    if (entry.hint !== undefined) lines.push(`    ${d(entry.hint)}`);
  }
  if (unfinished > 0) {
    lines.push(
      `  ${plural(unfinished, 'package was', 'packages were')} not fetched because the run was interrupted: run again to fetch ${unfinished === 1 ? 'it' : 'them'} (archives already fetched stay in the cache).`,
    );
  }
  return lines.join('\n');
}

/** What the run was asked for, to say the command that comes next. */
export interface NextStepInput {
  readonly noDev: boolean;
  /** `-d` as given. */
  readonly workingDir: string | undefined;
  /** Locks or patterns given on the command line (none: the project's lock). */
  readonly inputs: readonly string[];
}

/**
 * The step after a run that left every archive in the cache, as npm and cargo end with one: the
 * command that now downloads nothing. For locks given by path it cannot know the project, so it
 * says where to run it.
 */
export function nextStepLine(input: NextStepInput): string {
  const noDev = input.noDev ? ' --no-dev' : '';
  if (input.inputs.length > 0) return `Next: run \`composer install${noDev}\` in each project: its dist archives now come from the cache.`;
  const dir =
    input.workingDir === undefined ? '' : ` -d ${/^[\w./~-]+$/.test(input.workingDir) ? input.workingDir : `'${input.workingDir.replace(/'/g, `'\\''`)}'`}`;
  return `Next: composer${dir} install${noDev} (its dist archives now come from the cache)`;
}

/** `153 archives: 20 already in the cache (31 MiB), 133 to download (about …)`: the dry run's counts. */
export function planCounts(plan: Plan): string {
  const inCache = plan.inCache;
  if (inCache === undefined) return `${plan.tasks.length} archives to prefetch`;
  const cached = inCache.cachedKeys.size;
  const pending = plan.tasks.length - cached;
  const pendingBytes =
    inCache.pendingBytes === undefined || pending === 0 ? '' : ` (about ${formatBytes(inCache.pendingBytes)}, judged by older versions in the cache)`;
  return `${plan.tasks.length} archives: ${cached} already in the cache${cached > 0 ? ` (${formatBytes(inCache.cachedBytes)})` : ''}, ${pending} to download${pendingBytes}`;
}

/**
 * `--dry-run`: one block per archive, then what is skipped and why, a line at a time: a
 * 50,000-package plan is ~200,000 lines, never held as one string.
 */
export function* planLines(plan: Plan): Generator<string> {
  yield `Cache: ${d(plan.cacheFilesDir)}`;
  const inCache = plan.inCache;
  yield `${planCounts(plan)}:`;
  for (const task of plan.tasks) {
    yield `  ${d(task.packageName)} ${d(task.version)}${task.dev ? ' (dev)' : ''}${inCache?.cachedKeys.has(task.cacheKey) ? ' (cached)' : ''}`;
    yield `    url:   ${displayUrl(task.urls[0])}`;
    for (const url of task.urls.slice(1)) yield `    also:  ${displayUrl(url)}`;
    yield `    cache: ${d(task.cachePath)}`;
  }
  if (plan.skipped.length > 0) {
    yield `${plan.skipped.length} skipped:`;
    for (const skip of plan.skipped) yield `  ${d(skip.packageName)} ${d(skip.version)}: ${skip.reason}`;
  }
  for (const bad of plan.invalid) yield `  ✗ ${d(bad.packageName ?? '(unnamed entry)')} in ${d(bad.origin)}: ${d(bad.message)}`;
}

/**
 * `pieces` joined by `separator` and cut into strings of about `size` characters: big output
 * goes out in writes of bounded size instead of as one string the size of the whole text
 * (plus its flattened copy and the Buffer it is written from).
 */
export function* inChunks(pieces: Iterable<string>, separator = '', size = 64 * 1024): Generator<string> {
  let chunk: string[] = [];
  let length = 0;
  let first = true;
  for (const piece of pieces) {
    const text = first ? piece : separator + piece;
    first = false;
    chunk.push(text);
    length += text.length;
    if (length >= size) {
      yield chunk.join('');
      chunk = [];
      length = 0;
    }
  }
  if (chunk.length > 0) yield chunk.join('');
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
      `  ${d(o.origin)}: ${plural(o.requests, 'request')}, ${formatBytes(o.bytes)} at ${formatBytes(o.bytesPerSecond)}/s, ` +
        `${plural(o.retries, 'retry', 'retries')}, ${plural(o.failures, 'failure')}${causes === '' ? '' : ` (${causes})`}`,
    );
  }
  return lines.join('\n');
}

/** Whether a `verify` failure is a missing, an invalid or an unreadable archive. */
export function verifyState(failure: Pick<FailedPackage, 'cacheState'>): CacheState {
  return failure.cacheState ?? 'missing';
}

/** `verify`: the cache-hit verdict and every archive `composer install` would have to download. */
export function formatVerifySummary(summary: Summary): string {
  // Archives here; the git mirrors have their own line (`Git mirrors: … complete`).
  const present = summary.cached - (summary.git?.cached ?? 0);
  const planned = summary.planned - (summary.git?.planned ?? 0);
  const missing = summary.failures.filter((f) => verifyState(f) === 'missing');
  const invalid = summary.failures.filter((f) => verifyState(f) === 'invalid');
  const unreadable = summary.failures.filter((f) => verifyState(f) === 'unreadable');
  const lines = [
    summary.failed === 0
      ? `Verified: all ${present} archives are in Composer's cache; \`composer install\` will download no dist.`
      : `Not ready: ${present} of ${planned} archives are in Composer's cache; ${missing.length} missing, ${invalid.length} invalid${unreadable.length > 0 ? `, ${unreadable.length} unreadable` : ''}.`,
    `Cache: ${d(summary.cacheFilesDir)}`,
  ];
  for (const f of unreadable) lines.push(`  unreadable  ${d(failureText(f.packageName, f.version, f.message))}`);
  if (unreadable.length > 0)
    lines.push("This user cannot read those paths: run verify as the user that runs composer install, or fix the cache's owner and modes.");
  for (const f of missing) lines.push(`  missing  ${d(f.packageName)} ${d(f.version)}`);
  // The message says where and why (e.g. which entry failed its CRC).
  for (const f of invalid) lines.push(`  invalid  ${d(failureText(f.packageName, f.version, f.message))}`);
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
