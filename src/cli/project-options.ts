import { InvalidArgumentError, type Command, type Option } from 'commander';
import { PROJECT_DEFAULTS_KEY, readProjectDefaults, type ProjectDefaults } from '../config/project-defaults.js';
import { JsonInputError, PrefetchError } from '../errors.js';
import { redactText } from '../report/redact.js';
import { envNameFor } from './env-options.js';

/**
 * Options that are not project settings: what a run prints or does (`json`, `dry-run`, `check`),
 * where it looks (`cache-dir` is Composer's own `config.cache-dir`, read anyway), or a program to
 * run (`aria2c`): a checked-out pull request's composer.json is untrusted input.
 */
const NOT_PROJECT_DEFAULTS = new Set(['json', 'dry-run', 'check', 'cache-dir', 'working-dir', 'aria2c', 'help', 'version']);

/** The keys `extra.composer-prefetch` accepts: every other long option, without `--`. */
export function projectDefaultKeys(program: Command): string[] {
  return program.options
    .map((o) => o.long?.replace(/^--/, ''))
    .filter((key): key is string => key !== undefined && !NOT_PROJECT_DEFAULTS.has(key));
}

/**
 * Reads composer.json `extra.composer-prefetch` and applies it below the environment variables and
 * the command line: a value is used only where the option still has its built-in default. Each
 * value goes through the option's own parser, so it is checked and worded as the flag would be;
 * a bad one stops the run (exit 2) naming the file and key. Call after `program.parse`.
 */
export async function applyProjectDefaults(program: Command, context: { readonly cwd: string; readonly env: Readonly<Record<string, string | undefined>> }): Promise<void> {
  let defaults: ProjectDefaults | undefined;
  try {
    defaults = await readProjectDefaults(context);
  } catch (error) {
    // A malformed composer.json is reported once, where the project's config is read
    // (loadComposerConfig), with the JSON error document a --json consumer expects.
    if (error instanceof JsonInputError) return;
    if (error instanceof PrefetchError) program.error(error.hint === undefined ? error.message : `${error.message}\n  ${error.hint}`, { exitCode: 2, code: 'composer-prefetch.projectDefaults' });
    throw error;
  }
  if (defaults === undefined) return;
  const allowed = projectDefaultKeys(program);
  for (const [key, raw] of Object.entries(defaults.values)) {
    const where = `${defaults.file}: extra.${PROJECT_DEFAULTS_KEY}.${key}`;
    const option = allowed.includes(key) ? program.options.find((o) => o.long === `--${key}`) : undefined;
    if (option === undefined) {
      program.error(`${where} is not an option a project can set; use one of: ${allowed.join(', ')}`, { exitCode: 2, code: 'composer-prefetch.projectDefaults' });
    }
    let value: unknown;
    try {
      value = optionValue(option, raw);
    } catch (error) {
      if (!(error instanceof InvalidArgumentError)) throw error;
      program.error(`${where} = ${redactText(JSON.stringify(raw) ?? String(raw))} is not valid for ${option.long}: ${error.message}`, { exitCode: 2, code: 'composer-prefetch.projectDefaults' });
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
