import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { PrefetchError } from '../errors.js';
import { isRecord, parseSecretJson } from '../json.js';

/** The key under composer.json `extra` that holds the project's defaults. */
export const PROJECT_DEFAULTS_KEY = 'composer-prefetch';

/** `composer.json` → `extra.composer-prefetch`: option names (long, without `--`) to JSON values. */
export interface ProjectDefaults {
  /** The composer.json as the user would name it (relative to the working directory when inside it). */
  readonly file: string;
  readonly values: Readonly<Record<string, unknown>>;
}

/**
 * Pure. The defaults block of a parsed composer.json, or undefined when it has none. Anything but
 * an object there is an error naming the file and key.
 */
export function projectDefaultsOf(composerJson: unknown, file: string): ProjectDefaults | undefined {
  if (!isRecord(composerJson)) return undefined;
  const extra = composerJson['extra'];
  if (!isRecord(extra) || !(PROJECT_DEFAULTS_KEY in extra)) return undefined;
  const values = extra[PROJECT_DEFAULTS_KEY];
  if (!isRecord(values)) {
    throw new PrefetchError(
      'E_USAGE',
      `${file}: extra.${PROJECT_DEFAULTS_KEY} must be an object of option names and values, e.g. {"no-dev": true, "backend": "aria2"}`,
    );
  }
  return { file, values };
}

/**
 * Reads the working directory's composer.json (the name in `COMPOSER`, as Composer does). A missing
 * file means no defaults. A malformed one is reported by position only: composer.json can hold
 * credentials, so its text is never quoted.
 */
export async function readProjectDefaults(options: {
  readonly cwd: string;
  readonly env: Readonly<Record<string, string | undefined>>;
}): Promise<ProjectDefaults | undefined> {
  const composerEnv = (options.env['COMPOSER'] ?? '').trim();
  const absolute = path.resolve(options.cwd, composerEnv !== '' && composerEnv !== '0' ? composerEnv : 'composer.json');
  const relative = path.relative(options.cwd, absolute);
  const file = relative !== '' && !relative.startsWith('..') && !path.isAbsolute(relative) ? relative : absolute;
  let text: string;
  try {
    text = await readFile(absolute, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw new PrefetchError('E_INPUT', `${file}: cannot read it for extra.${PROJECT_DEFAULTS_KEY}: ${code ?? String(error)}`, { cause: error });
  }
  // composer.json may hold credentials: position only, the same error `loadComposerConfig` gives.
  const parsed = parseSecretJson(text, file);
  return projectDefaultsOf(parsed, file);
}
