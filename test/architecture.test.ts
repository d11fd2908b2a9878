import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { repoRoot } from './helpers/run.js';

const srcDir = path.join(repoRoot, 'src');

/**
 * Layers, lowest first. A module imports its own folder and lower layers only; two folders of one
 * layer do not import each other. `types.ts` is the pipeline's vocabulary every layer shares.
 */
const LAYERS: readonly (readonly string[])[] = [
  ['errors.ts'],
  ['types.ts', 'json.ts', 'php.ts', 'bytes.ts'],
  ['lockfile', 'net', 'verify'],
  ['plan', 'auth', 'cache'],
  ['config', 'report'],
  ['backends', 'vcs'],
  ['prefetch.ts'],
  ['index.ts', 'cli'],
];

/** Every `.ts` file under src, as a path relative to src with `/` separators. */
function sourceFiles(dir = srcDir): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(full);
    return entry.name.endsWith('.ts') ? [path.relative(srcDir, full).split(path.sep).join('/')] : [];
  });
}

/** Relative imports of one file, type-only ones included (they bind layers just the same). */
function importsOf(file: string): string[] {
  const text = readFileSync(path.join(srcDir, file), 'utf8');
  const specifiers = [
    ...text.matchAll(/^\s*(?:import|export)\b[^;]*?\bfrom\s+'(\.{1,2}\/[^']+)'/gm),
    ...text.matchAll(/\bimport\(\s*'(\.{1,2}\/[^']+)'\s*\)/g),
  ].map((m) => m[1]!);
  return specifiers.map((s) => path.posix.normalize(path.posix.join(path.posix.dirname(file), s)).replace(/\.js$/, '.ts'));
}

const unitOf = (file: string): string => file.split('/')[0]!;
const layerOf = (file: string): number => LAYERS.findIndex((units) => units.includes(unitOf(file)));

/** Each cycle once, as the list of files walked around it. */
function findCycles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  const cycles: string[][] = [];
  const state = new Map<string, 'active' | 'done'>();
  const stack: string[] = [];
  const visit = (file: string): void => {
    state.set(file, 'active');
    stack.push(file);
    for (const next of graph.get(file) ?? []) {
      if (state.get(next) === 'active') cycles.push([...stack.slice(stack.indexOf(next)), next]);
      else if (!state.has(next)) visit(next);
    }
    stack.pop();
    state.set(file, 'done');
  };
  for (const file of graph.keys()) if (!state.has(file)) visit(file);
  return cycles;
}

describe('architecture', () => {
  const files = sourceFiles();
  const graph = new Map(files.map((file) => [file, importsOf(file)]));

  it('finds the source and its imports', () => {
    assert.ok(files.includes('types.ts') && files.includes('prefetch.ts'));
    assert.ok(graph.get('prefetch.ts')!.includes('types.ts'));
  });

  it('src has no import cycle', () => {
    assert.deepEqual(
      findCycles(graph).map((cycle) => cycle.join(' -> ')),
      [],
    );
  });

  it('every source folder has a layer', () => {
    assert.deepEqual(
      files.filter((file) => layerOf(file) < 0),
      [],
    );
  });

  it('lower layers never import upper ones, nor folders of their own layer', () => {
    const wrong: string[] = [];
    for (const [file, imports] of graph) {
      for (const target of imports) {
        const sameUnit = unitOf(file) === unitOf(target);
        if (!sameUnit && layerOf(target) >= layerOf(file)) wrong.push(`${file} -> ${target}`);
      }
    }
    assert.deepEqual(wrong, []);
  });

  it('backends know tasks only as data: they import neither plan/ nor auth/', () => {
    const wrong = [...graph].flatMap(([file, imports]) =>
      unitOf(file) === 'backends' ? imports.filter((t) => unitOf(t) === 'plan' || unitOf(t) === 'auth').map((t) => `${file} -> ${t}`) : [],
    );
    assert.deepEqual(wrong, []);
  });

  it('no backend imports another; only pick-backend.ts knows them all', () => {
    // A backend is a module of backends/ that builds one (`create…Backend`).
    const backends = files.filter(
      (file) => unitOf(file) === 'backends' && /^export (?:async )?function create\w*Backend\b/m.test(readFileSync(path.join(srcDir, file), 'utf8')),
    );
    assert.ok(backends.includes('backends/native.ts') && backends.includes('backends/aria2.ts'), backends.join(', '));
    const wrong: string[] = [];
    for (const [file, imports] of graph) {
      if (file === 'backends/pick-backend.ts') continue;
      for (const target of imports) if (backends.includes(target) && target !== file) wrong.push(`${file} -> ${target}`);
    }
    assert.deepEqual(wrong, []);
  });

  it('types.ts holds types only', () => {
    const compiled = readFileSync(path.join(srcDir, 'types.ts'), 'utf8');
    assert.doesNotMatch(compiled, /^\s*export\s+(?:const|let|function|class|async)\b/m);
    assert.deepEqual(graph.get('types.ts'), ['errors.ts']);
  });
});
