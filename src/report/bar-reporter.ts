import cliProgress from 'cli-progress';
import { noPaint, type Paint } from './color.js';
import { createFailureThrottle } from './failure-lines.js';
import { formatBytes } from '../bytes.js';
import { failureText, formatEta } from './format.js';
import { createProgressState, type ProgressSnapshot, type Transfer } from './progress-state.js';
import { displayText as d } from './terminal-text.js';
import { displayWidth, truncateToWidth, wrapToWidth } from './fit-width.js';
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

function drawBar(fraction: number, width = BAR_WIDTH): string {
  const full = Math.round(Math.min(1, Math.max(0, fraction)) * width);
  return `${'█'.repeat(full)}${'░'.repeat(width - full)}`;
}

/** The bar never gets narrower than this to make room for the numbers. */
const MIN_BAR_WIDTH = 8;

/**
 * The overall line: packages, bytes, speed, ETA, within `width` columns: the bar gives up columns
 * first, then the end of the line is cut (with `…`), never left for the terminal to clip.
 */
export function formatOverall(s: ProgressSnapshot, paint: Paint = noPaint, width = Infinity): string {
  const git = s.git ?? { total: 0, finished: 0 };
  const all = s.total + git.total;
  // Bytes once every size is known: by archive count, the bar was full at 150/153 with the three
  // largest archives (26 MiB) still to come. git mirrors have no size before they are fetched, so
  // with mirrors in the run the bar counts archives and mirrors alike.
  const fraction = git.total === 0 && s.byteFraction !== undefined ? s.byteFraction : all === 0 ? 1 : (s.finished + git.finished) / all;
  const failed = s.failed > 0 ? paint.red(` ${s.failed} failed`) : '';
  const eta = s.etaMs === undefined ? '--' : formatEta(s.etaMs);
  const fromGit = git.total > 0 ? `, ${git.finished}/${git.total} from git` : '';
  const rest = ` ${s.finished}/${s.total} archives${fromGit}${failed} | ${formatBytes(s.bytes)} | ${formatBytes(Math.round(s.bytesPerSecond))}/s | ETA ${eta}`;
  const barWidth = Math.max(MIN_BAR_WIDTH, Math.min(BAR_WIDTH, width - displayWidth(rest)));
  return truncateToWidth(`${drawBar(fraction, barWidth)}${rest}`, width);
}

/** One in-flight transfer within `width` columns (a long name is cut with `…`), or an empty line for an unused slot. */
export function formatTransfer(t: Transfer | undefined, paint: Paint = noPaint, width = Infinity): string {
  if (t === undefined) return '';
  // git tells no byte counts while it clones: say what runs rather than a "0 B" that never moves.
  const size = t.vcs !== undefined ? t.vcs : t.total === undefined ? formatBytes(t.bytes) : `${formatBytes(t.bytes)} / ${formatBytes(t.total)}`;
  const percent = t.total === undefined || t.total === 0 ? '' : ` ${Math.floor((t.bytes / t.total) * 100)}%`;
  const numbers = `  ${size}${percent}`;
  // The numbers are what moves: the name gives up its end first.
  const name = truncateToWidth(`  ↓ ${d(t.packageName)} ${d(t.version)}`, Math.max(width - displayWidth(numbers), 8));
  return paint.dim(truncateToWidth(`${name}${numbers}`, width));
}

/**
 * Columns a line may take on the terminal behind `stream`, read at each use (the window may be
 * resized; 80 when it does not say), less one: with autowrap off the cursor stays on the last
 * column after a full line, and the erase-to-end-of-line cli-progress writes after each bar line
 * (Terminal.clearRight, `ESC[0K`) would blank that column's character.
 */
function columnsOf(stream: NodeJS.WriteStream): number {
  const columns = stream.columns;
  return (typeof columns === 'number' && columns > 1 ? columns : 80) - 1;
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
  /** Closed (the run ended or was interrupted): a late event draws no new bar. */
  let closed = false;
  /** Lines handed to `multibar.log` and not yet painted. */
  let logged = false;

  const start = (): void => {
    if (closed) return;
    multibar = new cliProgress.MultiBar({
      stream: options.stream,
      fps: options.fps ?? 8,
      hideCursor: true,
      clearOnComplete: true,
      linewrap: false,
      autopadding: false,
      format: (_opts, _params, payload: { text?: string }) => payload.text ?? '',
    });
    // cli-progress clears only the bar's first line before it prints logged lines from there: a
    // logged line shorter than the transfer line it lands on kept that line's end
    // (`…ECONNREFUSED 127.0.0.1:19209)iB / 2.5 MiB 11%`). Its cursor is back at the block's top
    // when 'redraw-pre' fires: erase from there to the end of the screen, then it paints.
    multibar.on('redraw-pre', () => {
      if (!logged) return;
      logged = false;
      options.stream.write('\u001b[0J');
    });
    lines = [multibar.create(1, 0, { text: '' })];
    for (let i = 0; i < slots; i++) lines.push(multibar.create(1, 0, { text: '' }));
    refresh();
  };
  const refresh = (): void => {
    if (!multibar) return;
    const s = state.snapshot();
    const width = columnsOf(options.stream);
    lines[0]?.update(0, { text: formatOverall(s, paint, width) });
    for (let i = 0; i < slots; i++) lines[i + 1]?.update(0, { text: formatTransfer(s.inFlight[i], paint, width) });
  };
  /**
   * A line above the bar, wrapped to the terminal's width before it is painted: with autowrap off
   * under the bar, a longer line would be clipped by the terminal (see fit-width.ts).
   */
  const log = (text: string, color: (s: string) => string): void => {
    const out = wrapToWidth(text, columnsOf(options.stream))
      .map((line) => `${color(line)}\n`)
      .join('');
    if (multibar) {
      logged = true;
      multibar.log(out);
    } else options.stream.write(out);
  };

  return {
    handle(event: PrefetchEvent) {
      state.handle(event);
      switch (event.type) {
        case 'planned':
          for (const bad of event.plan.invalid)
            log(`warning: ${d(`skipping ${bad.packageName ?? 'an entry'} in ${bad.origin}: ${bad.message}`)}`, paint.yellow);
          if (!options.quiet && event.plan.tasks.length > 0) start();
          break;
        case 'mirrors':
          // A lock of source packages only has no archive to show a bar for until now.
          if (!options.quiet && multibar === undefined && event.tasks.length > 0) start();
          break;
        case 'failed': {
          // An interrupt is not a failure of the package; the summary says how many were left.
          if (event.error.code === 'E_ABORTED') break;
          const shown = live(event.error);
          if (shown.kind === 'note') log(`(${shown.text})`, paint.dim);
          else if (shown.kind === 'line') log(`✗ ${d(failureText(event.task.packageName, event.task.version, event.error.message))}`, paint.red);
          break;
        }
        case 'warning':
          log(`warning: ${d(event.message)}`, paint.yellow);
          break;
        default:
          break;
      }
      // Only the payload changes here; cli-progress redraws on its own timer at `fps`.
      refresh();
    },
    close() {
      closed = true;
      if (!multibar) return;
      refresh();
      // Flush failures logged since the last frame: stop() clears the block but not the log buffer.
      multibar.update();
      multibar.stop();
      multibar = undefined;
    },
  };
}
