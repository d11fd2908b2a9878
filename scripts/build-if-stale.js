#!/usr/bin/env node
// `npm start` in a clone: builds dist/ only when it is missing or older than a source file or a
// tsconfig, so a start after a start costs no compile (tsc takes seconds; the CLI starts in ms).
// Not published: the package ships a built dist/ (`prepack`).
import { execFileSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const built = statOrUndefined(path.join(root, 'dist', 'cli', 'main.js'));

function statOrUndefined(file) {
  try {
    return statSync(file);
  } catch {
    return undefined;
  }
}

/** The newest mtime among `dir`'s files, recursively. */
function newest(dir) {
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    latest = Math.max(latest, entry.isDirectory() ? newest(full) : statSync(full).mtimeMs);
  }
  return latest;
}

const sources = Math.max(newest(path.join(root, 'src')), ...['tsconfig.json', 'tsconfig.build.json'].map((f) => statSync(path.join(root, f)).mtimeMs));
if (built === undefined || built.mtimeMs < sources) {
  process.stderr.write('composer-prefetch: building dist/ (tsc)\n');
  // npm puts node_modules/.bin on PATH for its scripts, so this is the project's own tsc. Its
  // output (errors included) goes to stderr: `npm start --silent -- --json` keeps stdout JSON.
  try {
    execFileSync('tsc', ['-p', 'tsconfig.build.json'], { cwd: root, stdio: ['ignore', 2, 2] });
  } catch (error) {
    process.exitCode = typeof error.status === 'number' ? error.status : 2;
  }
}
