import { envFlag } from './env-options.js';
import type { ProgressMode } from './program.js';

export interface ProgressChoiceInput {
  readonly requested: ProgressMode | undefined;
  readonly quiet: boolean;
  readonly dryRun: boolean;
  /** Whether stderr, where progress goes, is a terminal. */
  readonly isTTY: boolean;
  readonly env: Readonly<Record<string, string | undefined>>;
}

/**
 * `--progress` wins; then quiet and dry-run mean none; then a bar only on a real terminal
 * outside CI (CI systems often fake a TTY, and their logs keep every redraw).
 */
export function chooseProgress(input: ProgressChoiceInput): ProgressMode {
  if (input.requested !== undefined) return input.requested;
  if (input.quiet || input.dryRun) return 'none';
  if (!input.isTTY || envFlag(input.env['CI']) || input.env['TERM'] === 'dumb') return 'plain';
  return 'bar';
}
