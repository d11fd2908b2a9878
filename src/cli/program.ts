import { Command, InvalidArgumentError, Option } from 'commander';
import { defaultDownloadOptions, type PrefetchOptions } from '../config/options.js';
import type { BackendName } from '../backends/types.js';

export interface CliOptions {
  readonly prefetch: PrefetchOptions;
  readonly json: boolean;
  readonly quiet: boolean;
}

function positiveInt(name: string) {
  return (value: string): number => {
    if (!/^\d+$/.test(value) || Number(value) < 1) throw new InvalidArgumentError(`${name} must be a whole number ≥ 1.`);
    return Number(value);
  };
}

function nonNegativeInt(name: string) {
  return (value: string): number => {
    if (!/^\d+$/.test(value)) throw new InvalidArgumentError(`${name} must be a whole number ≥ 0.`);
    return Number(value);
  };
}

function seconds(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`${name} must be a number of seconds > 0.`);
    return Math.round(n * 1000);
  };
}

/** `4M`, `512K`, `1MiB`, `8388608`, `0` (0 turns splitting off). */
function byteSize(name: string) {
  return (value: string): number => {
    const match = /^(\d+(?:\.\d+)?)\s*([kKmMgG]?)(?:i?[bB])?$/.exec(value.trim());
    if (!match) throw new InvalidArgumentError(`${name} must be a size such as 4M, 512K or 0.`);
    const unit = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[match[2]!.toLowerCase() as '' | 'k' | 'm' | 'g'];
    return Math.round(Number(match[1]) * unit);
  };
}

const EXAMPLES = `
Examples:
  $ composer-prefetch                          # ./composer.lock into Composer's cache
  $ composer-prefetch --no-dev -j 32           # production packages, 32 parallel downloads
  $ composer-prefetch 'apps/*/composer.lock'   # many projects, one de-duplicated plan
  $ composer-prefetch --dry-run --json > plan.json
  $ composer-prefetch --backend aria2 vendor/composer/installed.json
`;

/** Builds the commander program; `parse` turns argv + env into typed options and nothing else. */
export function buildProgram(env: Readonly<Record<string, string | undefined>>, version: string): Command {
  const d = defaultDownloadOptions;
  return new Command()
    .name('composer-prefetch')
    .description("Download every dist archive of a composer.lock in parallel, verified, into Composer's own cache, so the next `composer install` downloads nothing.")
    .version(version, '-V, --version')
    .argument('[inputs...]', 'composer.lock, installed.json or package-list JSON files, glob patterns, or - for stdin (default: the project lock, honouring COMPOSER)')
    .option('--no-dev', 'leave out packages-dev (also env COMPOSER_NO_DEV=1)')
    .option('--cache-dir <dir>', "Composer's cache-dir: archives go to <dir>/files (default: as Composer resolves it)")
    .option('-j, --concurrency <n>', 'downloads in flight at once', positiveInt('--concurrency'), d.concurrency)
    .option('--per-origin <n>', 'connections per host', positiveInt('--per-origin'), d.perOrigin)
    .option('--retries <n>', 'retries per URL before trying the next mirror', nonNegativeInt('--retries'), d.retries)
    .option('--connect-timeout <s>', 'seconds to establish a connection', seconds('--connect-timeout'), d.connectTimeoutMs)
    .option('--stall-timeout <s>', 'seconds without a byte before a transfer counts as stalled', seconds('--stall-timeout'), d.stallTimeoutMs)
    .option('--split-size <size>', 'split archives at least this large into parallel Range segments (e.g. 4M; 0 = never)', byteSize('--split-size'), d.splitMinBytes)
    .option('--split-segments <n>', 'parallel segments per split archive', positiveInt('--split-segments'), d.splitSegments)
    .addOption(new Option('--backend <name>', 'download engine').choices(['native', 'aria2']).default('native'))
    .option('--aria2c <path>', 'aria2c binary for --backend aria2 (default: aria2c on PATH)')
    .option('--dry-run', 'print the plan (package, version, URL, cache path) and download nothing')
    .option('--check', 'report archives missing or invalid in the cache; download nothing (exit 1 if any)')
    .option('--json', 'print a machine-readable JSON report on stdout (human output goes to stderr)')
    .option('-q, --quiet', 'print only warnings, errors and the summary')
    .addHelpText('after', EXAMPLES);
}

export function toCliOptions(program: Command, env: Readonly<Record<string, string | undefined>>, cwd: string): CliOptions {
  const o = program.opts<{
    dev: boolean;
    cacheDir?: string;
    concurrency: number;
    perOrigin: number;
    retries: number;
    connectTimeout: number;
    stallTimeout: number;
    splitSize: number;
    splitSegments: number;
    backend: BackendName;
    aria2c?: string;
    dryRun?: boolean;
    check?: boolean;
    json?: boolean;
    quiet?: boolean;
  }>();
  const noDevEnv = env['COMPOSER_NO_DEV'];
  const noDev = !o.dev || (noDevEnv !== undefined && noDevEnv !== '' && noDevEnv !== '0');
  return {
    json: o.json === true,
    quiet: o.quiet === true,
    prefetch: {
      inputs: program.args,
      cwd,
      noDev,
      dryRun: o.dryRun === true,
      verifyOnly: o.check === true,
      backend: o.backend,
      cacheDir: o.cacheDir,
      aria2c: o.aria2c,
      mirrors: [],
      download: {
        ...defaultDownloadOptions,
        concurrency: o.concurrency,
        perOrigin: o.perOrigin,
        retries: o.retries,
        connectTimeoutMs: o.connectTimeout,
        stallTimeoutMs: o.stallTimeout,
        splitMinBytes: o.splitSize,
        splitSegments: o.splitSegments,
      },
    },
  };
}
