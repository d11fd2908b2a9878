import { readFileSync } from 'node:fs';
import { text } from 'node:stream/consumers';
import { CommanderError } from 'commander';
import { defaultEnvironment } from '../config/composer-config.js';
import { PrefetchError, toPrefetchError } from '../errors.js';
import { prefetch } from '../prefetch.js';
import { formatPlan, formatSummary } from '../report/format.js';
import { buildJsonReport } from '../report/json-report.js';
import { createPlainReporter } from '../report/plain-reporter.js';
import type { PrefetchEvent } from '../report/types.js';
import { EXIT, exitCodeFor } from './exit-codes.js';
import { buildProgram, toCliOptions } from './program.js';

function packageVersion(): string {
  try {
    return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    return '0.0.0';
  }
}

/** The only place that reads argv/env, prints, and decides the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  const version = packageVersion();
  const stderr = (line: string): void => void process.stderr.write(`${line}\n`);
  const program = buildProgram(process.env, version).exitOverride().configureOutput({
    writeErr: (s) => process.stderr.write(s),
    outputError: (s, write) => write(s),
  });
  try {
    program.parse(argv, { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    throw error;
  }
  const cli = toCliOptions(program, process.env, process.cwd());

  const controller = new AbortController();
  let interrupts = 0;
  const onSignal = (signal: NodeJS.Signals): void => {
    interrupts++;
    if (interrupts > 1) process.exit(EXIT.interrupted);
    stderr(`\n${signal}: stopping; finished archives stay in the cache, partial ones are removed. Press Ctrl-C again to quit at once.`);
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const reporter = createPlainReporter({ write: stderr, quiet: cli.quiet || cli.prefetch.dryRun });
  const statuses = new Map<string, 'downloaded' | 'cached' | 'failed'>();
  const emit = (event: PrefetchEvent): void => {
    if (event.type === 'done') statuses.set(event.task.cacheKey, event.result);
    if (event.type === 'failed') statuses.set(event.task.cacheKey, 'failed');
    reporter.handle(event);
  };

  try {
    const { plan, summary } = await prefetch(cli.prefetch, {
      environment: defaultEnvironment(),
      readStdin: () => text(process.stdin),
      emit,
      signal: controller.signal,
    });
    reporter.close();
    if (cli.json) {
      process.stdout.write(`${JSON.stringify(buildJsonReport(plan, cli.prefetch.dryRun ? undefined : summary, (key) => statuses.get(key) ?? 'planned'), null, 2)}\n`);
    } else if (cli.prefetch.dryRun) {
      process.stdout.write(`${formatPlan(plan)}\n`);
    }
    if (!cli.prefetch.dryRun) stderr(formatSummary(summary));
    if (summary.interrupted) return EXIT.interrupted;
    return summary.failed > 0 || summary.invalid > 0 ? EXIT.someFailed : EXIT.ok;
  } catch (thrown) {
    reporter.close();
    const error = toPrefetchError(thrown, 'E_INPUT');
    if (!(thrown instanceof PrefetchError) && process.env['COMPOSER_PREFETCH_DEBUG']) console.error(thrown);
    stderr(`composer-prefetch: ${error.message}`);
    if (error.hint !== undefined) stderr(`  ${error.hint}`);
    return exitCodeFor(error.code);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

process.exitCode = await main(process.argv.slice(2));
