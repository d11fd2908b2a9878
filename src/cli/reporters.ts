import { envFlag } from './env-options.js';
import type { ProgressMode } from './program.js';

export interface ProgressChoiceInput {
  readonly requested: ProgressMode | undefined;
  readonly quiet: boolean;
  readonly dryRun: boolean;
  /** Whether stderr, where progress goes, is a terminal. */
  readonly isTTY: boolean;
  /** JSON goes to stdout, and stdout is the terminal too, or a pipe whose reader may print there. */
  readonly stdoutOnScreen?: boolean;
  readonly env: Readonly<Record<string, string | undefined>>;
}

/**
 * `--progress` wins; then quiet and dry-run mean none; then a bar only on a real terminal
 * outside CI (CI systems often fake a TTY, and their logs keep every redraw), and only when
 * stdout's JSON does not show on that terminal too: the bar's redraws land in the middle of JSON
 * lines and draw over them. Plain lines, whole, instead. `--json > file` keeps the bar.
 */
export function chooseProgress(input: ProgressChoiceInput): ProgressMode {
  if (input.requested !== undefined) return input.requested;
  if (input.quiet || input.dryRun) return 'none';
  if (!input.isTTY || input.stdoutOnScreen === true || envFlag(input.env['CI']) || input.env['TERM'] === 'dumb') return 'plain';
  return 'bar';
}
