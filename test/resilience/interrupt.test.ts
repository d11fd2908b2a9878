import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { count, startCli, type CliEvent } from '../helpers/cli-events.js';
import { runCli } from '../helpers/run.js';
import { assertNoPartialAtComposerPaths, buildProject, plannedPaths, tempFilesUnder, type PlannedPackage, type Project } from './fixture.js';

const PACKAGES = 16;
// 256 KiB at 32 KiB / 40 ms ≈ 0.35 s per archive, 4 at a time: a run lasts ~1.5 s.
const FLAGS = ['-j', '4'];

/** A point in a run, as the run reports it (ndjson), so the signal always lands mid-transfer however loaded the machine is. */
type Moment = { readonly what: string; readonly seen: (events: readonly CliEvent[]) => boolean };
const firstBytes: Moment = { what: 'the first bytes', seen: (e) => count(e, 'progress') > 0 };
const landed = (n: number): Moment => ({
  what: `${n} archives downloaded and another transfer under way`,
  seen: (e) => count(e, 'done', 'downloaded') >= n && e.at(-1)?.type === 'progress',
});

/** Starts the CLI, waits for `at`, sends `signal`, returns how it ended. */
async function runAndSignal(p: Project, env: Record<string, string>, signal: 'SIGINT' | 'SIGTERM' | 'SIGHUP' | 'SIGKILL', at: Moment) {
  const run = startCli(FLAGS, { cwd: p.project, env });
  await run.until(at.what, at.seen);
  run.kill(signal);
  return run.result();
}

describe('interrupted runs', () => {
  /** The planned Composer paths, under another COMPOSER_CACHE_DIR. */
  const under = (cache: string): PlannedPackage[] =>
    planned.map((e) => ({ ...e, cachePath: path.join(cache, path.relative(path.join(p.root, 'cache'), e.cachePath)) }));
  let p: Project;
  let planned: PlannedPackage[];
  before(async () => {
    p = await buildProject(
      Array.from({ length: PACKAGES }, (_, i) => ({ name: `acme/slow${String(i).padStart(2, '0')}`, version: '1.0.0', shasum: i % 2 === 0, faults: [] })),
      { kib: () => 256, throttle: { bytes: 32 * 1024, ms: 40 } },
    );
    planned = await plannedPaths(p);
  });
  after(async () => {
    await p?.cleanup();
  });

  // SIGHUP: the terminal closed or an ssh session dropped; handled like SIGTERM.
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    it(`${signal} twice mid-transfer: the process ends by the signal (a shell stops its chain), temp files removed, no partial file; a third run completes the rest`, async () => {
      const cache = path.join(p.root, `cache-${signal}`);
      const env = { ...p.env, COMPOSER_CACHE_DIR: cache };
      const done: number[] = [];
      for (const at of [firstBytes, landed(2)]) {
        const r = await runAndSignal(p, env, signal, at);
        // Killed by the signal after its cleanup, not exit 130: `a; b` in a shell does not go on to b.
        assert.equal(r.signal, signal, r.stderr);
        assert.equal(r.exitCode, undefined, r.stderr);
        assert.match(r.stderr, /Interrupted: \d+ downloaded/, 'prints what finished');
        assert.doesNotMatch(r.stderr, /still not stopped/, 'a graceful stop, not the grace timer');
        if (signal !== 'SIGINT') assert.doesNotMatch(r.stderr, /Ctrl-C/, 'no key sent this signal');
        assert.deepEqual(await tempFilesUnder(cache), [], 'temp files removed');
        done.push(await assertNoPartialAtComposerPaths(p, under(cache)));
      }
      assert.ok(done[0]! < PACKAGES, `the first run really was interrupted (${done.join(', ')})`);
      p.server.resetLog();
      const last = await runCli(FLAGS, { cwd: p.project, env });
      assert.equal(last.exitCode, 0, last.stderr);
      assert.equal(await assertNoPartialAtComposerPaths(p, under(cache)), PACKAGES);
      assert.equal(p.server.hits(), PACKAGES - done[1]!, 'only the missing archives were fetched again');
    });
  }

  it('SIGKILL at several points leaves no partial file at a Composer path; the next run cleans up and completes', async () => {
    const cache = path.join(p.root, 'cache-kill');
    const env = { ...p.env, COMPOSER_CACHE_DIR: cache };
    let leftovers = 0;
    for (const at of [firstBytes, landed(2), landed(4)]) {
      const r = await runAndSignal(p, env, 'SIGKILL', at);
      assert.equal(r.signal, 'SIGKILL');
      await assertNoPartialAtComposerPaths(p, under(cache)); // throws on a partial file
      leftovers = Math.max(leftovers, (await tempFilesUnder(cache)).length);
    }
    assert.ok(leftovers > 0, 'a killed run does leave temp files (so the cleanup below is tested)');
    const last = await runCli(FLAGS, { cwd: p.project, env });
    assert.equal(last.exitCode, 0, last.stderr);
    assert.equal(await assertNoPartialAtComposerPaths(p, under(cache)), PACKAGES);
    assert.deepEqual(await tempFilesUnder(cache), [], "the dead run's temp files were removed at once, not after the age limit");
  });

  it('two concurrent runs on one cache both succeed and leave only valid files', async () => {
    const cache = path.join(p.root, 'cache-shared');
    const env = { ...p.env, COMPOSER_CACHE_DIR: cache };
    const [a, b] = await Promise.all([runCli(FLAGS, { cwd: p.project, env }), runCli(FLAGS, { cwd: p.project, env })]);
    assert.equal(a.exitCode, 0, a.stderr);
    assert.equal(b.exitCode, 0, b.stderr);
    assert.equal(await assertNoPartialAtComposerPaths(p, under(cache)), PACKAGES);
    assert.deepEqual(await tempFilesUnder(cache), []);
    // And a run that starts while another is mid-transfer never removes the live run's temp files.
    const cache2 = path.join(p.root, 'cache-shared-2');
    const env2 = { ...p.env, COMPOSER_CACHE_DIR: cache2 };
    const first = startCli(FLAGS, { cwd: p.project, env: env2 });
    await first.until(firstBytes.what, firstBytes.seen);
    const second = runCli(FLAGS, { cwd: p.project, env: env2 });
    const [x, y] = await Promise.all([first.result(), second]);
    assert.equal(x.exitCode, 0, x.stderr);
    assert.equal(y.exitCode, 0, y.stderr);
    assert.deepEqual(await tempFilesUnder(cache2), []);
    assert.equal(await assertNoPartialAtComposerPaths(p, under(cache2)), PACKAGES);
  });
});
