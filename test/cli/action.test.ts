import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { composerPackageZip } from '../helpers/archives.js';
import { readAction, runCompositeAction, type ActionDefinition } from '../helpers/composite-action.js';
import { DistServer } from '../helpers/dist-server.js';
import { isolatedEnv, repoRoot, tempDir, writeHttpProject } from '../helpers/run.js';

const sha1 = (b: Buffer | string): string => createHash('sha1').update(b).digest('hex');

describe('action.yml', () => {
  let action: ActionDefinition;
  let root: string;
  let cleanup: () => Promise<void>;

  before(async () => {
    action = await readAction(path.join(repoRoot, 'action.yml'));
    ({ dir: root, cleanup } = await tempDir('cp-action-'));
  });
  after(async () => cleanup());

  it('is a composite action with the documented inputs and outputs', () => {
    assert.equal(action.runs.using, 'composite');
    assert.deepEqual(Object.keys(action.inputs).sort(), ['args', 'backend', 'lock', 'no-dev', 'verify-level', 'working-directory']);
    for (const name of ['downloaded', 'cached', 'failed']) assert.equal(action.outputs[name]?.value, `\${{ steps.prefetch.outputs.${name} }}`);
    const build = action.runs.steps[0]!;
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a GitHub Actions expression the action.yml must contain verbatim
    assert.equal(build['working-directory'], '${{ github.action_path }}');
    assert.match(build.run ?? '', /npm ci\b.*&& npm run build/, 'builds dist/ in the action checkout');
    for (const step of action.runs.steps) {
      assert.doesNotMatch(step.run ?? '', /\$\{\{\s*inputs\./, `${step.name}: inputs reach the script through env, not pasted into it`);
    }
  });

  describe('against the loopback dist server', () => {
    let server: DistServer;
    let project: string;
    let stepSummary: string;
    const devRoute = '/dists/dev-tool.zip';

    before(async () => {
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
      const packages = [
        entry('acme/alpha', '/dists/alpha.zip', composerPackageZip('acme/alpha', '1.0.0')),
        entry('acme/beta', '/dists/beta.zip', composerPackageZip('acme/beta', '1.0.0')),
        entry('acme/gone', '/dists/gone.zip', undefined), // 404
      ];
      const dev = [entry('acme/dev-tool', devRoute, composerPackageZip('acme/dev-tool', '1.0.0'))];
      project = path.join(root, 'workspace');
      await writeHttpProject(project, packages, dev);
      stepSummary = path.join(root, 'step-summary.md');
      await writeFile(stepSummary, '');
    });
    after(async () => server.stop());

    const run = () =>
      runCompositeAction({
        action,
        // The repository is the action's checkout: dist/ and node_modules exist (npm run pretest), so the
        // build step takes its "already built" branch instead of npm ci, which would need the registry.
        actionPath: repoRoot,
        workspace: project,
        runnerTemp: path.join(root, 'runner-temp'),
        stepSummary,
        inputs: { lock: 'compo*.lock', 'no-dev': 'true', args: '--retries 0' },
        env: isolatedEnv(root),
      });

    it('fills the cache and reports downloaded / cached / failed as outputs; the step fails with the run', async () => {
      const first = await run();
      assert.equal(first.steps[0]!.exitCode, 0, first.steps[0]!.stderr);
      assert.match(first.steps[0]!.stdout, /already built/);
      assert.equal(first.steps[1]!.exitCode, 1, first.steps[1]!.stderr);
      assert.equal(first.ok, false);
      assert.deepEqual(
        { downloaded: first.outputs['downloaded'], cached: first.outputs['cached'], failed: first.outputs['failed'] },
        { downloaded: '2', cached: '0', failed: '1' },
      );
      const report = JSON.parse(await readFile(first.outputs['report']!, 'utf8')) as { packages: { name: string }[] };
      assert.deepEqual(
        report.packages.map((p) => p.name).sort(),
        ['acme/alpha', 'acme/beta', 'acme/gone'],
        'the glob found the lock; no-dev left out the dev package',
      );
      assert.ok(!server.requests.some((r) => r.path === devRoute), 'no-dev: the dev archive was not requested');
      assert.match(first.steps[1]!.stderr, /::error/, 'GitHub annotations in the log');
      assert.match(await readFile(stepSummary, 'utf8'), /### ❌ composer-prefetch: 2 downloaded, 0 cached, 1 failed/);

      const second = await run();
      assert.deepEqual(
        { downloaded: second.outputs['downloaded'], cached: second.outputs['cached'], failed: second.outputs['failed'] },
        { downloaded: '0', cached: '2', failed: '1' },
      );
    });
  });

  it('a run stopped by a bad lock input (exit 2) still writes the job summary, with the reason', async () => {
    const workspace = path.join(root, 'bad-input');
    await mkdir(workspace, { recursive: true });
    const summaryFile = path.join(root, 'bad-input-summary.md');
    await writeFile(summaryFile, '');
    const result = await runCompositeAction({
      action,
      actionPath: repoRoot,
      workspace,
      runnerTemp: path.join(root, 'runner-temp-bad'),
      stepSummary: summaryFile,
      inputs: { lock: 'no-such-dir/composer.lock' },
      env: isolatedEnv(root),
    });
    assert.equal(result.steps[1]!.exitCode, 2, result.steps[1]!.stderr);
    const summary = await readFile(summaryFile, 'utf8');
    assert.match(summary, /^### ❌ composer-prefetch stopped before downloading anything \(exit 2\)$/m, summary);
    assert.match(summary, /no-such-dir\/composer\.lock/, 'names the input');
  });

  it('the build step compiles once: npm ci runs no build of its own (no prepare script)', async () => {
    const manifest = JSON.parse(await readFile(path.join(repoRoot, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    assert.equal(manifest.scripts['prepare'], undefined, 'npm ci would run tsc through prepare, then npm run build again');
    assert.match(action.runs.steps[0]!.run ?? '', /npm ci --no-audit --no-fund && npm run build/);
  });

  describe('inputs to arguments', () => {
    let fakeAction: string;
    let calls: string;

    before(async () => {
      // A stand-in checkout whose bin records argv and the verify variable and prints a report.
      fakeAction = path.join(root, 'fake-action');
      calls = path.join(root, 'calls.ndjson');
      await mkdir(path.join(fakeAction, 'bin'), { recursive: true });
      await mkdir(path.join(fakeAction, 'dist', 'cli'), { recursive: true });
      await mkdir(path.join(fakeAction, 'node_modules'), { recursive: true });
      await writeFile(path.join(fakeAction, 'dist', 'cli', 'main.js'), '');
      await writeFile(
        path.join(fakeAction, 'bin', 'composer-prefetch.js'),
        `import { appendFileSync } from 'node:fs';
appendFileSync(${JSON.stringify(calls)}, JSON.stringify({ argv: process.argv.slice(2), verify: process.env.COMPOSER_PREFETCH_VERIFY ?? null, cwd: process.cwd() }) + '\\n');
console.log(JSON.stringify({ summary: { downloaded: 5, cached: 6, failed: 0 } }));
`,
      );
    });

    const lastCall = async (): Promise<{ argv: string[]; verify: string | null; cwd: string }> => {
      const lines = (await readFile(calls, 'utf8')).trim().split('\n');
      return JSON.parse(lines.at(-1)!) as { argv: string[]; verify: string | null; cwd: string };
    };

    const runFake = (inputs: Record<string, string>) =>
      runCompositeAction({
        action,
        actionPath: fakeAction,
        workspace: root,
        runnerTemp: path.join(root, 'runner-temp-fake'),
        stepSummary: path.join(root, 'fake-summary.md'),
        inputs,
        env: isolatedEnv(root),
      });

    it('passes every input, keeps globs for the tool, and sets COMPOSER_PREFETCH_VERIFY only when given', async () => {
      await mkdir(path.join(root, 'apps'), { recursive: true });
      const full = await runFake({
        lock: 'apps/*/composer.lock\n other.lock',
        'no-dev': 'true',
        backend: 'aria2',
        'verify-level': 'full',
        args: '-j 8  --mirror https://m.example/%package%/%reference%.%type% verify',
        'working-directory': 'apps',
      });
      assert.ok(full.ok, full.steps.map((s) => s.stderr).join('\n'));
      assert.deepEqual(await lastCall(), {
        argv: [
          '--json',
          '--no-dev',
          '--backend',
          'aria2',
          '-j',
          '8',
          '--mirror',
          'https://m.example/%package%/%reference%.%type%',
          'verify',
          '--',
          'apps/*/composer.lock',
          'other.lock',
        ],
        verify: 'full',
        cwd: path.join(root, 'apps'),
      });
      assert.deepEqual({ ...full.outputs, report: undefined }, { downloaded: '5', cached: '6', failed: '0', report: undefined });

      const defaults = await runFake({});
      assert.ok(defaults.ok);
      assert.deepEqual(await lastCall(), { argv: ['--json', '--'], verify: null, cwd: root });
    });
  });
});
