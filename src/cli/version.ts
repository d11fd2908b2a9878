import { readFileSync } from 'node:fs';

interface PackageJson {
  readonly name?: unknown;
  readonly version?: unknown;
  readonly bugs?: { readonly url?: unknown };
}

/**
 * Our package.json: two folders up from dist/cli/ (the package), three from build-test/src/cli/
 * (the tests' build); undefined when neither is ours.
 */
function packageJson(): PackageJson | undefined {
  for (const candidate of ['../../package.json', '../../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(candidate, import.meta.url), 'utf8')) as PackageJson;
      if (pkg.name === 'composer-prefetch') return pkg;
    } catch {
      // Not there (or not JSON): the next candidate.
    }
  }
  return undefined;
}

/** The package's version from package.json ('0.0.0' when it cannot be read). */
export function packageVersion(): string {
  const version = packageJson()?.version;
  return typeof version === 'string' ? version : '0.0.0';
}

/** Where bugs are reported: package.json `bugs.url` (undefined when it cannot be read). */
export function issuesUrl(): string | undefined {
  const url = packageJson()?.bugs?.url;
  return typeof url === 'string' ? url : undefined;
}

/** What `--version` prints (without the newline). */
export function versionLine(version = packageVersion()): string {
  return `composer-prefetch ${version} (Node ${process.version})`;
}
