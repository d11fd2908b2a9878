import path from 'node:path';

/**
 * Where Composer's `cafile` / `capath` point (project config over global), resolved against the
 * project's folder. A leaf module: the git stage needs it without loading undici.
 */
export function caLocations(
  sections: readonly (Readonly<Record<string, unknown>> | undefined)[],
  cwd: string,
): { cafile: string | undefined; capath: string | undefined } {
  let cafile: string | undefined;
  let capath: string | undefined;
  for (const section of sections) {
    if (typeof section?.['cafile'] === 'string' && section['cafile'] !== '') cafile = path.resolve(cwd, section['cafile']);
    if (typeof section?.['capath'] === 'string' && section['capath'] !== '') capath = path.resolve(cwd, section['capath']);
  }
  return { cafile, capath };
}
