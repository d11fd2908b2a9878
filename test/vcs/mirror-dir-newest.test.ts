/**
 * Golden test against the NEWEST Composer's own classes (Debian sid's, from .ci/newest-composer.sh):
 * `GitDownloader::doDownload` names the mirror folder `Preg::replace('{[^a-z0-9.]}i', '-',
 * Url::sanitize($url))`, credentials masked. Debian bookworm's 2.5.5 used the URL as written (the
 * secret in the folder name); URLs without credentials get the same name from both (cache-vcs-dir.test.ts).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, it } from 'node:test';
import { mirrorDirName } from '../../src/vcs/plan-mirrors.js';
import { stripCredentials } from '../../src/vcs/git-url.js';
import { newest } from '../helpers/composers.js';
import { requirePhp } from '../helpers/composer-php.js';

const run = promisify(execFile);

const URLS = [
  'https://deploy:TopSecret123@git.example/acme/private.git',
  'https://u:p@h.example/ä/😀',
  'https://u:@h.example/x.git',
  'https://ghp_16C7e42F292c6912E7710c838347Ae178B4a@github.com/a/b.git',
  'https://github_pat_11ABCDEFG0123456789_abcdef@github.com/a/b.git',
  'https://0123456789abcdef0123@github.com/a/b.git',
  'https://longer-than-twelve@git.example/x.git',
  'https://short@git.example/x.git',
  'https://üüüüüüü:pw@git.example/x.git',
  'https://x-token-auth:tok3n@bitbucket.org/a/b.git',
  'https://gitlab-ci-token:glcbt-64_abcdef@gitlab.example/a/b.git',
  'https://oauth2:tok3n@gitlab.example/a/b.git',
  'https://private-token:tok3n@gitlab.example/a/b.git',
  'https://git.example/a.git?access_token=abc123&x=1',
  'git@gitee.com:a/b.git',
  'ssh://git@h.example:2222/x/y',
  'ssh://user:pw@h.example/x/y',
  'https://codeberg.org/icewind/SMB',
];

describe('golden: the mirror folder name against the newest Composer (Url::sanitize)', () => {
  it(`[composer ${newest.composer?.version ?? 'newest'}] mirrorDirName equals GitDownloader::doDownload's Url::sanitize rule; stripCredentials equals Url::stripCredentials`, {
    skip: newest.skip,
  }, async () => {
    const { autoload, version } = newest.composer!;
    const code =
      `require ${JSON.stringify(autoload)}; foreach (json_decode(stream_get_contents(STDIN)) as $u) ` +
      `echo json_encode([Composer\\Pcre\\Preg::replace('{[^a-z0-9.]}i', '-', Composer\\Util\\Url::sanitize($u)), Composer\\Util\\Url::stripCredentials($u)]), "\\n";`;
    const child = run(requirePhp(), ['-r', code], { encoding: 'utf8' });
    child.child.stdin!.end(JSON.stringify(URLS));
    const { stdout } = await child;
    const theirs = stdout
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as [string, string]);
    assert.deepEqual(
      URLS.map(mirrorDirName),
      theirs.map(([dir]) => dir),
      `Composer ${version}`,
    );
    assert.deepEqual(
      URLS.map(stripCredentials),
      theirs.map(([, stripped]) => stripped),
      `Composer ${version}`,
    );
  });
});
