import cliProgress from 'cli-progress';
import { noPaint, type Paint } from './color.js';
import { createFailureThrottle } from './failure-lines.js';
import { formatBytes } from '../bytes.js';
import { failureText, formatEta } from './format.js';
import { createProgressState, type ProgressSnapshot, type Transfer } from './progress-state.js';
import { displayText as d } from './terminal-text.js';
import type { PrefetchEvent, Reporter } from '../types.js';

export interface BarReporterOptions {
  /** A TTY stream (stderr): stdout stays free for `--json`. */
  readonly stream: NodeJS.WriteStream;
  /** Print only warnings and failures; no bar. */
  readonly quiet: boolean;
  readonly paint?: Paint;
  /** Transfer lines under the overall bar. */
  readonly transferLines?: number;
  /** Redraws per second; more only costs CPU and flickers over slow SSH links. */
  readonly fps?: number;
  /** Every failure as it happens (`-v`); otherwise repeated failures wait for the summary. */
  readonly verbose?: boolean | undefined;
}

const BAR_WIDTH = 24;

function drawBar(fraction: number): string {
  const full = Math.round(Math.min(1, Math.max(0, fraction)) * BAR_WIDTH);
  return `${'█'.repeat(full)}${'░'.repeat(BAR_WIDTH - full)}`;
}

/** The overall line: packages, bytes, speed, ETA. */
export function formatOverall(s: ProgressSnapshot, paint: Paint = noPaint): string {
  const fraction = s.total === 0 ? 1 : s.finished / s.total;
  const failed = s.failed > 0 ? paint.red(` ${s.failed} failed`) : '';
  const eta = s.etaMs === undefined ? '--' : formatEta(s.etaMs);
  return `${drawBar(fraction)} ${s.finished}/${s.total} archives${failed} | ${formatBytes(s.bytes)} | ${formatBytes(Math.round(s.bytesPerSecond))}/s | ETA ${eta}`;
}

/** One in-flight transfer, or an empty line for an unused slot. */
export function formatTransfer(t: Transfer | undefined, paint: Paint = noPaint): string {
  if (t === undefined) return '';
  const size = t.total === undefined ? formatBytes(t.bytes) : `${formatBytes(t.bytes)} / ${formatBytes(t.total)}`;
  const percent = t.total === undefined || t.total === 0 ? '' : ` ${Math.floor((t.bytes / t.total) * 100)}%`;
  return paint.dim(`  ↓ ${d(t.packageName)} ${d(t.version)}  ${size}${percent}`);
}

/**
 * cli-progress on a terminal: one overall bar plus the largest transfers in flight. Bars are
 * created once and only their text changes, so the block never jumps; failures and warnings are
 * logged above it.
 */
export function createBarReporter(options: BarReporterOptions): Reporter {
  const paint = options.paint ?? noPaint;
  const state = createProgressState();
  const slots = options.transferLines ?? 3;
  const live = createFailureThrottle(options.verbose === true);
  let multibar: cliProgress.MultiBar | undefined;
  let lines: cliProgress.SingleBar[] = [];

  const start = (): void => {
    multibar = new cliProgress.MultiBar({
      stream: options.stream,
      fps: options.fps ?? 8,
      hideCursor: true,
      clearOnComplete: true,
      linewrap: false,
      autopadding: false,
      format: (_opts, _params, payload: { text?: string }) => payload.text ?? '',
    });
    lines = [multibar.create(1, 0, { text: '' })];
    for (let i = 0; i < slots; i++) lines.push(multibar.create(1, 0, { text: '' }));
    refresh();
  };
  const refresh = (): void => {
    if (!multibar) return;
    const s = state.snapshot();
    lines[0]?.update(0, { text: formatOverall(s, paint) });
    for (let i = 0; i < slots; i++) lines[i + 1]?.update(0, { text: formatTransfer(s.inFlight[i], paint) });
  };
  const log = (text: string): void => {
    if (multibar) multibar.log(`${text}\n`);
    else options.stream.write(`${text}\n`);
  };

  return {
    handle(event: PrefetchEvent) {
      state.handle(event);
      switch (event.type) {
        case 'planned':
          for (const bad of event.plan.invalid) log(paint.yellow(`warning: ${d(`skipping ${bad.packageName ?? 'an entry'} in ${bad.origin}: ${bad.message}`)}`));
          if (!options.quiet && event.plan.tasks.length > 0) start();
          break;
        case 'failed': {
          // An interrupt is not a failure of the package; the summary says how many were left.
          if (event.error.code === 'E_ABORTED') break;
          const shown = live(event.error);
          if (shown.kind === 'note') log(paint.dim(`(${shown.text})`));
          else if (shown.kind === 'line') log(paint.red(`✗ ${d(failureText(event.task.packageName, event.task.version, event.error.message))}`));
          break;
        }
        case 'warning':
          log(paint.yellow(`warning: ${d(event.message)}`));
          break;
        default:
          break;
      }
      // Only the payload changes here; cli-progress redraws on its own timer at `fps`.
      refresh();
    },
    close() {
      if (!multibar) return;
      refresh();
      // Flush failures logged since the last frame: stop() clears the block but not the log buffer.
      multibar.update();
      multibar.stop();
      multibar = undefined;
    },
  };
}
