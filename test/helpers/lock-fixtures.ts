/**
 * Test-only: turns the fixture locks / installed.json files into `ParsedInput` with a deliberately
 * small, independent reader, so the planning tests do not depend on the real input parser.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { DistMirror, LockedPackage, ParsedInput } from '../../src/lockfile/types.js';
import { repoRoot } from './run.js';

/** Repository root, from build-test/test/helpers (compiled) or test/helpers (source). */
export const REPO_ROOT = repoRoot;
export const LOCKS_DIR = path.join(REPO_ROOT, 'test', 'fixtures', 'locks');

export const FIXTURE_FILES = [
  'crmeb-aliyun-mirror.composer.lock',
  'installed-v1.json',
  'installed-v2.json',
  'laravel-firefly-iii-composer1.composer.lock',
  'laravel-firefly-iii.composer.lock',
  'library-composer.composer.lock',
  'mautic.composer.lock',
  'nextcloud-3rdparty.composer.lock',
  'symfony-demo.composer.lock',
  'tiny-composer-2012.composer.lock',
  'wordpress-bedrock.composer.lock',
] as const;

export const HANDMADE_LOCK = 'handmade-edge-cases.composer.lock';

type Json = Record<string, unknown>;

function str(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

export function toLockedPackage(raw: Json, dev: boolean, origin: string): LockedPackage {
  const dist = raw['dist'] as Json | undefined;
  const extra = raw['extra'] as Json | undefined;
  const mirrors = (dist?.['mirrors'] as Json[] | undefined) ?? [];
  return {
    name: String(raw['name']),
    version: String(raw['version']),
    versionNormalized: str(raw['version_normalized']),
    type: typeof raw['type'] === 'string' ? raw['type'] : 'library',
    dist:
      dist === undefined
        ? undefined
        : {
            type: String(dist['type'] ?? ''),
            url: String(dist['url'] ?? ''),
            reference: str(dist['reference']),
            shasum: str(dist['shasum']),
            mirrors: mirrors.map((m): DistMirror => ({ url: String(m['url']), preferred: m['preferred'] === true })),
          },
    hasSource: raw['source'] !== undefined,
    dev,
    origin,
    modifiesDownloads: extra?.['plugin-modifies-downloads'] === true,
  };
}

export function loadFixture(file: string, origin = file): ParsedInput {
  const data = JSON.parse(readFileSync(path.join(LOCKS_DIR, file), 'utf8')) as unknown;
  if (Array.isArray(data)) {
    return { origin, kind: 'installed.json (v1)', packages: (data as Json[]).map((p) => toLockedPackage(p, false, origin)), problems: [] };
  }
  const obj = data as Json;
  if ('dev-package-names' in obj) {
    const devNames = new Set(obj['dev-package-names'] as string[]);
    const packages = (obj['packages'] as Json[]).map((p) => toLockedPackage(p, devNames.has(String(p['name'])), origin));
    return { origin, kind: 'installed.json (v2)', packages, problems: [] };
  }
  const prod = (obj['packages'] as Json[]).map((p) => toLockedPackage(p, false, origin));
  const dev = ((obj['packages-dev'] as Json[] | null | undefined) ?? []).map((p) => toLockedPackage(p, true, origin));
  return { origin, kind: 'composer.lock', packages: [...prod, ...dev], problems: [] };
}
