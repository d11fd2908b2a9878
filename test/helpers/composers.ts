/**
 * The real Composers the end-to-end and golden tests are judged by: the system's (`composer` on
 * PATH: Debian bookworm's 2.5.5 in CI) and the newest Debian ships, which `.ci/newest-composer.sh`
 * unpacks into a folder of its own and runs with the system PHP. Users run 2.8 to 2.11, and what
 * changed in between (mirror folder names, filter-list requests) is only caught by running both.
 *
 * `.ci/run` calls the script once and hands the result down (COMPOSER_PREFETCH_TEST_NEWEST_COMPOSER,
 * or COMPOSER_PREFETCH_TEST_NEWEST_COMPOSER_SKIP with its reason); a plain `npm test` has each test
 * process call it here (its folder is cached, so after the first call that is one `--version`).
 * A newest Composer that cannot be had is a skipped case with the reason, never a pass.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { findComposerAutoload, requireComposer } from './composer-php.js';
import { repoRoot } from './run.js';

const execFileAsync = promisify(execFile);

export interface RealComposer {
  /** For test names: `2.11.0 (newest, Debian sid)`. */
  readonly label: string;
  /** The executable: `composer` from PATH, or the newest one's wrapper script. */
  readonly bin: string;
  /** `2.5.5`, `2.11.0`. */
  readonly version: string;
  /** Composer's class autoloader, for the golden tests that call Composer's own classes. */
  readonly autoload: string;
}

/** One Composer to run a test against, or the reason it cannot be run. */
export type ComposerCase =
  | { readonly label: string; readonly composer: RealComposer; readonly skip?: undefined }
  | { readonly label: string; readonly composer?: undefined; readonly skip: string };

export const NEWEST_ENV = 'COMPOSER_PREFETCH_TEST_NEWEST_COMPOSER';
export const NEWEST_SKIP_ENV = 'COMPOSER_PREFETCH_TEST_NEWEST_COMPOSER_SKIP';
const SCRIPT = path.join(repoRoot, '.ci', 'newest-composer.sh');

/** `Composer version 2.11.0 2026-10-29 10:23:20` → `2.11.0`. */
async function versionOf(bin: string): Promise<string> {
  const { stdout } = await execFileAsync(bin, ['--version', '--no-ansi'], {
    env: { ...process.env, COMPOSER_ALLOW_SUPERUSER: '1', COMPOSER_NO_INTERACTION: '1', COMPOSER_DISABLE_NETWORK: '1' },
    timeout: 60_000,
  });
  const match = /Composer (?:version )?(\d+\.\d+\.\d+\S*)/.exec(stdout);
  if (match === null) throw new Error(`${bin} --version printed no Composer version: ${stdout.trim()}`);
  return match[1]!;
}

/**
 * The autoloader of the Composer `bin` runs: the newest one's folder (`<dir>/bin/composer` wraps
 * `<dir>/root/usr/bin/composer`), else what `findComposerAutoload` finds beside it.
 */
function autoloadOf(bin: string): string {
  const real = realpathSync(bin);
  const unpacked = path.resolve(path.dirname(real), '..', 'root', 'usr', 'share', 'php', 'Composer', 'autoload.php');
  if (existsSync(unpacked)) return unpacked;
  const debian = path.resolve(path.dirname(real), '..', 'share', 'php', 'Composer', 'autoload.php');
  if (existsSync(debian)) return debian;
  if (readFileSync(real).includes('__HALT_COMPILER')) return `phar://${real}/vendor/autoload.php`;
  throw new Error(`cannot find Composer's autoloader beside ${bin}`);
}

/** The system's Composer. Missing, it fails the tests (CI installs it): a skip would hide drift. */
async function systemComposer(): Promise<ComposerCase> {
  const bin = requireComposer();
  const version = await versionOf(bin);
  return { label: `${version} (system)`, composer: { label: `${version} (system)`, bin: 'composer', version, autoload: findComposerAutoload() } };
}

/** Where the newest Composer is: the environment `.ci/run` set, else the script's answer. */
async function locateNewest(env: NodeJS.ProcessEnv): Promise<{ bin: string } | { skip: string }> {
  const given = env[NEWEST_ENV];
  if (given !== undefined && given !== '') return { bin: given };
  const reason = env[NEWEST_SKIP_ENV];
  if (reason !== undefined && reason !== '') return { skip: reason };
  try {
    // First call ~50 s (apt-get update + download); the script keeps the folder and locks it
    // against the other test processes asking at the same time.
    const { stdout } = await execFileAsync('bash', [SCRIPT], { env, timeout: 10 * 60_000, maxBuffer: 16 * 1024 * 1024 });
    const bin = stdout.trim().split('\n').at(-1) ?? '';
    return bin === '' ? { skip: `${SCRIPT} printed no path` } : { bin };
  } catch (error) {
    const e = error as { code?: unknown; stderr?: string; message: string };
    const why =
      (e.stderr ?? '')
        .trim()
        .split('\n')
        .filter((l) => l !== '')
        .at(-1) ?? e.message;
    return { skip: `.ci/newest-composer.sh cannot provide the newest Composer (exit ${String(e.code)}): ${why}` };
  }
}

async function newestComposer(env: NodeJS.ProcessEnv = process.env): Promise<ComposerCase> {
  const where = await locateNewest(env);
  if ('skip' in where) return { label: 'newest', skip: where.skip };
  try {
    const version = await versionOf(where.bin);
    const suite = /\/newest-composer\/([a-z]+)\/bin\/composer$/.exec(where.bin)?.[1] ?? /\/([a-z]+)\/bin\/composer$/.exec(where.bin)?.[1];
    const label = `${version} (newest${suite === undefined ? '' : `, Debian ${suite}`})`;
    return { label, composer: { label, bin: where.bin, version, autoload: autoloadOf(where.bin) } };
  } catch (error) {
    return { label: 'newest', skip: `the newest Composer ${where.bin} does not run: ${(error as Error).message.split('\n')[0]}` };
  }
}

/**
 * The Composers to run each real-Composer test against, labelled: the system's, then the newest
 * (or its skip reason). Both are the same Composer when the system already has the newest.
 */
export const composers: readonly ComposerCase[] = await Promise.all([systemComposer(), newestComposer()]);

/** The newest Composer alone, for tests of what only newer Composers do (or its skip reason). */
export const newest: ComposerCase = composers[1]!;

/** `[composer 2.11.0] <title>`: the label every real-Composer test name starts with. */
export function titled(c: ComposerCase, title: string): string {
  return `[composer ${c.composer?.version ?? c.label}] ${title}`;
}
