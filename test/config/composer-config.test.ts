import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { defaultEnvironment, loadComposerConfig, parseCacheMaxsize } from '../../src/config/composer-config.js';

describe('parseCacheMaxsize (Config::get cache-files-maxsize)', () => {
  it('parses K/M/G as ×1024 with optional (i)b', () => {
    assert.equal(parseCacheMaxsize('300MiB'), 300 * 1024 * 1024);
    assert.equal(parseCacheMaxsize('2GiB'), 2 * 1024 ** 3);
    assert.equal(parseCacheMaxsize('1.5g'), 1.5 * 1024 ** 3);
    assert.equal(parseCacheMaxsize(' 700 '), 700);
    assert.equal(parseCacheMaxsize('10kb'), 10240);
    assert.equal(parseCacheMaxsize(2048), 2048);
    assert.equal(parseCacheMaxsize('10 TB'), undefined);
    assert.equal(parseCacheMaxsize('lots'), undefined);
  });
});

describe('loadComposerConfig', () => {
  let dir = '';
  before(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'cp-config-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  function write(file: string, data: unknown): void {
    mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    writeFileSync(path.join(dir, file), typeof data === 'string' ? data : JSON.stringify(data));
  }

  it('uses defaults when no file exists', async () => {
    const config = await loadComposerConfig({ cwd: path.join(dir, 'none'), env: {}, composerHome: path.join(dir, 'nohome') });
    assert.equal(config.projectFile, undefined);
    assert.equal(config.globalFile, undefined);
    assert.equal(config.cacheReadOnly, false);
    assert.equal(config.cacheFilesTtl, 15552000);
    assert.equal(config.cacheFilesMaxsize, 300 * 1024 * 1024);
    assert.deepEqual(config.githubDomains, ['github.com']);
    assert.deepEqual(config.gitlabDomains, ['gitlab.com']);
    assert.equal(config.secureHttp, true);
    assert.equal(config.preferredInstall, 'dist');
  });

  it('merges project over global, unions domains, adds auth-implied hosts', async () => {
    write('p1/composer.json', {
      config: {
        'github-domains': ['ghe.example.com', 'github.com'],
        'gitlab-token': { 'gl.example.com': 'x' },
        'cache-files-ttl': '0',
        'secure-http': false,
        'preferred-install': { 'acme/*': 'source' },
      },
    });
    write('h1/config.json', {
      config: {
        'github-domains': ['ghe2.example.com'],
        'github-oauth': { 'ghe3.example.com': 't' },
        'cache-files-maxsize': '2GiB',
        'cache-read-only': true,
        'preferred-install': 'auto',
        'cache-files-ttl': 99,
      },
    });
    const config = await loadComposerConfig({ cwd: path.join(dir, 'p1'), env: {}, composerHome: path.join(dir, 'h1') });
    assert.equal(config.projectFile, path.join(dir, 'p1', 'composer.json'));
    assert.deepEqual(config.githubDomains, ['github.com', 'ghe2.example.com', 'ghe.example.com', 'ghe3.example.com']);
    assert.deepEqual(config.gitlabDomains, ['gitlab.com', 'gl.example.com']);
    assert.equal(config.cacheFilesTtl, 0);
    assert.equal(config.cacheFilesMaxsize, 2 * 1024 ** 3);
    assert.equal(config.cacheReadOnly, true);
    assert.equal(config.secureHttp, false);
    assert.deepEqual(config.preferredInstall, { 'acme/*': 'source', '*': 'auto' });
    assert.deepEqual(config.project?.['cache-files-ttl'], '0');
  });

  it('env COMPOSER names the project file; COMPOSER_CACHE_READ_ONLY beats config', async () => {
    write('p2/other.json', { config: { 'cache-read-only': true, 'disable-tls': true } });
    const config = await loadComposerConfig({
      cwd: path.join(dir, 'p2'),
      env: { COMPOSER: ' other.json ', COMPOSER_CACHE_READ_ONLY: '0' },
      composerHome: path.join(dir, 'nohome'),
    });
    assert.equal(config.projectFile, path.join(dir, 'p2', 'other.json'));
    assert.equal(config.cacheReadOnly, false);
    assert.equal(config.secureHttp, false);
    const ro = await loadComposerConfig({
      cwd: path.join(dir, 'p2'),
      env: { COMPOSER: 'other.json', COMPOSER_CACHE_READ_ONLY: 'false' },
      composerHome: path.join(dir, 'nohome'),
    });
    assert.equal(ro.cacheReadOnly, false);
  });

  it('cache-files-ttl falls back to cache-ttl', async () => {
    write('p3/composer.json', { config: { 'cache-ttl': 0 } });
    const config = await loadComposerConfig({ cwd: path.join(dir, 'p3'), env: {}, composerHome: path.join(dir, 'nohome') });
    assert.equal(config.cacheFilesTtl, 0);
  });

  it('malformed JSON names the file and position', async () => {
    write('p4/composer.json', '{\n  "config": {,}\n}');
    await assert.rejects(
      loadComposerConfig({ cwd: path.join(dir, 'p4'), env: {}, composerHome: path.join(dir, 'nohome') }),
      (error: Error & { code?: string }) => {
        assert.equal(error.code, 'E_JSON');
        assert.match(error.message, /p4\/composer\.json:2:/);
        return true;
      },
    );
  });

  it('a malformed composer.json or config.json holding a credential is never quoted, and gets no lock-file hint', async () => {
    const cases = [
      { file: 'p6/composer.json', home: path.join(dir, 'nohome'), text: '{"config": {"http-basic": {"h": {"username": "u", "password":SECRET_CJ}}}}' },
      { file: 'home7/config.json', home: path.join(dir, 'home7'), text: '{"config": {"bearer": {"h": "SECRET_CFG"}}, oops}' },
      { file: 'home8/config.json', home: path.join(dir, 'home8'), text: '{"config": {"github-oauth": {"github.com": "SECRET_TRUNC' },
    ];
    for (const c of cases) {
      write(c.file, c.text);
      const cwd = c.file.startsWith('p6/') ? path.join(dir, 'p6') : path.join(dir, 'none');
      await assert.rejects(loadComposerConfig({ cwd, env: {}, composerHome: c.home }), (error: Error & { code?: string; hint?: string; cause?: unknown }) => {
        assert.equal(error.code, 'E_JSON');
        assert.match(error.message, /\.json:1:\d+: invalid JSON/);
        assert.doesNotMatch(`${error.message} ${error.hint} ${String(error.cause)}`, /SECRET/);
        assert.doesNotMatch(error.hint ?? '', /composer update --lock/);
        return true;
      });
    }
  });

  it('an unparsable maxsize becomes a warning and the default', async () => {
    write('p5/composer.json', { config: { 'cache-files-maxsize': 'huge' } });
    const config = await loadComposerConfig({ cwd: path.join(dir, 'p5'), env: {}, composerHome: path.join(dir, 'nohome') });
    assert.equal(config.cacheFilesMaxsize, 300 * 1024 * 1024);
    assert.match(config.warnings[0] ?? '', /cache-files-maxsize/);
  });

  it('defaultEnvironment reflects the process', () => {
    const e = defaultEnvironment();
    assert.equal(e.cwd, process.cwd());
    assert.equal(e.platform, process.platform);
    assert.equal(e.isDir(os.tmpdir()), true);
    assert.equal(e.isDir(path.join(dir, 'p5', 'composer.json')), false);
  });
});
