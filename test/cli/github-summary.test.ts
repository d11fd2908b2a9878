import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { escapeMarkdown, formatGithubSummary } from '../../src/report/github-summary.js';
import { FAILURE_CAUSES } from '../../src/report/failure-cause.js';
import { composerPackageZip } from '../helpers/archives.js';
import { DistServer } from '../helpers/dist-server.js';
import { isolatedEnv, runCli, tempDir } from '../helpers/run.js';

const sha1 = (b: Buffer | string): string => createHash('sha1').update(b).digest('hex');

describe('GitHub job summary: escaping', () => {
  it('makes names and messages inert Markdown and HTML', () => {
    assert.equal(escapeMarkdown('acme/gam_ma'), 'acme/gam\\_ma');
    assert.equal(escapeMarkdown('<img src=x onerror=alert(1)>'), '&lt;img src=x onerror=alert\\(1\\)&gt;');
    assert.equal(escapeMarkdown('a | b'), 'a \\| b', 'no new table cell');
    assert.equal(escapeMarkdown('[click](https://evil.example)'), '\\[click\\]\\(https://evil.example\\)');
    assert.equal(escapeMarkdown('**bold** `code` ~~x~~ @someone $x$'), '\\*\\*bold\\*\\* \\`code\\` \\~\\~x\\~\\~ \\@someone \\$x\\$');
    assert.equal(escapeMarkdown('line\n# heading'), 'line\\\\x0A\\# heading');
    assert.equal(escapeMarkdown('\u001b]0;title\u0007'), '\\\\x1B\\]0;title\\\\x07');
    assert.equal(escapeMarkdown('AT&T \\ back'), 'AT&amp;T \\\\ back');
  });

  it('escapes and redacts what comes from the lock or the server', () => {
    const zero = Object.fromEntries(FAILURE_CAUSES.map((c) => [c, 0])) as Record<(typeof FAILURE_CAUSES)[number], number>;
    const text = formatGithubSummary({
      command: 'prefetch',
      summary: {
        backend: 'native',
        cacheFilesDir: '/c/files',
        planned: 1,
        downloaded: 0,
        cached: 0,
        skipped: 0,
        invalid: 0,
        failed: 1,
        bytes: 0,
        durationMs: 1500,
        interrupted: false,
        unfinished: 0,
        failures: [
          {
            packageName: 'acme/x',
            version: '1.0.0',
            url: 'https://u:secret@h.example/x.zip',
            code: 'E_HTTP',
            message: 'acme/x 1.0.0: HTTP 500 from https://u:secret@h.example/x.zip\n| forged | row |',
            hint: '<b>retry</b>',
          },
        ],
      },
      origins: [
        {
          origin: 'https://h.example',
          requests: 1,
          downloaded: 0,
          bytes: 0,
          activeMs: 10,
          bytesPerSecond: 0,
          retries: 0,
          failures: 1,
          failuresByCause: { ...zero, http5xx: 1 },
        },
      ],
    });
    assert.doesNotMatch(text, /secret/);
    assert.doesNotMatch(text, /<b>/);
    assert.match(text, /&lt;b&gt;retry&lt;\/b&gt;/);
    const failureLines = text.split('\n').filter((l) => l.startsWith('- '));
    assert.equal(failureLines.length, 1);
    assert.match(failureLines[0]!, /\\x0A\\\| forged \\\| row \\\|$/);
    assert.ok(!text.split('\n').some((l) => l.startsWith('| forged')), 'a newline in a message cannot add a table row');
  });

  it('failures of one reason at one host are one entry: every package named, the hint once', () => {
    const failures = Array.from({ length: 8 }, (_, i) => ({
      packageName: `acme/p${i}`,
      version: '1.0.0',
      url: `https://h.example/p${i}.zip`,
      code: 'E_HTTP' as const,
      message: `acme/p${i} 1.0.0: HTTP 404 from https://h.example/p${i}.zip`,
      hint: 'Check the URL in composer.lock.',
      reason: 'HTTP 404',
      cause: 'http4xx' as const,
    }));
    const lone = {
      packageName: 'acme/other',
      version: '2.0.0',
      url: 'https://o.example/o.zip',
      code: 'E_HTTP' as const,
      message: 'acme/other 2.0.0: HTTP 500 from https://o.example/o.zip',
      hint: 'Try again later.',
      reason: 'HTTP 500',
      cause: 'http5xx' as const,
    };
    const text = formatGithubSummary({
      command: 'prefetch',
      summary: {
        backend: 'native',
        cacheFilesDir: '/c/files',
        planned: 9,
        downloaded: 0,
        cached: 0,
        skipped: 0,
        invalid: 0,
        failed: 9,
        bytes: 0,
        durationMs: 1500,
        interrupted: false,
        unfinished: 0,
        failures: [...failures, lone],
      },
      origins: [],
    });
    const list = text.slice(text.indexOf('#### Failures'));
    assert.equal(list.split('\n').filter((l) => l.startsWith('- ')).length, 2, list);
    assert.match(list, /^- 8 packages failed: HTTP 404 at h\.example$/m);
    for (const f of failures) assert.match(list, new RegExp(`acme/p${f.packageName.slice(-1)} 1\\.0\\.0`));
    assert.equal(list.split('Check the URL in composer.lock.').length - 1, 1, 'the hint once for the group');
    assert.match(list, /^- acme\/other 2\.0\.0: HTTP 500/m);
  });
});

describe('GitHub job summary: a run with one failure', () => {
  let server: DistServer;
  let root: string;
  let cleanup: () => Promise<void>;
  let project: string;
  let summaryFile: string;
  let env: Record<string, string>;

  before(async () => {
    ({ dir: root, cleanup } = await tempDir('cp-ghsum-'));
    server = await new DistServer().start();
    const entry = (name: string, route: string, zip: Buffer | undefined) => {
      if (zip) server.add(route, zip);
      return {
        name,
        version: '1.0.0',
        type: 'library',
        dist: { type: 'zip', url: `${server.origin}${route}`, reference: sha1(name), shasum: zip ? sha1(zip) : '' },
      };
    };
    const cachedFirst = entry('acme/alpha', '/dists/alpha.zip', composerPackageZip('acme/alpha', '1.0.0'));
    const packages = [
      cachedFirst,
      entry('acme/beta', '/dists/beta.zip', composerPackageZip('acme/beta', '1.0.0')),
      entry('acme/gam_ma', '/dists/gamma.zip', undefined), // 404
    ];
    project = path.join(root, 'project');
    await mkdir(project, { recursive: true });
    await writeFile(path.join(project, 'composer.json'), JSON.stringify({ config: { 'secure-http': false } }));
    // First run: only alpha, so the measured run finds it cached.
    await writeFile(path.join(project, 'composer.lock'), JSON.stringify({ 'content-hash': 'x', packages: [cachedFirst], 'packages-dev': [] }));
    const warm = await runCli(['--progress=none'], { cwd: project, env: isolatedEnv(root) });
    assert.equal(warm.exitCode, 0, warm.stderr);
    await writeFile(path.join(project, 'composer.lock'), JSON.stringify({ 'content-hash': 'x', packages, 'packages-dev': [] }));
    summaryFile = path.join(root, 'step-summary.md');
    await writeFile(summaryFile, 'Output of an earlier step\n\n');
    env = isolatedEnv(root, { GITHUB_ACTIONS: 'true', GITHUB_STEP_SUMMARY: summaryFile });
  });
  after(async () => {
    await server.stop();
    await cleanup();
  });

  it('appends counts, bytes, time, throughput, the host table and the failure with its hint', async () => {
    const run = await runCli(['--progress=plain'], { cwd: project, env });
    assert.equal(run.exitCode, 1, run.stderr);
    const text = await readFile(summaryFile, 'utf8');
    assert.ok(text.startsWith('Output of an earlier step\n\n'), 'appended, not overwritten');
    const lines = text.split('\n');
    assert.ok(lines.includes('### ❌ composer-prefetch: 1 downloaded, 1 cached, 1 failed'), text);
    const header = lines.indexOf('| Downloaded | Cached | Skipped | Failed | Invalid entries | Bytes | Time | Throughput |');
    assert.ok(header > 0, text);
    assert.match(lines[header + 2]!, /^\| 1 \| 1 \| 0 \| 1 \| 0 \| \d+(\.\d)? (B|KiB) \| \d+(\.\d)? m?s \| \d+(\.\d)? (B|KiB|MiB|GiB)\/s \|$/);
    assert.match(text, /^Backend: native · Cache: .+\/cache\/files$/m);
    const host = lines.find((l) => l.startsWith(`| ${server.origin} |`));
    assert.ok(host, text);
    assert.match(host, /^\| http:\/\/127\.0\.0\.1:\d+ \| 2 \| 1 \| [^|]+ \| [^|]+\/s \| 0 \| 1 \(1 http4xx\) \|$/);
    const failures = lines.indexOf('#### Failures');
    assert.ok(failures > 0, text);
    const failure = lines.slice(failures).filter((l) => l.startsWith('- '));
    assert.equal(failure.length, 1, text);
    assert.match(failure[0]!, /^- acme\/gam\\_ma 1\.0\.0: .*404/);
    assert.match(lines[lines.indexOf(failure[0]!) + 1]!, /^ {2}<br>\S/, 'the hint follows the failure');
    assert.ok(text.endsWith('\n\n'), 'a blank line separates it from what the next step appends');
  });
});

describe('GitHub job summary: a run that stops', () => {
  let root: string;
  let cleanup: () => Promise<void>;
  before(async () => ({ dir: root, cleanup } = await tempDir('cp-gh-stop-')));
  after(async () => cleanup());

  it('an unknown option (an Action `args` typo) and a missing lock each leave their reason in the summary (exit 2)', async () => {
    const file = path.join(root, 'summary.md');
    await writeFile(file, '');
    const env = { ...isolatedEnv(root), GITHUB_ACTIONS: 'true', GITHUB_STEP_SUMMARY: file };
    const typo = await runCli(['--no-such-option'], { cwd: root, env });
    assert.equal(typo.exitCode, 2, typo.stderr);
    const missing = await runCli(['verify', 'gone/composer.lock'], { cwd: root, env });
    assert.equal(missing.exitCode, 2, missing.stderr);
    const text = await readFile(file, 'utf8');
    assert.match(text, /^### ❌ composer-prefetch stopped before downloading anything \(exit 2\)\n\nunknown option '--no-such-option'/m, text);
    assert.match(text, /^### ❌ composer-prefetch verify stopped before downloading anything \(exit 2\)\n\n.*gone\/composer\.lock/m, text);
  });
});
