/**
 * Test-only: locating and running the real Composer / PHP for golden tests. These tests must FAIL
 * (not skip) when the tools are missing: CI installs them, and a silent skip would hide drift.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import path from 'node:path';

function which(command: string): string | undefined {
  for (const dir of (process.env['PATH'] ?? '').split(path.delimiter)) {
    if (dir === '') continue;
    const candidate = path.join(dir, command);
    if (existsSync(candidate)) return candidate;
  }
  return undefined;
}

/** Throws a clear error when `php` is not installed. */
export function requirePhp(): string {
  const php = which('php');
  if (php === undefined) throw new Error('golden test needs `php` on PATH (CI installs php-cli); it is missing');
  return php;
}

/** Throws a clear error when `composer` is not installed. */
export function requireComposer(): string {
  const composer = which('composer');
  if (composer === undefined) throw new Error('golden test needs `composer` on PATH (CI installs Composer 2.x); it is missing');
  return composer;
}

/**
 * Composer's class autoloader: `COMPOSER_AUTOLOAD` if set; the Debian layout
 * (/usr/share/php/Composer/autoload.php, what /usr/bin/composer requires); or, for composer.phar,
 * `phar://…/vendor/autoload.php`.
 */
export function findComposerAutoload(): string {
  const fromEnv = process.env['COMPOSER_AUTOLOAD'];
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  const composer = realpathSync(requireComposer());
  const debian = path.resolve(path.dirname(composer), '../share/php/Composer/autoload.php');
  if (existsSync(debian)) return debian;
  if (existsSync('/usr/share/php/Composer/autoload.php')) return '/usr/share/php/Composer/autoload.php';
  if (readFileSync(composer).includes('__HALT_COMPILER')) return `phar://${composer}/vendor/autoload.php`;
  throw new Error(`cannot find Composer's autoloader next to ${composer}; set COMPOSER_AUTOLOAD`);
}

/** Runs a PHP script with one JSON argument file and parses its JSON stdout. */
export function runPhpJson(script: string, requestFile: string): unknown {
  const php = requirePhp();
  const result = spawnSync(php, [script, requestFile], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, timeout: 60_000 });
  if (result.error) throw result.error;
  if (result.status !== 0) throw new Error(`php ${script} failed (${result.status}):\n${result.stderr}\n${result.stdout}`);
  return JSON.parse(result.stdout) as unknown;
}

/** `composer --version` output, for messages. */
export function composerVersion(): string {
  return execFileSync(requireComposer(), ['--version', '--no-ansi'], {
    encoding: 'utf8',
    env: { ...process.env, COMPOSER_ALLOW_SUPERUSER: '1', COMPOSER_NO_INTERACTION: '1', COMPOSER_DISABLE_NETWORK: '1' },
  }).trim();
}
