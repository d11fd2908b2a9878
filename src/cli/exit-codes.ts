import type { ErrorCode } from '../errors.js';

/** Stable exit codes; the README documents this table. */
export const EXIT = {
  /** Every archive the plan needs is in the cache. */
  ok: 0,
  /** Some packages failed; the others landed in the cache. */
  someFailed: 1,
  /** Bad usage, unreadable input, or a configuration that makes prefetching impossible. */
  usage: 2,
  /**
   * A bug in composer-prefetch: an exception no code path expected (a TypeError, say). sysexits.h's
   * EX_SOFTWARE, apart from 1 and 2 so a CI step can tell "report this" from "fix your input".
   */
  internal: 70,
  /**
   * Interrupted by SIGINT (128 + 2), as shells report it. The process itself ends by the signal
   * after its cleanup (cli/main.ts), so a shell sees it killed by SIGINT and stops an `a; b` chain;
   * this is the number a parent reads then ($? in a shell), and the code returned when the
   * process cannot re-raise the signal.
   */
  interrupted: 130,
} as const;

const SIGNAL_NUMBER: Readonly<Partial<Record<NodeJS.Signals, number>>> = { SIGHUP: 1, SIGINT: 2, SIGTERM: 15 };

/** 128 + the signal's number (SIGINT 130, SIGTERM 143, SIGHUP 129): the status a shell shows for a process the signal ended. */
export function exitCodeForSignal(signal: NodeJS.Signals): number {
  const n = SIGNAL_NUMBER[signal];
  return n === undefined ? EXIT.interrupted : 128 + n;
}

/** Exit code for an error that stopped the whole run (not a per-package failure). */
export function exitCodeFor(code: ErrorCode): number {
  switch (code) {
    case 'E_ABORTED':
      return EXIT.interrupted;
    case 'E_INTERNAL':
      return EXIT.internal;
    case 'E_USAGE':
    case 'E_INPUT':
    case 'E_JSON':
    case 'E_BACKEND':
    case 'E_CACHE':
    case 'E_INSECURE':
      return EXIT.usage;
    default:
      return EXIT.someFailed;
  }
}
