import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { JsonInputError, PrefetchError } from '../../src/errors.js';
import { parseJson } from '../../src/json.js';
import { parseInput } from '../../src/lockfile/parse-input.js';
import { defaultLockFile, readInputs } from '../../src/lockfile/read-inputs.js';
import { fixturesDir, tempDir } from '../helpers/run.js';

const fixture = (name: string): unknown => parseJson(readFileSync(path.join(fixturesDir, 'locks', name), 'utf8'), name);

// Counts from ../shared/fixtures/locks/README.md (packages, packages-dev, entries with a dist).
const LOCKS: [file: string, prod: number, dev: number, withDist: number][] = [
  ['crmeb-aliyun-mirror.composer.lock', 92, 0, 89],
  ['laravel-firefly-iii-composer1.composer.lock', 94, 67, 161],
  ['laravel-firefly-iii.composer.lock', 133, 51, 184],
  ['library-composer.composer.lock', 30, 6, 36],
  ['mautic.composer.lock', 198, 58, 256 - 3],
  ['nextcloud-3rdparty.composer.lock', 93, 0, 92],
  ['symfony-demo.composer.lock', 99, 54, 153],
  ['tiny-composer-2012.composer.lock', 5, 0, 5],
  ['wordpress-bedrock.composer.lock', 15, 55, 70],
];

describe('parseInput', () => {
  for (const [file, prod, dev, withDist] of LOCKS) {
    it(`reads ${file}`, () => {
      const parsed = parseInput(fixture(file), file);
      assert.equal(parsed.kind, 'composer.lock');
      assert.deepEqual(parsed.problems, []);
      assert.equal(parsed.packages.filter((p) => !p.dev).length, prod);
      assert.equal(parsed.packages.filter((p) => p.dev).length, dev);
      assert.equal(parsed.packages.filter((p) => p.dist).length, withDist);
    });
  }

  it('reads installed.json v1 (a top-level array) and v2 (with dev-package-names)', () => {
    const v1 = parseInput(fixture('installed-v1.json'), 'vendor/composer/installed.json');
    assert.equal(v1.kind, 'installed.json (v1)');
    assert.equal(v1.packages.length, 88);
    assert.ok(v1.packages.every((p) => p.versionNormalized !== undefined));
    const v2 = parseInput(fixture('installed-v2.json'), 'installed.json');
    assert.equal(v2.kind, 'installed.json (v2)');
    assert.equal(v2.packages.length, 93);
    const marked = parseInput(
      {
        packages: [
          { name: 'a/b', version: '1.0.0' },
          { name: 'c/d', version: '1.0.0' },
        ],
        dev: true,
        'dev-package-names': ['C/D'],
      },
      'installed.json',
    );
    assert.deepEqual(
      marked.packages.map((p) => p.dev),
      [false, true],
    );
  });

  it('keeps the mirrors, normalises empty shasum/reference and a missing reference', () => {
    const crmeb = parseInput(fixture('crmeb-aliyun-mirror.composer.lock'), 'x');
    const first = crmeb.packages.find((p) => p.dist)!;
    assert.deepEqual(first.dist!.mirrors, [{ url: 'https://mirrors.aliyun.com/composer/dists/%package%/%reference%.%type%', preferred: true }]);
    assert.equal(first.dist!.shasum, undefined);
    const bedrock = parseInput(fixture('wordpress-bedrock.composer.lock'), 'x');
    assert.equal(bedrock.packages.filter((p) => p.dist?.shasum !== undefined).length, 1);
    assert.ok(bedrock.packages.some((p) => p.dist && p.dist.reference === undefined));
  });

  it('reads a resolved set as an array or {packages}', () => {
    const entry = { name: 'Acme/Foo', version: '1.0.0', dist: { type: 'zip', url: 'https://example.com/foo.zip', reference: 'abc' } };
    assert.equal(parseInput([entry], '<stdin>').kind, 'resolved set');
    assert.equal(parseInput({ packages: [entry] }, 'set.json').packages[0]!.name, 'Acme/Foo');
  });

  it('reports a bad entry and keeps the others', () => {
    const parsed = parseInput(
      {
        packages: [
          { name: 'good/one', version: '1.0.0', dist: { type: 'zip', url: 'https://e.com/1.zip' } },
          'not an object',
          { version: '1.0.0' },
          { name: 'bad/dist', version: '1.0.0', dist: { type: 'zip' } },
          { name: 'bad/mirrors', version: '1.0.0', dist: { type: 'zip', url: 'https://e.com/x.zip', mirrors: [{ preferred: true }] } },
          { name: 'good/two', version: '1.0.0', dist: { type: 'zip', url: 'https://e.com/2.zip' } },
        ],
        'packages-dev': null,
        'content-hash': 'x',
      },
      'composer.lock',
    );
    assert.deepEqual(
      parsed.packages.map((p) => p.name),
      ['good/one', 'good/two'],
    );
    assert.deepEqual(
      parsed.problems.map((p) => [p.index, p.packageName]),
      [
        [1, undefined],
        [2, undefined],
        [3, 'bad/dist'],
        [4, 'bad/mirrors'],
      ],
    );
  });

  it('refuses a whole document of the wrong shape (E_INPUT), saying what it is', () => {
    const cases: [unknown, RegExp][] = [
      [{ hello: 'world' }, /not a composer\.lock.*no "packages" list/],
      [42, /the document is a number/],
      [null, /the document is null/],
      ['x', /the document is a string/],
      [{ packages: 'x' }, /"packages" is not a list/],
      [{ 'content-hash': 'x' }, /a composer\.lock without a "packages" list/],
      [{ 'content-hash': 'x', packages: [], 'packages-dev': 'x' }, /"packages-dev" is not a list/],
    ];
    for (const [json, message] of cases) {
      assert.throws(
        () => parseInput(json, 'x.json'),
        (error: unknown) => error instanceof PrefetchError && error.code === 'E_INPUT' && message.test(error.message),
        JSON.stringify(json),
      );
    }
  });

  it('a composer.json given instead of the lock: did you mean the lock beside it?', () => {
    assert.throws(
      () => parseInput({ name: 'acme/app', require: { 'acme/lib': '^1' } }, 'app/composer.json'),
      (error: unknown) => error instanceof PrefetchError && error.code === 'E_INPUT' && /did you mean app\/composer\.lock\?/.test(error.message),
    );
  });

  it('an empty package list is a valid (empty) input', () => {
    assert.equal(parseInput([], 'list.json').packages.length, 0);
    assert.equal(parseInput({ 'content-hash': 'x', packages: [], 'packages-dev': null }, 'composer.lock').packages.length, 0);
  });
});

describe('parseJson', () => {
  it('names the file, line and column of a syntax error', () => {
    const text = '{\n  "packages": [\n    {"name": "a/b",}\n  ]\n}';
    assert.throws(
      () => parseJson(text, 'composer.lock'),
      (error: unknown) => {
        assert.ok(error instanceof JsonInputError);
        assert.equal(error.code, 'E_JSON');
        assert.equal(error.file, 'composer.lock');
        assert.equal(error.line, 3);
        assert.ok(error.column !== undefined && error.column > 10);
        assert.match(error.message, /^composer\.lock:3:\d+: invalid JSON/);
        return true;
      },
    );
  });

  it('never quotes the text (a dist URL may carry a credential), and keeps the lock hint', () => {
    const text = '{"packages": [{"name": "a/b", "dist": {"url": "https://u:SECRET@h/x.zip" SECRET2}}]}';
    assert.throws(
      () => parseJson(text, 'composer.lock'),
      (error: unknown) => {
        assert.ok(error instanceof JsonInputError);
        assert.equal(error.message, "composer.lock:1:74: invalid JSON: expected ',' or '}' after property value");
        assert.match(error.hint ?? '', /composer update --lock/);
        assert.equal(error.cause, undefined);
        return true;
      },
    );
  });

  it('points at the end of a truncated file', () => {
    assert.throws(
      () => parseJson('{"packages": [', 'x.lock'),
      (error: unknown) => error instanceof JsonInputError && error.line === 1 && error.column === 15,
    );
  });
});

describe('readInputs', () => {
  it('maps COMPOSER to its lock like Composer does', () => {
    assert.equal(defaultLockFile(undefined), 'composer.lock');
    assert.equal(defaultLockFile('composer-dev.json'), 'composer-dev.lock');
    assert.equal(defaultLockFile('weird'), 'weird.lock');
  });

  it('expands globs, reads stdin, and fails clearly on a missing default lock', async () => {
    const { dir, cleanup } = await tempDir();
    try {
      for (const app of ['a', 'b']) {
        await mkdir(path.join(dir, 'apps', app), { recursive: true });
        await writeFile(path.join(dir, 'apps', app, 'composer.lock'), JSON.stringify({ packages: [], 'packages-dev': [], 'content-hash': app }));
      }
      const read = await readInputs(['apps/*/composer.lock', '-'], { cwd: dir, composerEnv: undefined, readStdin: async () => '[]' });
      assert.deepEqual(
        read.map((r) => r.origin),
        ['apps/a/composer.lock', 'apps/b/composer.lock', '<stdin>'],
      );

      // No composer.json either: Composer could not create the lock, so the hint is about the folder.
      await assert.rejects(readInputs([], { cwd: dir, composerEnv: undefined, readStdin: async () => '' }), (error: unknown) => {
        assert.ok(error instanceof PrefetchError);
        assert.equal(error.code, 'E_INPUT');
        assert.match(error.message, /no composer\.json either/);
        assert.doesNotMatch(error.hint ?? '', /composer update/);
        return true;
      });
      await writeFile(path.join(dir, 'composer.json'), '{}');
      await assert.rejects(readInputs([], { cwd: dir, composerEnv: undefined, readStdin: async () => '' }), (error: unknown) => {
        assert.ok(error instanceof PrefetchError);
        assert.equal(error.code, 'E_INPUT');
        assert.match(error.hint ?? '', /composer update/);
        return true;
      });
      await assert.rejects(readInputs(['nope/*.lock'], { cwd: dir, composerEnv: undefined, readStdin: async () => '' }), /matches no file/);
      await writeFile(path.join(dir, 'composer-dev.lock'), '[]');
      const dev = await readInputs([], { cwd: dir, composerEnv: 'composer-dev.json', readStdin: async () => '' });
      assert.equal(dev[0]!.origin, 'composer-dev.lock');
    } finally {
      await cleanup();
    }
  });
});
