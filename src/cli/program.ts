import path from 'node:path';
import { Command, Help, InvalidArgumentError, Option } from 'commander';
import { displayWidth, wrapToWidth } from '../report/fit-width.js';
import { defaultDownloadOptions, type PrefetchOptions } from '../config/options.js';
import type { BackendName } from '../types.js';
import { DEFAULT_VERIFY_LEVEL, type VerifyLevel } from '../verify/archive.js';

export type JsonFormat = 'report' | 'ndjson';
export type ProgressMode = 'bar' | 'plain' | 'none';

export interface CliOptions {
  readonly prefetch: PrefetchOptions;
  readonly json: boolean;
  /** `--json` (one document at the end) or `--json=ndjson` (one event per line); undefined without `--json`. */
  readonly jsonFormat: JsonFormat | undefined;
  /** `--progress` (`--no-progress` is `none`); undefined means: choose from the terminal (cli/reporters.ts). */
  readonly progress: ProgressMode | undefined;
  readonly quiet: boolean;
  /** `-v` 1, `-vv` 2, `-vvv` 3 (as Composer counts them); 0 without. */
  readonly verbosity: number;
  /** `--ansi` true, `--no-ansi` false; undefined means: colour only on a terminal. */
  readonly ansi: boolean | undefined;
  /** `-d/--working-dir` as given (already folded into `prefetch.cwd`), to check that it exists. */
  readonly workingDir: string | undefined;
}

/** `--json` alone means the report; env values such as 1/true do too, 0/false turn it off. */
function jsonFormat(value: string): JsonFormat | false {
  const v = value.trim().toLowerCase();
  if (v === 'ndjson' || v === 'jsonl') return 'ndjson';
  if (v === '' || v === 'report' || v === 'json' || v === '1' || v === 'true' || v === 'yes') return 'report';
  if (v === '0' || v === 'false' || v === 'no') return false;
  throw new InvalidArgumentError('Use --json for one report at the end, or --json=ndjson for one event per line.');
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

/**
 * `--verify` takes a level; a path after it (`--verify composer.lock`) is someone reaching for the
 * `verify` command, so the refusal says where that is.
 */
function verifyLevel(value: string): VerifyLevel {
  if (value === 'deep' || value === 'structure') return value;
  const looksLikeInput = /[./\\*]/.test(value) || value === '-';
  throw new InvalidArgumentError(
    looksLikeInput
      ? `Allowed choices are deep, structure. To check the cache for a lock, use the verify command: composer-prefetch verify ${value}`
      : 'Allowed choices are deep, structure.',
  );
}

/** Edit distance (insert, delete, substitute, swap two neighbours) between two short words. */
function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, d[i - 2]![j - 2]! + 1);
      d[i]![j] = best;
    }
  }
  return d[a.length]![b.length]!;
}

/**
 * A first input that is a bare word one or two typos from `verify` (`verfy`, `verifiy`) is a
 * mistyped command, not a lock: a lock path has a dot or a slash, and a file really named so can
 * be given as `./verfy` (as `./verify` is).
 */
export function mistypedCommand(word: string): string | undefined {
  if (word === 'verify' || !/^[a-z]+$/i.test(word)) return undefined;
  const distance = editDistance(word.toLowerCase(), 'verify');
  return distance > 0 && distance <= 2 ? 'verify' : undefined;
}

/** Each `-v` adds one: `-vvv` is 3, as in Composer. */
function increaseVerbosity(_value: string, previous: number): number {
  return previous + 1;
}

const EXAMPLES = `
Examples:
  $ composer-prefetch                          # ./composer.lock into Composer's cache
  $ composer-prefetch --no-dev -j 32           # production packages, 32 parallel downloads
  $ composer-prefetch 'apps/*/composer.lock'   # many projects, one de-duplicated plan
  $ composer-prefetch --dry-run                # what would be downloaded, and where to
  $ composer-prefetch verify                   # after restoring a CI cache: exit 0 only if every dist is cached
  $ composer-prefetch --json > report.json     # a JSON report on stdout; progress stays on stderr
  $ composer-prefetch --json=ndjson | jq -c 'select(.type=="failed")'
  $ COMPOSER_PREFETCH_CONCURRENCY=32 composer-prefetch --quiet   # any option from the environment
  $ composer-prefetch --backend aria2 vendor/composer/installed.json
  $ composer-prefetch -d apps/shop -v          # as \`composer -d apps/shop install\` would read it
  $ composer-prefetch \\
      --mirror 'https://mirror.example/dists/%package%/%reference%.%type%'
`;

const VERIFY_EXAMPLES = `
Examples:
  $ composer-prefetch verify                   # ./composer.lock: exit 0 only if every dist is cached
  $ composer-prefetch verify --no-dev          # what \`composer install --no-dev\` needs
  $ composer-prefetch verify --verify structure   # quicker: headers only, no inflating
  $ composer-prefetch verify --json > verify.json
  $ composer-prefetch verify 'apps/*/composer.lock'
`;

/** The options `verify` reads; `verify --help` lists only these. */
const VERIFY_OPTIONS = new Set([
  '--no-dev',
  '--cache-dir',
  '--verify',
  '--no-source',
  '--json',
  '--quiet',
  '--verbose',
  '--ansi',
  '--no-ansi',
  '--working-dir',
  '--no-interaction',
  '--help',
  '--version',
]);

/** Whether `argv` asks for the help of `verify` (`verify --help`, `--check -h`). */
export function wantsVerifyHelp(argv: readonly string[]): boolean {
  const end = argv.indexOf('--');
  const args = end < 0 ? argv : argv.slice(0, end);
  return args.some((a) => a === '--help' || a === '-h') && (args.find((a) => !a.startsWith('-')) === 'verify' || args.includes('--check'));
}

/**
 * `verify --help`: what verify does and only the options it reads (the download options would
 * suggest it downloads). Called before parsing; the options themselves stay shared.
 */
export function useVerifyHelp(program: Command): void {
  program
    .usage('verify [options] [inputs...]')
    .description(
      "Check, downloading nothing, that every dist archive a composer.lock needs is in Composer's cache and valid: exit 0 if so (`composer install` will download no dist), else exit 1 and a list of what is missing or invalid. Run it after restoring a CI cache.",
    )
    .configureHelp({
      visibleOptions(this: Help, cmd: Command) {
        return Help.prototype.visibleOptions.call(this, cmd).filter((o) => VERIFY_OPTIONS.has(o.long ?? ''));
      },
    });
}

/**
 * Help text after the options, fitted to `width` columns: an example's comment that does not fit
 * beside it goes above it, an entry's
 * description under its start, a sentence under its first word + 2; none is cut mid-word by the
 * terminal. A command longer than the width stays whole (it is to be copied).
 */
export function fitHelpText(text: string, width: number): string {
  const out: string[] = [];
  for (const line of text.split('\n')) {
    if (displayWidth(line) <= width) {
      out.push(line);
      continue;
    }
    const columns = /^(\s*\S.*?)(\s{2,})(\S.*)$/.exec(line);
    const lead = /^\s*/.exec(line)![0];
    if (columns !== null && columns[3]!.startsWith('# ')) {
      // An example with its comment does not fit: the comment goes above the command, as in a script.
      for (const more of wrapToWidth(columns[3]!.slice(2), width - lead.length - 2, '')) out.push(`${lead}# ${more}`);
      out.push(columns[1]!);
      continue;
    }
    if (columns !== null && displayWidth(columns[1]!) + columns[2]!.length <= width - 20) {
      const col = displayWidth(columns[1]!) + columns[2]!.length;
      const wrapped = wrapToWidth(columns[3]!, width - col, '');
      out.push(`${columns[1]}${columns[2]}${wrapped[0]}`);
      for (const more of wrapped.slice(1)) out.push(`${' '.repeat(col)}${more}`);
      continue;
    }
    const wrapped = wrapToWidth(line.slice(lead.length), width - lead.length, '  ');
    for (const more of wrapped) out.push(`${lead}${more}`);
  }
  return out.join('\n');
}

/** Examples, environment and exit codes, for `verify` or the download. */
export function helpAfterOptions(command: 'prefetch' | 'verify', environment: string): string {
  return command === 'verify' ? `${VERIFY_EXAMPLES}${environment}` : `${EXAMPLES}${environment}`;
}

/** Builds the commander program; `parse` turns argv + env into typed options and nothing else. */
export function buildProgram(_env: Readonly<Record<string, string | undefined>>, version: string): Command {
  const d = defaultDownloadOptions;
  const program = new Command();
  /** Inputs one at a time; the first one is checked for a mistyped `verify`. */
  const input = (value: string, previous: string[] | undefined): string[] => {
    const meant = previous === undefined ? mistypedCommand(value) : undefined;
    if (meant !== undefined) {
      program.error(`unknown command '${value}' (Did you mean ${meant}?)\n  Use ./${value} for a file of that name.`, {
        exitCode: 2,
        code: 'composer-prefetch.unknownCommand',
      });
    }
    return [...(previous ?? []), value];
  };
  return (
    program
      .name('composer-prefetch')
      .description(
        "Download every dist archive of a composer.lock in parallel, verified, into Composer's own cache, so the next `composer install` downloads nothing.",
      )
      .version(version, '-V, --version')
      .usage('[options] [inputs...]\n       composer-prefetch verify [options] [inputs...]')
      .argument(
        '[inputs...]',
        'composer.lock, installed.json or package-list JSON files, glob patterns, or - for stdin (default: the project lock, honouring COMPOSER)',
        input,
      )
      .option('--no-dev', 'leave out packages-dev (also env COMPOSER_NO_DEV=1)')
      .option('--cache-dir <dir>', "Composer's cache-dir: archives go to <dir>/files (default: as Composer resolves it)")
      .option('-j, --concurrency <n>', 'downloads in flight at once', positiveInt('--concurrency'), d.concurrency)
      .option('--per-origin <n>', 'connections per host', positiveInt('--per-origin'), d.perOrigin)
      .option('--retries <n>', 'retries per URL before trying the next mirror', nonNegativeInt('--retries'), d.retries)
      .option('--connect-timeout <s>', 'seconds to establish a connection', seconds('--connect-timeout'), d.connectTimeoutMs)
      .option('--stall-timeout <s>', 'seconds without a byte before a transfer counts as stalled', seconds('--stall-timeout'), d.stallTimeoutMs)
      .option('--headers-timeout <s>', 'seconds from request to response headers (time to first byte)', seconds('--headers-timeout'), d.headersTimeoutMs)
      .option(
        '--retry-max-time <s>',
        'per-package deadline: no retry starts after it, and the transfer in flight is stopped',
        seconds('--retry-max-time'),
        d.retryMaxTimeMs,
      )
      .option(
        '--low-speed-limit <size>',
        'bytes per second a transfer must average over --stall-timeout, or it counts as stalled (e.g. 1K; 0 = no floor)',
        byteSize('--low-speed-limit'),
        d.lowSpeedLimit,
      )
      .option('--max-size <size>', 'largest archive accepted, declared or received (e.g. 1G; 0 = no limit)', byteSize('--max-size'), d.maxSizeBytes)
      .option(
        '--max-unpacked-size <size>',
        'most an archive may hold uncompressed (e.g. 4G; 0 = no limit): a bound on bytes, never on the compression ratio',
        byteSize('--max-unpacked-size'),
        d.maxUnpackedBytes,
      )
      .option(
        '--split-size <size>',
        'split archives at least this large into parallel Range segments (e.g. 4M; 0 = never)',
        byteSize('--split-size'),
        d.splitMinBytes,
      )
      .option('--split-segments <n>', 'parallel segments per split archive', positiveInt('--split-segments'), d.splitSegments)
      .addOption(new Option('--backend <name>', 'download engine').choices(['native', 'aria2']).default('native'))
      .addOption(
        new Option(
          '--verify <level>',
          'how archives without a lock shasum are checked: deep (inflate every entry, check CRC-32 and sizes) or structure (directory and headers only)',
        )
          .choices(['deep', 'structure'])
          .argParser(verifyLevel)
          .default(DEFAULT_VERIFY_LEVEL),
      )
      .option('--aria2c <path>', 'aria2c binary for --backend aria2, an error without it (default: aria2c on PATH)')
      // Repeatable, one template per flag, taken whole (a value with a space is reported as given);
      // the env variable (COMPOSER_PREFETCH_MIRROR) takes several, separated by whitespace (applyEnvironment).
      .option(
        '--mirror <template>',
        "dist mirror in Composer's template form (%package%, %version%, %reference%, %type%; see the last example); tried before the lock's URLs, cache key unchanged (repeatable)",
        (value: string, previous: string[]) => [...previous, value],
        [] as string[],
      )
      .option('--mirror-private', 'also send packages that do not come from packagist.org to --mirror (default: only public packagist.org packages)')
      .option('--no-source', "do not mirror the git repositories of packages installed from source into Composer's cache-vcs-dir")
      .option('--dry-run', 'print the plan (package, version, URL, cache path) and how many archives are cached or would be downloaded; download nothing')
      .option('--check', 'same as the verify command: report archives missing or invalid in the cache, download nothing (exit 1 if any)')
      .addOption(
        new Option(
          '--json [format]',
          'JSON on stdout, human output on stderr: --json prints one report at the end, --json=ndjson one event per line',
        ).argParser(jsonFormat),
      )
      .addOption(
        new Option('--progress <mode>', 'progress on stderr (default: bar on a terminal, plain lines in CI or a pipe)').choices(['bar', 'plain', 'none']),
      )
      .option('--no-progress', 'no progress output, as in Composer (same as --progress=none)')
      .option('-q, --quiet', 'print only warnings, errors and the summary')
      .option('-v, --verbose', 'more output: -v adds retry lines, -vvv also stack traces of unexpected errors (repeatable)', increaseVerbosity, 0)
      .option('--ansi', 'colour even when stderr is not a terminal')
      .option('--no-ansi', 'no colour and no redrawn progress bar')
      .option('-d, --working-dir <dir>', 'run as if started in <dir>: the lock, composer.json and a relative --cache-dir are found there')
      .option('-n, --no-interaction', 'accepted for Composer compatibility; composer-prefetch never asks anything')
  );
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
    headersTimeout: number;
    retryMaxTime: number;
    lowSpeedLimit: number;
    maxSize: number;
    maxUnpackedSize: number;
    splitSize: number;
    splitSegments: number;
    backend: BackendName;
    verify: VerifyLevel;
    aria2c?: string;
    mirror: string[];
    mirrorPrivate?: boolean;
    source: boolean;
    dryRun?: boolean;
    check?: boolean;
    json?: JsonFormat | false | true;
    progress?: ProgressMode | false;
    quiet?: boolean;
    /** A count from the flags; `true` from COMPOSER_PREFETCH_VERBOSE. */
    verbose: number | boolean;
    ansi?: boolean;
    workingDir?: string;
  }>();
  const noDevEnv = env['COMPOSER_NO_DEV'];
  const noDev = !o.dev || (noDevEnv !== undefined && noDevEnv !== '' && noDevEnv !== '0');
  // `composer-prefetch verify [inputs...]`: a word, not a subcommand, so the options stay shared (a file named verify: ./verify).
  const verify = program.args[0] === 'verify';
  const json = o.json === true ? 'report' : o.json === false || o.json === undefined ? undefined : o.json;
  return {
    json: json !== undefined,
    jsonFormat: json,
    progress: o.progress === false ? 'none' : o.progress,
    quiet: o.quiet === true,
    verbosity: typeof o.verbose === 'number' ? o.verbose : o.verbose ? 1 : 0,
    ansi: o.ansi,
    workingDir: o.workingDir,
    prefetch: {
      inputs: verify ? program.args.slice(1) : program.args,
      cwd: o.workingDir === undefined ? cwd : path.resolve(cwd, o.workingDir),
      noDev,
      dryRun: o.dryRun === true,
      verifyOnly: o.check === true || verify,
      backend: o.backend,
      verifyLevel: o.verify,
      cachedVerifyLevel: program.getOptionValueSource('verify') === 'default' ? 'structure' : o.verify,
      cacheDir: o.cacheDir,
      aria2c: o.aria2c,
      mirrors: o.mirror,
      mirrorPrivate: o.mirrorPrivate === true,
      source: o.source !== false,
      download: {
        ...defaultDownloadOptions,
        concurrency: o.concurrency,
        perOrigin: o.perOrigin,
        retries: o.retries,
        connectTimeoutMs: o.connectTimeout,
        stallTimeoutMs: o.stallTimeout,
        splitMinBytes: o.splitSize,
        splitSegments: o.splitSegments,
        headersTimeoutMs: o.headersTimeout,
        retryMaxTimeMs: o.retryMaxTime,
        lowSpeedLimit: o.lowSpeedLimit,
        maxSizeBytes: o.maxSize,
        maxUnpackedBytes: o.maxUnpackedSize,
      },
    },
  };
}
