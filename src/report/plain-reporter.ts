import { noPaint, type Paint } from './color.js';
import { createFailureThrottle } from './failure-lines.js';
import { formatBytes } from '../bytes.js';
import { failureText, formatDuration, formatEta } from './format.js';
import { createProgressState, type ProgressSnapshot } from './progress-state.js';
import { displayText as d } from './terminal-text.js';
import type { PrefetchEvent, Reporter } from '../types.js';

export interface PlainReporterOptions {
  readonly write: (line: string) => void;
  /** Print only warnings and failures (the summary is printed by the CLI). */
  readonly quiet: boolean;
  /** Gap between two progress lines; a 1000-package lock must not print 1000 lines. */
  readonly intervalMs?: number;
  readonly now?: () => number;
  /** Starts a repeating timer and returns its stop function (tests replace it). */
  readonly every?: (ms: number, tick: () => void) => () => void;
  readonly paint?: Paint;
  /** `github`: failures and warnings as GitHub Actions workflow commands, so they show as annotations. */
  readonly annotations?: 'github' | undefined;
  /** Every retry and every failure as it happens (`-v`); otherwise retries are counted, and repeated failures wait for the summary. */
  readonly verbose?: boolean | undefined;
}

const PLAIN_INTERVAL_MS = 10_000;

function realEvery(ms: number, tick: () => void): () => void {
  const timer = setInterval(tick, ms);
  // A progress line is never a reason to keep the process alive.
  timer.unref();
  return () => clearInterval(timer);
}

/** One progress line: counts, bytes, speed, time left. */
function formatProgressLine(s: ProgressSnapshot): string {
  const extra = [s.cached > 0 ? `${s.cached} cached` : '', s.failed > 0 ? `${s.failed} failed` : '', s.retries > 0 ? `${s.retries} retries` : '']
    .filter((x) => x !== '')
    .join(', ');
  const eta = s.etaMs === undefined || s.finished === s.total ? '' : `, about ${formatEta(s.etaMs)} left`;
  const git = s.git !== undefined && s.git.total > 0 ? `, ${s.git.finished}/${s.git.total} from git` : '';
  return (
    `progress: ${s.finished}/${s.total} archives${git}${extra === '' ? '' : ` (${extra})`}, ` +
    `${formatBytes(s.bytes)} at ${formatBytes(Math.round(s.bytesPerSecond))}/s, ${s.inFlight.length} in flight${eta}`
  );
}

/** What the run is about to do, once the cache was looked at. */
export function prefetchingLine(event: { readonly cacheFilesDir: string; readonly cached: number; readonly pending: number }): string {
  const dir = d(event.cacheFilesDir);
  if (event.pending === 0) return `Nothing to download: all ${event.cached} archives are in ${dir}`;
  return `Prefetching ${event.pending} archives into ${dir}${event.cached > 0 ? ` (${event.cached} already cached)` : ''}`;
}

/** The git stage begins: how many mirrors it looks at, for how many packages. */
export function mirrorsLine(tasks: readonly { readonly cacheKey: string }[]): string {
  const repos = new Set(tasks.map((t) => t.cacheKey)).size;
  const packages = tasks.length === repos ? '' : ` (${tasks.length} packages)`;
  return `Checking ${repos} git ${repos === 1 ? 'mirror' : 'mirrors'}${packages} for packages installed from source; each one lacking a locked commit is cloned or updated`;
}

/**
 * GitHub's escaping for a workflow command's message (`::error::…`): one line, `%` first (a line
 * break becomes `%0A`, which GitHub shows inside the annotation). Other control characters are
 * made visible, as in every human line.
 */
export function escapeWorkflowData(text: string): string {
  return d(text, { keepLineBreaks: true }).replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}

/**
 * Line-based output for CI logs and pipes: no control characters, a progress line every
 * `intervalMs` while work remains, and every retry, failure and warning as it happens.
 */
export function createPlainReporter(options: PlainReporterOptions): Reporter {
  const paint = options.paint ?? noPaint;
  const github = options.annotations === 'github';
  const state = createProgressState(options.now);
  const every = options.every ?? realEvery;
  const verbose = options.verbose === true;
  const live = createFailureThrottle(verbose);
  let stop: (() => void) | undefined;
  let lastLine = '';
  const tick = (): void => {
    const s = state.snapshot();
    if (s.finished >= s.total && (s.git?.finished ?? 0) >= (s.git?.total ?? 0)) return;
    const line = formatProgressLine(s);
    // Repeating an identical line tells a reader nothing, except that we are alive: mark it so.
    options.write(line === lastLine ? `${line} (waiting)` : line);
    lastLine = line;
  };
  return {
    handle(event: PrefetchEvent) {
      state.handle(event);
      switch (event.type) {
        case 'checked':
          // Said once the cache directory is known to take files, never above "cache directory not usable".
          if (!options.quiet) options.write(prefetchingLine(event));
          break;
        case 'mirrors':
          if (!options.quiet) options.write(mirrorsLine(event.tasks));
          break;
        case 'planned':
          for (const bad of event.plan.invalid) {
            const text = `skipping ${bad.packageName ?? 'an entry'} in ${bad.origin}: ${bad.message}`;
            options.write(github ? `::warning title=composer-prefetch::${escapeWorkflowData(text)}` : paint.yellow(`warning: ${d(text)}`));
          }
          if (!options.quiet && stop === undefined) stop = every(options.intervalMs ?? PLAIN_INTERVAL_MS, tick);
          break;
        case 'retried':
          // Network retries are routine (counted in the progress line); wrong bytes from a server are not.
          if (!options.quiet && (verbose || event.error.code === 'E_CHECKSUM' || event.error.code === 'E_CORRUPT')) {
            options.write(
              `retry ${event.attempt}: ${d(failureText(event.task.packageName, event.task.version, event.error.message))} (next try in ${formatDuration(event.delayMs)})`,
            );
          }
          break;
        case 'failed': {
          // An interrupt is not a failure of the package; the summary says how many were left.
          if (event.error.code === 'E_ABORTED') break;
          const shown = live(event.error);
          if (shown.kind === 'silent') break;
          if (shown.kind === 'note') {
            options.write(github ? `::notice title=composer-prefetch::${escapeWorkflowData(shown.text)}` : `(${shown.text})`);
            break;
          }
          const text = failureText(event.task.packageName, event.task.version, event.error.message);
          options.write(github ? `::error title=composer-prefetch::${escapeWorkflowData(text)}` : paint.red(`failed: ${d(text)}`));
          break;
        }
        case 'warning':
          options.write(github ? `::warning title=composer-prefetch::${escapeWorkflowData(event.message)}` : paint.yellow(`warning: ${d(event.message)}`));
          break;
        default:
          break;
      }
    },
    close() {
      stop?.();
      stop = undefined;
    },
  };
}
