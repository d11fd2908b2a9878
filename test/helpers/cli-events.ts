import { createInterface } from 'node:readline';
import { execa } from 'execa';
import { assertNoProcessWarning, binPath } from './run.js';

/** One parsed `--json=ndjson` line. */
export type CliEvent = Record<string, unknown> & { readonly type: string };

export interface RunningCli {
  /** Sends a signal to the CLI process. */
  kill(signal: NodeJS.Signals): void;
  readonly pid: number | undefined;
  /** Every ndjson event read so far, in order. */
  readonly events: readonly CliEvent[];
  /** Resolves with the first event (counting from the start) for which `seen(events)` holds; rejects if the run ends first. */
  until(what: string, seen: (events: readonly CliEvent[]) => boolean): Promise<void>;
  /** Waits for the exit: the exit code (undefined when a signal ended it), the signal, stderr. */
  result(): Promise<{ exitCode: number | undefined; signal: string | undefined; stderr: string }>;
}

/**
 * Starts the CLI with `--json=ndjson` on a piped stdout, so a test can act on what the run
 * reports (a transfer started, N archives landed) instead of on a guess in milliseconds.
 */
export function startCli(args: readonly string[], options: { cwd: string; env: Record<string, string> }): RunningCli {
  const child = execa(process.execPath, [binPath, '--json=ndjson', ...args], {
    cwd: options.cwd,
    env: options.env,
    extendEnv: false,
    reject: false,
    stdin: 'ignore',
    buffer: { stdout: false, stderr: true },
  });
  const events: CliEvent[] = [];
  const waiters = new Set<{ seen: (e: readonly CliEvent[]) => boolean; resolve: () => void }>();
  const check = (): void => {
    for (const w of waiters) {
      if (w.seen(events)) {
        waiters.delete(w);
        w.resolve();
      }
    }
  };
  const lines = createInterface({ input: child.stdout! });
  lines.on('line', (line) => {
    if (line.trim() === '') return;
    events.push(JSON.parse(line) as CliEvent);
    check();
  });
  const closed = new Promise<void>((resolve) => lines.on('close', resolve));
  const finished = child.then(async (r) => {
    await closed;
    check();
    return r;
  });
  return {
    kill: (signal) => void child.kill(signal),
    pid: child.pid,
    events,
    until(what, seen) {
      if (seen(events)) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        waiters.add({ seen, resolve });
        void finished.then(() => {
          if (!seen(events)) reject(new Error(`the run ended before ${what} (${events.length} events)`));
        });
      });
    },
    async result() {
      const r = await finished;
      assertNoProcessWarning(String(r.stderr));
      return { exitCode: r.exitCode, signal: r.signal, stderr: String(r.stderr) };
    },
  };
}

/** How many events of `type` (and, for `done`, of `result`) were reported. */
export function count(events: readonly CliEvent[], type: string, result?: string): number {
  return events.filter((e) => e.type === type && (result === undefined || e['result'] === result)).length;
}
