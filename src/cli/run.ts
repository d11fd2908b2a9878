import { fstatSync, statSync } from 'node:fs';
import path from 'node:path';
import { text } from 'node:stream/consumers';
import { CommanderError } from 'commander';
import { defaultEnvironment } from '../config/composer-config.js';
import { PrefetchError } from '../errors.js';
import { prefetch, type PrefetchDeps } from '../prefetch.js';
import { checkCacheSize, formatCacheSizeWarning, type CacheSizeCheck } from '../report/cache-size.js';
import { colorEnabled, createPaint } from '../report/color.js';
import { wrapToWidth } from '../report/fit-width.js';
import { formatOrigins, formatSummary, formatVerifySummary, nextStepLine } from '../report/format.js';
import { appendGithubStopSummary, appendGithubSummary } from '../report/github-summary.js';
import type { JsonCommand } from '../report/json-report.js';
import { createOriginStats } from '../report/origin-stats.js';
import { createPlainReporter } from '../report/plain-reporter.js';
import { createProgressState } from '../report/progress-state.js';
import { redactText } from '../report/redact.js';
import { displayText } from '../report/terminal-text.js';
import type { PrefetchEvent, Reporter } from '../types.js';
import { applyEnvironment, declareEnvironment, environmentHelp, normaliseArgv, polishDefaults } from './env-options.js';
import { EXIT, exitCodeFor, exitCodeForSignal } from './exit-codes.js';
import { buildProgram, fitHelpText, helpAfterOptions, toCliOptions, useVerifyHelp, wantsVerifyHelp } from './program.js';
import { applyProjectDefaults } from './project-options.js';
import { chooseProgress } from './reporters.js';
import { stdoutFormat } from './stdout-formats.js';
import { issuesUrl, packageVersion, versionLine } from './version.js';

/** An output stream of the CLI: the process's, or a test's. */
export type OutputStream = NodeJS.WritableStream & { readonly isTTY?: boolean; readonly destroyed?: boolean };

/** Everything the CLI takes from its process; `processIo()` is the real one, tests pass their own. */
export interface CliIo {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
  readonly stdin: NodeJS.ReadableStream;
  /** JSON output (`--json`), the plan of `--dry-run`. */
  readonly stdout: OutputStream;
  /** Human output: progress, warnings, errors, the summary. */
  readonly stderr: OutputStream;
  /** stdout is a pipe or a socket: its reader may show it on the terminal that shows stderr. */
  readonly stdoutIsPipe?: boolean;
  /**
   * SIGINT/SIGTERM/SIGHUP: a first one stops the run gracefully, a second one, or a run still going
   * `STOP_GRACE_MS` after the first, calls `dieBy`.
   */
  readonly signals: {
    /** Only the first signal of a run stops it gracefully; `run` ends it by that signal once it has stopped (see `ranUntil`). */
    on(listener: (signal: NodeJS.Signals) => void): void;
    off(listener: (signal: NodeJS.Signals) => void): void;
    /**
     * Ends the process now, as `signal`'s default action would: no exit handlers, so a thread
     * blocked on a pipe or a hung filesystem cannot hold the exit (Node's `process.exit` waits for it).
     */
    dieBy(signal: NodeJS.Signals): void;
  };
}

/**
 * The signals that stop a run. SIGHUP (the terminal closed, an ssh session dropped) is handled
 * like SIGTERM: by default Node would die at once and leave partial temp files behind.
 */
const STOP_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/**
 * How long a run may take to wind down after the first signal. Every phase that waits on the
 * network or the disk observes the abort signal; a phase that cannot (a stdin that never ends, a
 * filesystem call that hangs) must not keep the process alive, so after this the process exits.
 * Temp files left by that exit are never at a Composer path, and the next run removes them (their
 * owner is provably gone).
 */
const STOP_GRACE_MS = 1500;

/**
 * How long a stop may take before "Press Ctrl-C again" is offered. A run usually stops in a few
 * milliseconds: the offer printed at once sat above the summary of a run that had already ended.
 */
const STOP_HINT_MS = 400;

/** The process's own streams written out (or given up on after `ms`): the last thing before the process ends by a signal. */
async function flushed(streams: readonly NodeJS.WritableStream[], ms = 1000): Promise<void> {
  await Promise.race([
    Promise.all(
      streams.map(
        (stream) =>
          new Promise<void>((resolve) => {
            const s = stream as NodeJS.WritableStream & { writableLength?: number; destroyed?: boolean };
            if (s.destroyed === true || (s.writableLength ?? 0) === 0) resolve();
            else stream.write('', () => resolve());
          }),
      ),
    ),
    new Promise<void>((resolve) => setTimeout(resolve, ms).unref()),
  ]);
}

/**
 * The CLI on the real process: runs `argv`, then, if a signal stopped the run, ends the process by
 * that signal (after its output is written) rather than with exit code 130. A shell tells the two
 * apart: `composer-prefetch; composer install` goes on to the install after an exit 130, and stops
 * after a death by SIGINT, as it does for Composer and npm.
 */
export async function runProcess(argv: readonly string[]): Promise<number> {
  let stoppedBy: NodeJS.Signals | undefined;
  const io = processIo((signal) => {
    stoppedBy ??= signal;
  });
  const code = await run(argv, io);
  if (stoppedBy !== undefined) {
    await flushed([process.stdout, process.stderr]);
    io.signals.dieBy(stoppedBy);
  }
  return code;
}

export function processIo(onSignal: (signal: NodeJS.Signals) => void = () => undefined): CliIo {
  /** Each listener as registered: `onSignal` sees every signal the run's listener sees. */
  const registered = new Map<(signal: NodeJS.Signals) => void, (signal: NodeJS.Signals) => void>();
  return {
    env: process.env,
    cwd: process.cwd(),
    stdin: process.stdin,
    stdout: process.stdout,
    stderr: process.stderr,
    stdoutIsPipe: isPipe(1),
    signals: {
      on(listener) {
        const both = (signal: NodeJS.Signals): void => {
          onSignal(signal);
          listener(signal);
        };
        registered.set(listener, both);
        for (const signal of STOP_SIGNALS) process.on(signal, both);
      },
      off(listener) {
        const both = registered.get(listener);
        registered.delete(listener);
        if (both !== undefined) for (const signal of STOP_SIGNALS) process.off(signal, both);
      },
      dieBy(signal) {
        // With no listener left, Node stops catching the signal (its default action is restored),
        // so raising it again ends the process the way the shell expects (status 128 + n).
        for (const stop of STOP_SIGNALS) process.removeAllListeners(stop);
        process.kill(process.pid, signal);
        // Should the signal not end the process (no POSIX signals), its status still says why it ended.
        process.exitCode = exitCodeForSignal(signal);
      },
    },
  };
}

/**
 * A reader that goes away (`| head`, `| grep -m1`) ends the output, not the job: after the first
 * write error nothing more is written to that stream, and the run goes on filling the cache.
 */
function guardedWriter(stream: OutputStream): (chunk: string) => void {
  let open = true;
  stream.on('error', () => {
    open = false;
  });
  return (chunk) => {
    if (open && !stream.destroyed) stream.write(chunk);
  };
}

/** What a test may put in place of the real thing inside a run (a backend that throws, say). */
export type RunSeams = Pick<PrefetchDeps, 'createBackend'>;

/**
 * The CLI as a function: parses `argv` (without node and the script) and the environment, runs,
 * prints, and returns the exit code. The only layer that prints; it never exits the process
 * itself except through `io.signals.dieBy` at a second Ctrl-C or when a stop takes too long
 * (`runProcess` ends it by the signal after a graceful stop). Human output: stderr; JSON: stdout.
 */
export async function run(argv: readonly string[], io: CliIo, seams: RunSeams = {}): Promise<number> {
  const version = packageVersion();
  const { env } = io;
  const writeErr = guardedWriter(io.stderr);
  const stdout = guardedWriter(io.stdout);
  let paint = createPaint(colorEnabled(io.stderr.isTTY === true, env));
  const stderr = (line: string): void => writeErr(`${line}\n`);

  const program = buildProgram(env, versionLine(version));
  declareEnvironment(program);
  polishDefaults(program);
  const verifyHelp = wantsVerifyHelp(argv);
  if (verifyHelp) useVerifyHelp(program);
  // Help is wrapped to the terminal it is printed on, else to 80 columns (commander's default).
  const helpWidth = (): number => {
    const columns = (io.stdout as { columns?: number }).columns;
    return io.stdout.isTTY === true && typeof columns === 'number' && columns >= 40 ? columns : 80;
  };
  program
    .addHelpText('after', () =>
      fitHelpText(helpAfterOptions(verifyHelp ? 'verify' : 'prefetch', environmentHelp(verifyHelp ? 'verify' : 'prefetch')), helpWidth() - 1),
    )
    .exitOverride()
    .configureOutput({
      writeErr,
      writeOut: stdout,
      getOutHelpWidth: helpWidth,
      // Commander's "error: unknown option '--x' (Did you mean --y?)" plus where to look next.
      outputError: (s, write) => write(`composer-prefetch: ${s.replace(/^error: /, '').trimEnd()}\n  Run \`composer-prefetch --help\` to see every option.\n`),
    });
  try {
    program.parse(normaliseArgv(argv), { from: 'user' });
    applyEnvironment(program, env);
    // composer.json extra.composer-prefetch (in -d's folder, as Composer reads it), below env and flags.
    const workingDir = program.opts<{ workingDir?: string }>().workingDir;
    await applyProjectDefaults(program, { cwd: workingDir === undefined ? io.cwd : path.resolve(io.cwd, workingDir), env });
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.exitCode === 0) return EXIT.ok;
      // An Action's `args` input with a typo: the run page says why, not only the step's log.
      const problem = await appendGithubStopSummary(env, {
        command: argv.includes('verify') || argv.includes('--check') ? 'verify' : 'prefetch',
        message: error.message.replace(/^error: /, ''),
        hint: 'Run `composer-prefetch --help` to see every option.',
        exitCode: EXIT.usage,
      });
      if (problem !== undefined) stderr(paint.yellow(`warning: ${problem}`));
      return EXIT.usage;
    }
    throw error;
  }
  const cli = toCliOptions(program, env, io.cwd);
  const command: JsonCommand = cli.prefetch.verifyOnly ? 'verify' : cli.prefetch.dryRun ? 'dry-run' : 'prefetch';
  if (cli.ansi !== undefined) paint = createPaint(cli.ansi);
  const verbose = cli.verbosity > 0;

  // verify has nothing to show while it runs; its summary lists every miss. --no-ansi: a bar needs cursor codes.
  const mode = chooseProgress({
    requested: cli.progress,
    quiet: cli.quiet || cli.prefetch.verifyOnly,
    dryRun: cli.prefetch.dryRun,
    isTTY: io.stderr.isTTY === true && cli.ansi !== false,
    // JSON to the terminal itself, or to a pipe whose reader may print it there (`| head`, `| jq`).
    stdoutOnScreen: cli.jsonFormat !== undefined && (io.stdout.isTTY === true || io.stdoutIsPipe === true),
    env,
  });
  const human: Reporter =
    mode === 'bar'
      ? // Loaded only for a bar: cli-progress and its width tables are ~20 modules, ~13 ms of every start.
        (await import('../report/bar-reporter.js')).createBarReporter({ stream: io.stderr as NodeJS.WriteStream, quiet: false, paint, verbose })
      : createPlainReporter({ write: stderr, quiet: mode === 'none', paint, annotations: env['GITHUB_ACTIONS'] === 'true' ? 'github' : undefined, verbose });
  /**
   * The summary on the terminal that showed the bar: each line wrapped at a space to its width
   * (continuations indented under their line), not cut mid-word by the terminal's autowrap.
   * Logs and pipes get the lines as they are, one per fact, for grep.
   */
  const onScreen = (block: string): string => {
    const columns = (io.stderr as { columns?: number }).columns;
    if (mode !== 'bar' || typeof columns !== 'number' || columns < 20) return block;
    return block
      .split('\n')
      .flatMap((line) => {
        const lead = /^ */.exec(line)![0];
        return wrapToWidth(line.slice(lead.length), columns - 1 - lead.length).map((l) => lead + l);
      })
      .join('\n');
  };
  // What goes to stdout (--json, --json=ndjson, the dry run's listing): one module decides.
  const machine = stdoutFormat(cli.jsonFormat, { command, version, verifyOnly: cli.prefetch.verifyOnly, dryRun: cli.prefetch.dryRun, write: stdout });
  const origins = createOriginStats();
  // The bar's own counters, so the summary's bytes and speed are the ones the bar showed.
  const traffic = createProgressState();
  const warnings: string[] = [];
  const emit = (event: PrefetchEvent): void => {
    if (event.type === 'warning') warnings.push(event.message);
    origins.handle(event);
    traffic.handle(event);
    if (!(cli.prefetch.verifyOnly && event.type === 'failed')) human.handle(event);
    machine.handle(event);
  };

  const controller = new AbortController();
  let interrupts = 0;
  let stopSignal: NodeJS.Signals | undefined;
  let graceTimer: NodeJS.Timeout | undefined;
  let hintTimer: NodeJS.Timeout | undefined;
  /** The work has ended (the summary may still be printing): no more offers to quit at once. */
  const settled = (): void => clearTimeout(hintTimer);
  const interruptedCode = (): number => (stopSignal === undefined ? EXIT.interrupted : exitCodeForSignal(stopSignal));
  const quitNow = (signal: NodeJS.Signals, why: string | undefined): void => {
    human.close(); // gives the cursor back
    if (why !== undefined) stderr(why);
    io.signals.dieBy(signal);
  };
  const onSignal = (signal: NodeJS.Signals): void => {
    interrupts++;
    if (interrupts > 1) {
      quitNow(signal, undefined);
      return;
    }
    stopSignal = signal;
    // Stop drawing first: a line printed under a live bar is overwritten by its next frame.
    human.close();
    stderr(`\n${signal}: stopping; finished archives stay in the cache, partial ones are removed.`);
    controller.abort();
    // Offered only while the run is still stopping (a key sent SIGINT; no key sends the others).
    if (signal === 'SIGINT') {
      hintTimer = setTimeout(() => stderr('Still stopping: press Ctrl-C again to quit at once.'), STOP_HINT_MS);
      hintTimer.unref();
    }
    graceTimer = setTimeout(
      () =>
        quitNow(signal, `composer-prefetch: still not stopped ${STOP_GRACE_MS / 1000} s after ${signal}; quitting (the next run removes any temp file left).`),
      STOP_GRACE_MS,
    );
    graceTimer.unref();
  };
  io.signals.on(onSignal);

  try {
    if (cli.prefetch.verifyOnly && cli.prefetch.dryRun) {
      // A dry run looks at nothing, so a verify of it would report every archive present: a CI gate
      // written so would always pass.
      throw new PrefetchError('E_USAGE', 'verify (or --check) and --dry-run cannot be combined: a dry run checks nothing in the cache', {
        hint: 'Drop --dry-run to check the cache (it downloads nothing either), or drop the check to see the plan.',
      });
    }
    if (cli.workingDir !== undefined && !isDirectory(cli.prefetch.cwd)) {
      throw new PrefetchError('E_USAGE', `-d/--working-dir: ${cli.prefetch.cwd} is not a directory`, {
        hint: 'Pass the folder of the project (where composer.json and composer.lock are).',
      });
    }
    const { plan, summary, config, sources } = await prefetch(cli.prefetch, {
      environment: { ...defaultEnvironment(), env, cwd: cli.prefetch.cwd },
      readStdin: () => text(io.stdin),
      emit,
      signal: controller.signal,
      ...(seams.createBackend === undefined ? {} : { createBackend: seams.createBackend }),
      // -v: each git command, as Composer's -v shows them (credentials travel in git's environment, never here).
      ...(verbose ? { onGitCommand: (args: readonly string[]) => stderr(paint.dim(`git ${displayText(redactText(args.join(' ')))}`)) } : {}),
    });
    settled();
    human.close();

    // Composer's GC does not run on a read-only cache, and a dry run has nothing on disk to measure.
    let cacheSize: CacheSizeCheck | undefined;
    if (!cli.prefetch.dryRun && !config.cacheReadOnly && plan.tasks.length > 0 && !controller.signal.aborted) {
      cacheSize = await checkCacheSize(plan, config.cacheFilesMaxsize, controller.signal);
      if (cacheSize.overLimit) {
        const warning = formatCacheSizeWarning(cacheSize, config.cacheFilesMaxsizeScope);
        warnings.push(warning);
        stderr(paint.yellow(`warning: ${warning}`));
      }
    }
    const stats = origins.snapshot();
    // GitHub Actions job summary (GITHUB_STEP_SUMMARY set); a no-op elsewhere.
    const jobSummaryProblem = cli.prefetch.dryRun
      ? undefined
      : await appendGithubSummary(env, { command: cli.prefetch.verifyOnly ? 'verify' : 'prefetch', summary, origins: stats });
    if (jobSummaryProblem !== undefined) {
      warnings.push(jobSummaryProblem);
      stderr(paint.yellow(`warning: ${jobSummaryProblem}`));
    }

    // The human summary first, then stdout's document: stdout piped to a reader that prints it
    // (`--json | head -c 300`) showed the Done line in the middle of its text.
    if (cli.prefetch.verifyOnly) stderr(formatVerifySummary(summary));
    else if (!cli.prefetch.dryRun) {
      const seen = traffic.snapshot();
      stderr(onScreen(formatSummary(summary, { receivedBytes: seen.received, transferMs: seen.transferMs })));
      // Whatever the progress mode: the README promises one line per host in every summary.
      if (stats.length > 0) stderr(onScreen(formatOrigins(stats)));
    }
    if (!cli.prefetch.dryRun && sources !== undefined && sources.results.length > 0) stderr(sourcesLine(sources.results, cli.prefetch.verifyOnly));
    const complete = !summary.interrupted && summary.failed === 0 && summary.invalid === 0 && !(sources?.results.some((r) => r.kind === 'failed') ?? false);
    if (!cli.prefetch.dryRun && !cli.prefetch.verifyOnly && complete && !cli.quiet)
      stderr(onScreen(nextStepLine({ noDev: cli.prefetch.noDev, workingDir: cli.workingDir, inputs: cli.prefetch.inputs })));
    machine.finish({ plan, summary, config, sources, origins: stats, cacheSize, warnings });
    if (summary.interrupted) return interruptedCode();
    return summary.failed > 0 || summary.invalid > 0 ? EXIT.someFailed : EXIT.ok;
  } catch (thrown) {
    settled();
    human.close();
    // Every failure the code expects is a PrefetchError with its code; anything else (a TypeError)
    // is a bug of ours, and says so, with its own exit code, instead of passing for bad input.
    const error = thrown instanceof PrefetchError ? thrown : internalError(thrown);
    stderr(paint.red(`composer-prefetch: ${displayText(error.message)}`));
    if (error.hint !== undefined) stderr(`  ${displayText(error.hint)}`);
    // The stack always, not only with -v: the run that hit the bug may not hit it again, and the
    // report needs where it happened. displayText redacts: a message may quote a URL with credentials.
    if (error.code === 'E_INTERNAL') stderr(paint.dim(displayText(stackOf(thrown), { keepLineBreaks: true })));
    // A JSON consumer gets a document (or a last line) it can parse, not an empty stdout.
    machine.fail(error);
    const exitCode = error.code === 'E_ABORTED' ? interruptedCode() : exitCodeFor(error.code);
    // GitHub Actions: a run that stopped (a bad `lock` input: exit 2) leaves its reason on the run page too.
    if (command !== 'dry-run') {
      const problem = await appendGithubStopSummary(env, { command, message: error.message, hint: error.hint, exitCode });
      if (problem !== undefined) stderr(paint.yellow(`warning: ${problem}`));
    }
    return exitCode;
  } finally {
    settled();
    clearTimeout(graceTimer);
    io.signals.off(onSignal);
  }
}

/** A bug, for the person who hit it: what was thrown, and where to report it. */
function internalError(thrown: unknown): PrefetchError {
  const what = thrown instanceof Error ? `${thrown.name}: ${thrown.message}` : String(thrown);
  const url = issuesUrl();
  return new PrefetchError('E_INTERNAL', `internal error: ${what}`, {
    cause: thrown,
    hint: `This is a bug in composer-prefetch, please report it${url === undefined ? '' : `: ${url}`} (with the lines below and the output of \`composer-prefetch --version\`).`,
  });
}

function stackOf(thrown: unknown): string {
  return thrown instanceof Error ? (thrown.stack ?? `${thrown.name}: ${thrown.message}`) : String(thrown);
}

/** One summary line for the git mirrors: how many were cloned, updated, already complete, failed. */
function sourcesLine(results: readonly { readonly kind: 'cached' | 'cloned' | 'updated' | 'failed' }[], verifyOnly: boolean): string {
  const count = (kind: string): number => results.filter((r) => r.kind === kind).length;
  if (verifyOnly) return `Git mirrors: ${count('cached')} of ${results.length} complete in Composer's cache-vcs-dir.`;
  return `Git mirrors: ${count('cloned')} cloned, ${count('updated')} updated, ${count('cached')} already complete, ${count('failed')} failed.`;
}

function isPipe(fd: number): boolean {
  try {
    const stat = fstatSync(fd);
    return stat.isFIFO() || stat.isSocket();
  } catch {
    return false;
  }
}

function isDirectory(dir: string): boolean {
  try {
    return statSync(dir).isDirectory();
  } catch {
    return false;
  }
}
