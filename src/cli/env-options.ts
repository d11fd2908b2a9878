import type { Command, Option } from 'commander';

const ENV_PREFIX = 'COMPOSER_PREFETCH_';

/** `--cache-dir` → COMPOSER_PREFETCH_CACHE_DIR, `--no-dev` → COMPOSER_PREFETCH_NO_DEV. */
export function envNameFor(option: Option): string | undefined {
  const long = option.long;
  if (long === undefined || long === '--help' || long === '--version') return undefined;
  return ENV_PREFIX + long.replace(/^--/, '').replace(/-/g, '_').toUpperCase();
}

/** CI-style truthiness: unset, '', 0, false, no and off mean "not set". */
export function envFlag(value: string | undefined): boolean {
  return value !== undefined && !/^(|0|false|no|off)$/i.test(value.trim());
}

/**
 * A COMPOSER_PREFETCH_* flag's value, strictly: the documented words only (1/true/yes/on,
 * 0/false/no/off, or empty for off), any case; undefined for anything else, so that a typo
 * (`flase`) or a guess (`maybe`) is refused instead of silently turning the option on.
 */
export function envSwitch(value: string): boolean | undefined {
  const v = value.trim().toLowerCase();
  if (/^(1|true|yes|on)$/.test(v)) return true;
  if (/^(|0|false|no|off)$/.test(v)) return false;
  return undefined;
}

/**
 * Names every option's COMPOSER_PREFETCH_* variable (`Option.env()`, so `--help` lists it).
 * Declared after the options were added, commander does not read these variables itself: the
 * values come from `applyEnvironment`, out of the environment the CLI was given (a test's, or
 * `process.env`), with this tool's own error message and its 0/false/no/off for flags.
 */
export function declareEnvironment(program: Command): void {
  for (const option of program.options) {
    const name = envNameFor(option);
    if (name !== undefined && option.envVar === undefined) option.env(name);
  }
}

/**
 * After parsing: each option not given on the command line takes its variable, validated by the
 * option's own parser (flags win, as commander's own environment handling does). A flag's
 * variable turns it on with 1/true/yes/on, and is ignored with 0/false/no/off or empty, so that it
 * means off rather than on; any other word stops the run (exit 2) naming the variable.
 */
export function applyEnvironment(program: Command, env: Readonly<Record<string, string | undefined>>): void {
  for (const option of program.options) {
    const name = option.envVar;
    const raw = name === undefined ? undefined : env[name];
    if (name === undefined || raw === undefined) continue;
    const key = option.attributeName();
    const source = program.getOptionValueSource(key);
    if (source !== undefined && source !== 'default' && source !== 'env') continue;
    const takesValue = option.required || option.optional;
    if (!takesValue) {
      const on = envSwitch(raw);
      if (on === undefined) {
        program.error(`${name}=${raw} is not valid for ${option.long ?? option.flags}: use 1, true, yes or on to turn it on, or 0, false, no or off.`, {
          exitCode: 2,
          code: 'commander.invalidArgument',
        });
      }
      if (!on) continue;
    }
    // A repeatable option's variable lists several values, separated by whitespace.
    const value = !takesValue
      ? option.negate
        ? false
        : (option.presetArg ?? true)
      : Array.isArray(option.defaultValue)
        ? raw
            .split(/\s+/)
            .filter((item) => item !== '')
            .reduce<unknown>((previous, item) => envValue(program, option, name, item, previous), option.defaultValue)
        : envValue(program, option, name, raw, program.getOptionValue(key));
    program.setOptionValueWithSource(key, value, 'env');
  }
}

function envValue(program: Command, option: Option, name: string, raw: string, previous: unknown): unknown {
  if (!option.parseArg) return raw;
  try {
    return option.parseArg(raw, previous);
  } catch (error) {
    const e = error as { code?: string; message?: string };
    if (e.code !== 'commander.invalidArgument') throw error;
    return program.error(`${name}=${raw} is not valid for ${option.long ?? option.flags}: ${e.message ?? ''}`.trim(), { exitCode: 2, code: e.code });
  }
}

/**
 * Help shows defaults in the units the flags take: seconds for `<s>` options (stored as ms),
 * sizes for `<size>` ones, instead of raw internal numbers.
 */
export function polishDefaults(program: Command): void {
  for (const option of program.options) {
    const value: unknown = option.defaultValue;
    if (typeof value !== 'number' || option.defaultValueDescription !== undefined) continue;
    if (/<s>/.test(option.flags)) option.defaultValueDescription = `${value / 1000}`;
    else if (/<size>/.test(option.flags)) option.defaultValueDescription = formatSize(value);
  }
}

function formatSize(bytes: number): string {
  if (bytes === 0) return '0';
  for (const [unit, size] of [
    ['G', 1024 ** 3],
    ['M', 1024 ** 2],
    ['K', 1024],
  ] as const) {
    if (bytes % size === 0) return `${bytes / size}${unit}`;
  }
  return String(bytes);
}

/**
 * `--json ndjson` (with a space) would otherwise read `ndjson` as an input file, and a bare
 * `--json` before a lock path would swallow the path as its format: pin both forms down.
 */
export function normaliseArgv(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i]!;
    if (token === '--') {
      out.push(...argv.slice(i));
      break;
    }
    if (token === '--json') {
      const next = argv[i + 1];
      if (next !== undefined && /^(ndjson|jsonl|report)$/i.test(next)) {
        out.push(`--json=${next}`);
        i++;
      } else out.push('--json=report');
      continue;
    }
    out.push(token);
  }
  return out;
}

/** The "Environment" section of --help (each option's own variable is listed with it above). */
export function environmentHelp(command: 'prefetch' | 'verify' = 'prefetch'): string {
  const codes =
    command === 'verify'
      ? 'Exit codes: 0 every dist is in the cache and valid, 1 some are missing or invalid, 2 bad usage or input, 70 a bug in composer-prefetch (please report it); interrupted: ends by the signal (130 after Ctrl-C).'
      : 'Exit codes: 0 every dist is in the cache, 1 some failed (the rest landed), 2 bad usage or input, 70 a bug in composer-prefetch (please report it); interrupted: ends by the signal after removing partial files (a shell shows 130 for Ctrl-C, 143 for SIGTERM), so `composer-prefetch; composer install` stops there.';
  return `
Environment:
  COMPOSER_PREFETCH_<OPTION>  every option above, e.g. ${command === 'verify' ? 'COMPOSER_PREFETCH_NO_DEV=1' : 'COMPOSER_PREFETCH_CONCURRENCY=32'}; flags win
  COMPOSER                    composer.json name; COMPOSER=composer-dev.json reads composer-dev.lock
  COMPOSER_HOME, COMPOSER_CACHE_DIR, COMPOSER_AUTH, COMPOSER_NO_DEV
                              read as Composer reads them
  NO_COLOR                    no colour
  CI=true                     plain progress lines instead of a bar

${codes}
`;
}
