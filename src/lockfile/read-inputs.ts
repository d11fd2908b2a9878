import { access, readFile } from 'node:fs/promises';
import path from 'node:path';
import { PrefetchError } from '../errors.js';
import { parseJson } from '../json.js';
import { parseInput } from './parse-input.js';
import type { ParsedInput } from './types.js';

export interface ReadInputsOptions {
  readonly cwd: string;
  /** Env `COMPOSER`: the composer.json name, whose lock sits beside it. */
  readonly composerEnv: string | undefined;
  readonly readStdin: () => Promise<string>;
}

/**
 * The lock Composer would read: `COMPOSER=composer-dev.json` → `composer-dev.lock`
 * (`Factory::getLockFile`: a `.json` suffix becomes `.lock`, anything else gets `.lock` appended).
 */
export function defaultLockFile(composerEnv: string | undefined): string {
  const composerJson = composerJsonName(composerEnv);
  return composerJson.endsWith('.json') ? `${composerJson.slice(0, -'.json'.length)}.lock` : `${composerJson}.lock`;
}

/** The project file Composer would read: env `COMPOSER`, else composer.json. */
function composerJsonName(composerEnv: string | undefined): string {
  return composerEnv !== undefined && composerEnv !== '' ? composerEnv : 'composer.json';
}

/** Expands globs, reads and parses every input; any unreadable or malformed file is fatal (exit 2). */
export async function readInputs(inputs: readonly string[], options: ReadInputsOptions): Promise<ParsedInput[]> {
  const files = await expandInputs(inputs, options);
  return Promise.all(
    files.map(async (file) => {
      if (file === '-') return parseInput(parseJson(await options.readStdin(), '<stdin>'), '<stdin>');
      const text = await readInputFile(file, options.cwd);
      return parseInput(parseJson(text, file), file);
    }),
  );
}

async function expandInputs(inputs: readonly string[], options: ReadInputsOptions): Promise<string[]> {
  if (inputs.length === 0) {
    const lock = defaultLockFile(options.composerEnv);
    try {
      await access(path.resolve(options.cwd, lock));
    } catch (error) {
      // `composer update --lock` needs a composer.json: without one, that advice fails too.
      const json = composerJsonName(options.composerEnv);
      const project = await access(path.resolve(options.cwd, json)).then(
        () => true,
        () => false,
      );
      throw new PrefetchError(
        'E_INPUT',
        project ? `No ${lock} in ${options.cwd}` : `No ${lock} in ${options.cwd}, and no ${json} either: this is not a Composer project`,
        {
          cause: error,
          hint: project
            ? `Run \`composer update --lock\` (or \`composer update\`) to create it, or pass the path: composer-prefetch path/to/composer.lock`
            : `Run composer-prefetch in the project's folder, or name it: composer-prefetch -d path/to/project (or pass the lock: composer-prefetch path/to/composer.lock)`,
        },
      );
    }
    return [lock];
  }
  const files: string[] = [];
  for (const input of inputs) {
    // fast-glob costs ~25 ms of startup: load it only when the input could be a pattern at all
    // (every glob construct isDynamicPattern knows needs one of these characters).
    const fg = input === '-' || !/[*?[\](){}!]/.test(input) ? undefined : (await import('fast-glob')).default;
    if (fg === undefined || !fg.isDynamicPattern(input)) {
      files.push(input);
      continue;
    }
    const matches = await fg(input, { cwd: options.cwd, onlyFiles: true, dot: false, unique: true, followSymbolicLinks: true });
    if (matches.length === 0) {
      throw new PrefetchError('E_INPUT', `The pattern ${input} matches no file in ${options.cwd}`, {
        hint: 'Quote the pattern so the shell does not expand it, and check the path.',
      });
    }
    files.push(...matches.sort());
  }
  return [...new Set(files)];
}

async function readInputFile(file: string, cwd: string): Promise<string> {
  const absolute = path.resolve(cwd, file);
  try {
    return await readFile(absolute, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'does not exist' : code === 'EISDIR' ? 'is a directory' : code === 'EACCES' ? 'is not readable' : 'cannot be read';
    // A relative path is read from the working directory (or -d's): say which file that was.
    const where = path.isAbsolute(file) ? '' : ` (looked for ${absolute})`;
    // A project folder given where a lock is expected: Composer's way to name a project is -d.
    const lockInside =
      code === 'EISDIR' &&
      (await access(path.join(absolute, 'composer.lock')).then(
        () => true,
        () => false,
      ));
    const hint =
      code === 'EISDIR'
        ? `To run in that project, use -d: composer-prefetch -d ${file}${lockInside ? ` (or pass ${path.join(file, 'composer.lock')})` : ''}`
        : 'Pass the path of a composer.lock, an installed.json or a JSON package list.';
    throw new PrefetchError('E_INPUT', `${file} ${why}${where}`, { cause: error, hint });
  }
}
