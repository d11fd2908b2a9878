import path from 'node:path';
import type { ParsedInput } from './types.js';

/** The Composer project an input belongs to: its directory and its composer.json's name. */
export interface InputProject {
  /** Absolute: where `composer install` runs for this input, so where its config and auth.json live. */
  readonly dir: string;
  /** The composer.json file name Composer reads there (`COMPOSER`). */
  readonly composerFile: string;
}

export interface ProjectGroup extends InputProject {
  readonly inputs: readonly ParsedInput[];
}

/**
 * Pure. A lock belongs to the directory it sits in, with the composer.json of the same name
 * (`x.lock` ↔ `x.json`, `Factory::getLockFile` read backwards); `…/vendor/composer/installed.json`
 * to the project three levels up; stdin and other package lists to the working directory. This
 * is what makes `composer-prefetch 'apps/*\/composer.lock'` read each app's own `secure-http`,
 * `github-domains`, `cache-dir` and auth.json, as `composer install` in that app would.
 */
export function projectOf(origin: string, cwd: string, composerEnv: string | undefined): InputProject {
  const defaultFile = composerEnv !== undefined && composerEnv !== '' ? composerEnv : 'composer.json';
  if (origin === '<stdin>') return { dir: cwd, composerFile: defaultFile };
  const file = path.resolve(cwd, origin);
  if (/\.lock$/i.test(file)) return { dir: path.dirname(file), composerFile: `${path.basename(file).slice(0, -'.lock'.length)}.json` };
  const parts = file.split(path.sep);
  if (parts.slice(-3).join('/') === 'vendor/composer/installed.json') return { dir: parts.slice(0, -3).join(path.sep) || path.sep, composerFile: defaultFile };
  return { dir: cwd, composerFile: defaultFile };
}

/** Inputs grouped by project, in input order (the first project is the one reported as "the" cache). */
export function groupByProject(inputs: readonly ParsedInput[], cwd: string, composerEnv: string | undefined): ProjectGroup[] {
  const groups = new Map<string, { project: InputProject; inputs: ParsedInput[] }>();
  for (const input of inputs) {
    const project = projectOf(input.origin, cwd, composerEnv);
    const key = path.join(project.dir, project.composerFile);
    const group = groups.get(key) ?? { project, inputs: [] };
    group.inputs.push(input);
    groups.set(key, group);
  }
  return [...groups.values()].map(({ project, inputs: list }) => ({ ...project, inputs: list }));
}
