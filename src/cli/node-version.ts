/**
 * The Node.js version gate. This module imports nothing and uses only syntax and APIs that Node 14
 * and later understand, so `bin/composer-prefetch.js` can load it on any Node and say what is
 * wrong before it imports the CLI (which needs Node 20 APIs such as `crc32` from `node:zlib`).
 */

/** The oldest Node.js the package supports; package.json `engines.node` says `>=` this (a test keeps them equal). */
export const MINIMUM_NODE_VERSION = '20.18.1';

/** `major.minor.patch` of a version string (`v18.20.4`, `20.18.1-pre`); missing parts are 0. */
function versionParts(version: string): number[] {
  const match = /^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?/.exec(version.trim());
  if (!match) return [];
  return [Number(match[1]), Number(match[2] ?? 0), Number(match[3] ?? 0)];
}

/** True when `version` is at least `minimum`; an unparseable version is not trusted. */
export function satisfiesMinimum(version: string, minimum: string = MINIMUM_NODE_VERSION): boolean {
  const have = versionParts(version);
  const need = versionParts(minimum);
  if (have.length === 0 || need.length === 0) return false;
  for (let i = 0; i < 3; i++) {
    if (have[i]! !== need[i]!) return have[i]! > need[i]!;
  }
  return true;
}

/** The one line the bin prints on an unsupported Node, or undefined when this Node will do. */
export function nodeVersionProblem(version: string, minimum: string = MINIMUM_NODE_VERSION): string | undefined {
  if (satisfiesMinimum(version, minimum)) return undefined;
  return `composer-prefetch needs Node.js >= ${minimum} (this is ${version.replace(/^v/, '')})`;
}
