/** Test-only helpers for the aria2 backend: a minimal lock project, process lookup via /proc, cache listings. */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';

export const sha1 = (b: Buffer): string => createHash('sha1').update(b).digest('hex');

export interface LockPackage {
  readonly name: string;
  readonly url: string;
  readonly type?: string;
  readonly shasum?: string;
  readonly mirrors?: readonly string[];
}

/** A project dir with composer.json (secure-http off: the test server is plain http) and a composer.lock. */
export async function writeLockProject(dir: string, packages: readonly LockPackage[]): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, 'composer.json'), JSON.stringify({ name: 'test/aria2', config: { 'secure-http': false } }));
  const lock = {
    'content-hash': 'x',
    packages: packages.map((p) => ({
      name: p.name,
      version: '1.0.0',
      type: 'library',
      dist: {
        type: p.type ?? 'zip',
        url: p.url,
        reference: sha1(Buffer.from(p.name)),
        shasum: p.shasum ?? '',
        ...(p.mirrors ? { mirrors: p.mirrors.map((url) => ({ url, preferred: false })) } : {}),
      },
    })),
    'packages-dev': [],
  };
  await writeFile(path.join(dir, 'composer.lock'), JSON.stringify(lock, null, 2));
}

/** The real aria2c must be there: CI installs it, and these tests fail (never skip) without it. */
export async function assertAria2cInstalled(): Promise<void> {
  const r = await execa('aria2c', ['--version'], { reject: false });
  assert.equal(r.exitCode, 0, 'aria2c is not installed: `apt-get install aria2` (CI: .ci/run installs it)');
}

/** Pids of the direct children of `pid` whose command name is `comm`, read from /proc. */
export function childrenNamed(pid: number, comm: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      const name = stat.slice(stat.indexOf('(') + 1, close);
      const ppid = Number(stat.slice(close + 2).split(' ')[1]);
      if (ppid === pid && name === comm) found.push(Number(entry));
    } catch {
      // The process ended while we looked.
    }
  }
  return found;
}

export function cmdlineOf(pid: number): string[] {
  return readFileSync(`/proc/${pid}/cmdline`, 'utf8')
    .split('\0')
    .filter((a) => a !== '');
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Every file and directory under `dir`, relative, sorted; [] when it does not exist. */
export async function listTree(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.map((e) => path.relative(dir, path.join(e.parentPath, e.name)) + (e.isDirectory() ? '/' : '')).sort();
}

/** Names that must never be left in the cache: aria2 staging dirs, control files, our temp and part files. */
export function leftovers(tree: readonly string[]): string[] {
  return tree.filter((p) => /\.composer-prefetch-aria2-|\.aria2$|\.part$|\.cp-tmp$|rpc\.conf/.test(p));
}

export async function waitFor<T>(probe: () => T | undefined | Promise<T | undefined>, what: string, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
