/**
 * Golden test against the REAL Composer: every package of every fixture lock (plus a hand-made lock
 * of edge cases) is run through Composer's own classes by test/helpers/composer-cache-keys.php, and
 * every URL list, processed URL, normalised version and cache key must equal ours.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { cacheKeyFor } from '../../src/plan/cache-key.js';
import { getDistUrls, packageVersionNormalized, processDistUrl } from '../../src/plan/dist-urls.js';
import { tryNormalizeVersion } from '../../src/plan/version-parser.js';
import { runPhpJson } from '../helpers/composer-php.js';
import { composers, titled } from '../helpers/composers.js';
import { FIXTURE_FILES, HANDMADE_LOCK, LOCKS_DIR, REPO_ROOT, loadFixture } from '../helpers/lock-fixtures.js';
import { VERSION_CASES } from '../helpers/version-cases.js';

interface PhpPackage {
  readonly file: string;
  readonly index: number;
  readonly name: string | null;
  readonly versionNormalized?: string;
  readonly urls?: string[];
  readonly processed?: string;
  readonly key?: string;
  readonly keyWritten?: boolean;
  readonly error?: string;
}
interface PhpResponse {
  readonly packages: PhpPackage[];
  readonly versions: { input: string; normalized: string | null }[];
}

const DOMAINS = { githubDomains: ['github.com', 'ghe.example.com'], gitlabDomains: ['gitlab.com', 'git.example.org'] };
const FILES = [...FIXTURE_FILES, HANDMADE_LOCK];

for (const c of composers)
  describe(`golden: cache keys computed by Composer ${c.label} itself`, { skip: c.skip }, () => {
    let tmp = '';
    let response: PhpResponse;

    before(() => {
      tmp = mkdtempSync(path.join(os.tmpdir(), 'cp-golden-keys-'));
      const request = path.join(tmp, 'request.json');
      const versions = [...VERSION_CASES.map(([input]) => input)];
      writeFileSync(request, JSON.stringify({ autoload: c.composer!.autoload, ...DOMAINS, files: FILES.map((f) => path.join(LOCKS_DIR, f)), versions }));
      response = runPhpJson(path.join(REPO_ROOT, 'test', 'helpers', 'composer-cache-keys.php'), request) as PhpResponse;
    });
    after(() => {
      if (tmp !== '') rmSync(tmp, { recursive: true, force: true });
    });

    it(titled(c, 'keys, URL lists, processed URLs and versions match for every package of every lock'), () => {
      let compared = 0;
      for (const file of FILES) {
        const ours = loadFixture(file).packages;
        const theirs = response.packages.filter((p) => p.file === file);
        assert.equal(theirs.length, ours.length, `${file}: package count`);
        ours.forEach((pkg, i) => {
          const php = theirs[i];
          assert.ok(php, `${file}[${i}]`);
          const where = `${file}[${i}] ${pkg.name}`;
          assert.equal(php.error, undefined, `${where}: Composer failed to load it`);
          assert.equal(php.name, pkg.name, where);
          assert.equal(packageVersionNormalized(pkg), php.versionNormalized, `${where}: normalised version`);
          const urls = getDistUrls(pkg);
          assert.deepEqual(urls, php.urls, `${where}: getDistUrls`);
          const first = urls[0];
          if (first === undefined || pkg.dist === undefined) {
            assert.equal(php.key, undefined, where);
            return;
          }
          const processed = processDistUrl(first, pkg, DOMAINS);
          assert.equal(processed, php.processed, `${where}: processed URL`);
          assert.equal(cacheKeyFor(pkg.name, processed, pkg.dist.type), php.key, `${where}: cache key`);
          assert.equal(php.keyWritten, true, `${where}: Composer's Cache wrote the file under that key`);
          compared++;
        });
      }
      // 1196 packages with a dist across the fixture locks + the hand-made ones
      assert.ok(compared > 1200, `compared ${compared} keys`);
    });

    it(titled(c, 'normalizeVersion agrees with VersionParser::normalize on the whole table'), () => {
      assert.equal(response.versions.length, VERSION_CASES.length);
      for (const { input, normalized } of response.versions) {
        assert.equal(tryNormalizeVersion(input), normalized ?? undefined, JSON.stringify(input));
      }
      // and the table's expectations are what this Composer says
      VERSION_CASES.forEach(([input, expected], i) => {
        assert.equal(response.versions[i]?.normalized ?? undefined, expected, JSON.stringify(input));
      });
    });
  });
