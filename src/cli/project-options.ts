import { InvalidArgumentError, type Command, type Option } from 'commander';
import { PROJECT_DEFAULTS_KEY, readProjectDefaults, type ProjectDefaults } from '../config/project-defaults.js';
import { JsonInputError, PrefetchError } from '../errors.js';
import { redactText } from '../report/redact.js';
import { envNameFor } from './env-options.js';

/**
 * What a project file may set: an allowlist, so an option added later is not settable from a
 * checked-out composer.json until someone decides it is safe. CI runs this tool on pull-request
 * checkouts, so nothing read from the project may name a program to run, a path to write, or a
 * credential; these only tune how downloads are made and shown.
 */
const PROJECT_SETTABLE: readonly string[] = [
  'no-dev',
  'concurrency',
  'per-origin',
  'retries',
  'connect-timeout',
  'stall-timeout',
  'headers-timeout',
  'retry-max-time',
  'low-speed-limit',
  'max-size',
  'max-unpacked-size',
  'split-size',
  'split-segments',
  'backend',
  'verify',
  'mirror',
  'mirror-private',
  'progress',
  'no-progress',
  'quiet',
  'verbose',
  'ansi',
  'no-ansi',
  'no-interaction',
];

/** Options a project file asks for that it may not set, with the reason the refusal gives. */
const REFUSED: Readonly<Record<string, string>> = {
  aria2c: 'it names a program to run, and a checked-out project must not choose what this tool executes; use --aria2c or COMPOSER_PREFETCH_ARIA2C',
  'cache-dir': "set Composer's own config.cache-dir (which Composer reads too), or use --cache-dir",
  'working-dir': 'it chooses which project is read; use -d',
  json: 'it is about one run, not the project; use --json',
  'dry-run': 'it is about one run, not the project; use --dry-run',
  check: 'it is about one run, not the project; use --check',
};

/** The keys `extra.composer-prefetch` accepts, among this program's long options. */
export function projectDefaultKeys(program: Command): string[] {
  return program.options.map((o) => o.long?.replace(/^--/, '')).filter((key): key is string => key !== undefined && PROJECT_SETTABLE.includes(key));
}

/**
 * Reads composer.json `extra.composer-prefetch` and applies it below the environment variables and
 * the command line: a value is used only where the option still has its built-in default. Each
 * value goes through the option's own parser, so it is checked and worded as the flag would be;
 * a bad one stops the run (exit 2) naming the file and key. Call after `program.parse`.
 */
export async function applyProjectDefaults(
  program: Command,
  context: { readonly cwd: string; readonly env: Readonly<Record<string, string | undefined>> },
): Promise<void> {
  let defaults: ProjectDefaults | undefined;
  try {
    defaults = await readProjectDefaults(context);
  } catch (error) {
    // A malformed composer.json is reported once, where the project's config is read
    // (loadComposerConfig), with the JSON error document a --json consumer expects.
    if (error instanceof JsonInputError) return;
    if (error instanceof PrefetchError)
      program.error(error.hint === undefined ? error.message : `${error.message}\n  ${error.hint}`, { exitCode: 2, code: 'composer-prefetch.projectDefaults' });
    throw error;
  }
  if (defaults === undefined) return;
  const allowed = projectDefaultKeys(program);
  for (const [key, raw] of Object.entries(defaults.values)) {
    const where = `${defaults.file}: extra.${PROJECT_DEFAULTS_KEY}.${key}`;
    const option = allowed.includes(key) ? program.options.find((o) => o.long === `--${key}`) : undefined;
    if (option === undefined && REFUSED[key] !== undefined) {
      program.error(`${where} is not an option a project can set: ${REFUSED[key]}.`, { exitCode: 2, code: 'composer-prefetch.projectDefaults' });
    }
    if (option === undefined) {
      program.error(`${where} is not an option a project can set; use one of: ${allowed.join(', ')}`, {
        exitCode: 2,
        code: 'composer-prefetch.projectDefaults',
      });
    }
    let value: unknown;
    try {
      value = optionValue(option, raw);
    } catch (error) {
      if (!(error instanceof InvalidArgumentError)) throw error;
      program.error(`${where} = ${redactText(JSON.stringify(raw) ?? String(raw))} is not valid for ${option.long}: ${error.message}`, {
        exitCode: 2,
        code: 'composer-prefetch.projectDefaults',
      });
    }
    const attribute = option.attributeName();
    const source = program.getOptionValueSource(attribute);
    const envName = envNameFor(option);
    // A flag or a COMPOSER_PREFETCH_* variable (even one that turns a flag off) wins.
    if ((source !== undefined && source !== 'default') || (envName !== undefined && context.env[envName] !== undefined)) continue;
    program.setOptionValueWithSource(attribute, value, 'config');
  }
}

/** A JSON value as the option's own parser would have produced it from the command line. */
function optionValue(option: Option, raw: unknown): unknown {
  const takesValue = option.required || option.optional;
  if (!takesValue) {
    if (typeof raw !== 'boolean') throw new InvalidArgumentError('use true or false.');
    return option.negate ? !raw : raw;
  }
  const repeatable = Array.isArray(option.defaultValue);
  const items = Array.isArray(raw) && repeatable ? raw : [raw];
  let value: unknown = repeatable ? [] : undefined;
  for (const item of items) {
    if (typeof item !== 'string' && typeof item !== 'number') {
      throw new InvalidArgumentError(repeatable ? 'use a string or an array of strings.' : 'use a string or a number.');
    }
    value = option.parseArg ? option.parseArg(String(item), value) : String(item);
  }
  return value;
}
