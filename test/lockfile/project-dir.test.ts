import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { groupByProject, projectOf } from '../../src/lockfile/project-dir.js';
import type { ParsedInput } from '../../src/lockfile/types.js';

const cwd = path.resolve('/work/repo');

describe('the project an input belongs to', () => {
  it('a lock: its directory and the composer.json of the same name', () => {
    assert.deepEqual(projectOf('apps/one/composer.lock', cwd, undefined), { dir: path.join(cwd, 'apps/one'), composerFile: 'composer.json' });
    assert.deepEqual(projectOf('composer-dev.lock', cwd, 'composer-dev.json'), { dir: cwd, composerFile: 'composer-dev.json' });
    assert.deepEqual(projectOf('/abs/x/legacy.lock', cwd, undefined), { dir: path.resolve('/abs/x'), composerFile: 'legacy.json' });
  });

  it('installed.json: the project three levels up; stdin and package lists: the working directory', () => {
    assert.deepEqual(projectOf('apps/one/vendor/composer/installed.json', cwd, undefined), { dir: path.join(cwd, 'apps/one'), composerFile: 'composer.json' });
    assert.deepEqual(projectOf('<stdin>', cwd, 'c.json'), { dir: cwd, composerFile: 'c.json' });
    assert.deepEqual(projectOf('packages.json', cwd, undefined), { dir: cwd, composerFile: 'composer.json' });
  });

  it('groups inputs by project, in input order', () => {
    const input = (origin: string): ParsedInput => ({ origin, kind: 'composer.lock', packages: [], problems: [] });
    const groups = groupByProject([input('b/composer.lock'), input('a/composer.lock'), input('b/vendor/composer/installed.json')], cwd, undefined);
    assert.deepEqual(
      groups.map((g) => [path.relative(cwd, g.dir), g.inputs.map((i) => i.origin)]),
      [
        ['b', ['b/composer.lock', 'b/vendor/composer/installed.json']],
        ['a', ['a/composer.lock']],
      ],
    );
  });
});
