import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';

export interface RunResult {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly signal: string | undefined;
}

/** Repository root: the nearest folder up with our package.json (tests may be compiled elsewhere), else cwd. */
export const repoRoot = findRepoRoot(import.meta.dirname) ?? process.cwd();
/** The CLI under test; CP_TEST_BIN points at another build (a main.js) when several builds coexist. */
export const binPath = process.env['CP_TEST_BIN'] ?? path.join(repoRoot, 'bin', 'composer-prefetch.js');

function findRepoRoot(start: string): string | undefined {
  for (let dir = start; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'package.json')) && existsSync(path.join(dir, 'bin', 'composer-prefetch.js'))) return dir;
    if (path.dirname(dir) === dir) return undefined;
  }
}
export const fixturesDir = path.join(repoRoot, 'test', 'fixtures');

export async function tempDir(prefix = 'cp-test-'): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/**
 * A project for a loopback dist server: `dir` made, composer.json with secure-http off (the test
 * servers are plain http) and a composer.lock listing `packages` and `packagesDev`.
 */
export async function writeHttpProject(dir: string, packages: readonly unknown[], packagesDev: readonly unknown[] = []): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, 'composer.json'), JSON.stringify({ config: { 'secure-http': false } }));
  await writeFile(path.join(dir, 'composer.lock'), JSON.stringify({ 'content-hash': 'x', packages, 'packages-dev': packagesDev }, null, 2));
}

/**
 * A Composer project that `composer install` accepts as is: composer.json requiring every locked
 * package (minimum-stability dev, the given `config`) and a composer.lock with the fields Composer
 * reads (`packages` as given; `packages-dev` empty).
 */
export async function writeComposerProject(
  dir: string,
  packages: readonly { readonly name: string; readonly version: string }[],
  config: Record<string, unknown> = { 'secure-http': false },
): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(
    path.join(dir, 'composer.json'),
    JSON.stringify({ require: Object.fromEntries(packages.map((p) => [p.name, p.version])), 'minimum-stability': 'dev', config }),
  );
  await writeFile(path.join(dir, 'composer.lock'), composerLock(packages));
}

/** A composer.lock (as text) with the fields `composer install` reads, listing `packages` (none dev). */
export function composerLock(packages: readonly unknown[]): string {
  const lock = {
    'content-hash': 'x',
    packages,
    'packages-dev': [],
    'minimum-stability': 'dev',
    'stability-flags': {},
    'prefer-stable': false,
    'prefer-lowest': false,
    platform: [],
    'platform-dev': [],
  };
  return JSON.stringify(lock, null, 2);
}

/** An environment with nothing of the developer's machine in it: own HOME, own caches. */
export function isolatedEnv(root: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: process.env['PATH'] ?? '/usr/bin:/bin',
    HOME: path.join(root, 'home'),
    COMPOSER_HOME: path.join(root, 'home', '.composer'),
    COMPOSER_CACHE_DIR: path.join(root, 'cache'),
    COMPOSER_ALLOW_SUPERUSER: '1',
    COMPOSER_NO_INTERACTION: '1',
    COMPOSER_NO_AUDIT: '1',
    ...extra,
  };
}

/**
 * A Node process warning in a child's stderr (`(node:123) Warning: …`, `[DEP0005] DeprecationWarning`)
 * or an EBADF: throws, so every test that runs the CLI fails on one. Such a line means a bug (a file
 * descriptor closed twice, say) even when the run's result looks right.
 */
export function assertNoProcessWarning(stderr: string, what = 'the CLI'): void {
  const line = stderr.split('\n').find((l) => /\(node:\d+\) (?:\[\w+\] )?\w*Warning:|EBADF/.test(l));
  if (line !== undefined) throw new Error(`${what} printed a process warning: ${line}`);
}

export async function runCli(
  args: readonly string[],
  options: { cwd: string; env: Record<string, string>; input?: string; timeoutMs?: number },
): Promise<RunResult> {
  const r = await execa(process.execPath, [binPath, ...args], {
    cwd: options.cwd,
    env: options.env,
    extendEnv: false,
    reject: false,
    timeout: options.timeoutMs ?? 120_000,
    ...(options.input === undefined ? { stdin: 'ignore' as const } : { input: options.input }),
  });
  assertNoProcessWarning(String(r.stderr));
  return { exitCode: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr), signal: r.signal };
}

/** Runs a real Composer: `options.composer` (a `RealComposer.bin` of test/helpers/composers.ts), else `composer` from PATH. */
export async function runComposer(
  args: readonly string[],
  options: { cwd: string; env: Record<string, string>; composer?: string | undefined },
): Promise<RunResult> {
  const r = await execa(options.composer ?? 'composer', [...args], { cwd: options.cwd, env: options.env, extendEnv: false, reject: false, timeout: 300_000 });
  return { exitCode: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr), signal: r.signal };
}
