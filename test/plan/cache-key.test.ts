import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { cacheKeyFor, cachePathFor, isValidPackageName, sanitizeCacheKey } from '../../src/plan/cache-key.js';

const CACHE = '/var/cache/composer/files';
const URL = 'https://api.github.com/repos/a/b/zipball/abc';

function inside(dir: string, file: string): boolean {
  const rel = path.relative(dir, file);
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
}

describe('isValidPackageName', () => {
  it('accepts Composer-valid names, upper case included', () => {
    for (const name of [
      'monolog/monolog',
      'symfony/polyfill-php72',
      'a/b',
      'Acme/Mixed-Case',
      'foo.bar/baz_qux',
      'a-b/c--d',
      'zendframework/zend-code',
      '0/0',
    ]) {
      assert.equal(isValidPackageName(name), true, name);
    }
  });
  it('rejects anything that could steer a path', () => {
    for (const name of [
      '../../etc/passwd',
      'a/../../b',
      '/abs/x',
      'a\\b/c',
      '',
      'a',
      'a/',
      '/a',
      'a/b/c',
      'a/b\0',
      'a/.b',
      './a',
      'a/b.',
      'a..b/c',
      'a/b..c',
      'a/b ',
      ' a/b',
      'a/b\n',
      'a/-b',
      'a--b/c',
      'é/b',
      'C:/x',
      'a/%2e%2e',
    ]) {
      assert.equal(isValidPackageName(name), false, JSON.stringify(name));
    }
  });
});

describe('cacheKeyFor', () => {
  it('is <lowercase name>/<sha1(url)>.<type>', () => {
    assert.equal(
      cacheKeyFor('monolog/monolog', 'https://api.github.com/repos/Seldaek/monolog/zipball/1cb1cde8e8dd0f70cc0fe51354a59acad9302084', 'zip'),
      'monolog/monolog/1ea03bfb7b8a89de2fcecb0cc0b1204ac14411e0.zip',
    );
    assert.match(cacheKeyFor('Acme/Mixed-Case', URL, 'zip'), /^acme\/mixed-case\/[0-9a-f]{40}\.zip$/);
  });
  it('keeps the type verbatim (case too) and sanitises it per UTF-8 byte', () => {
    assert.match(cacheKeyFor('a/b', URL, 'ZIP'), /\.ZIP$/);
    assert.match(cacheKeyFor('a/b', URL, 'tar.gz é'), /\.tar\.gz---$/);
    assert.equal(sanitizeCacheKey('a b/é~'), 'a-b/---');
  });
  it('throws for bad names and for types that would add or climb path segments', () => {
    for (const name of ['../../etc/passwd', 'a/../../b', '/abs/x', 'a\\b/c', '']) {
      assert.throws(() => cacheKeyFor(name, URL, 'zip'), { code: 'E_PACKAGE' });
    }
    // '..' would only yield the file name "<sha1>...", but no real type looks like that: refused too
    for (const type of ['', 'zip/../../x', '../x', '/zip', '..', '.']) {
      assert.throws(() => cacheKeyFor('a/b', URL, type), { code: 'E_PACKAGE' }, type);
    }
    // a backslash is sanitised to "-", so it cannot separate paths either
    assert.match(cacheKeyFor('a/b', URL, 'zip\\..'), /^a\/b\/[0-9a-f]{40}\.zip-\.\.$/);
  });
});

describe('cachePathFor', () => {
  it('joins like Cache (rtrim dir, "/" + key) and stays inside the directory', () => {
    const key = cacheKeyFor('a/b', URL, 'zip');
    assert.equal(cachePathFor(CACHE, key), `${CACHE}/${key}`);
    assert.equal(cachePathFor(`${CACHE}//`, key), `${CACHE}/${key}`);
  });
  it('refuses keys that escape, and relative directories', () => {
    for (const key of ['../x.zip', 'a/../../x.zip', '/etc/passwd', 'a\\..\\x', 'a/./b.zip', 'a//b.zip', '', 'a/b\0.zip', '..']) {
      assert.throws(() => cachePathFor(CACHE, key), { code: 'E_CACHE' }, JSON.stringify(key));
    }
    assert.throws(() => cachePathFor('relative/files', 'a/b/c.zip'), { code: 'E_CACHE' });
  });
  it('never yields a path outside the cache directory for hostile names', () => {
    const hostile = ['../../etc/passwd', 'a/../../b', '/abs/x', 'a\\b/c', 'UPPER/Case', '', '..', 'a/..', '../a', 'a/b/../../../c'];
    for (const name of hostile) {
      for (const type of ['zip', '..', '../..', '/', 'a/../..']) {
        let result: string | undefined;
        try {
          result = cachePathFor(CACHE, cacheKeyFor(name, URL, type));
        } catch {
          continue;
        }
        assert.ok(inside(CACHE, result), `${name} / ${type} gave ${result}`);
      }
    }
  });
});
