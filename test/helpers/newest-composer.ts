/**
 * Test-only: the newest Composer Debian ships, from `.ci/newest-composer.sh` (cached between runs).
 * `.ci/run` calls the script once and exports `COMPOSER_PREFETCH_TEST_NEWEST_COMPOSER`; a plain
 * `npm test` calls it here. When it cannot be had, tests skip with the script's reason, never pass.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);

export type NewestComposer = { readonly bin: string; readonly root: string; readonly version: string } | { readonly skip: string };

let found: Promise<NewestComposer> | undefined;

/** The wrapper (`<dir>/bin/composer`), its unpacked root (`<dir>/root`) and its version, or why not. */
export function newestComposer(): Promise<NewestComposer> {
  found ??= locate();
  return found;
}

async function locate(): Promise<NewestComposer> {
  const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
  let bin = process.env['COMPOSER_PREFETCH_TEST_NEWEST_COMPOSER'];
  if (bin === undefined || bin === '') {
    const reason = process.env['COMPOSER_PREFETCH_TEST_NEWEST_COMPOSER_SKIP'];
    if (reason !== undefined && reason !== '') return { skip: `newest Composer unavailable: ${reason}` };
    try {
      bin = (await run('bash', [path.join(repo, '.ci/newest-composer.sh')], { encoding: 'utf8', timeout: 600_000 })).stdout.trim();
    } catch (error) {
      const stderr = String((error as { stderr?: string }).stderr ?? (error as Error).message).trim().split('\n').at(-1);
      return { skip: `newest Composer unavailable: ${stderr}` };
    }
  }
  const version = (await run(bin, ['--version', '--no-ansi'], { encoding: 'utf8', env: { ...process.env, COMPOSER_ALLOW_SUPERUSER: '1' } })).stdout.match(/Composer version (\S+)/)?.[1] ?? 'unknown';
  return { bin, root: path.join(path.dirname(path.dirname(bin)), 'root'), version };
}
