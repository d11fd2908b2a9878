import assert from 'node:assert/strict';
import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as tick } from 'node:timers/promises';
import { execa } from 'execa';
import { assertNoProcessWarning, binPath, isolatedEnv, runCli, tempDir, writeHttpProject } from '../helpers/run.js';

/**
 * Opens the writing end of `fifo` once a reader has opened it (before that, a non-blocking open
 * fails with ENXIO): the CLI has then reached the phase that reads its input, with its signal
 * handlers in place. An event of the process, not a guess in milliseconds.
 */
async function writerOnceRead(fifo: string): Promise<FileHandle> {
  for (;;) {
    try {
      return await open(fifo, constants.O_WRONLY | constants.O_NONBLOCK);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENXIO') throw error;
      await tick(10);
    }
  }
}

describe('a signal ends any phase of a run', () => {
  let root: string;
  let cleanup: () => Promise<void>;
  before(async () => ({ dir: root, cleanup } = await tempDir('cp-signals-')));
  after(async () => cleanup());

  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
    it(`${signal} while the lock is read from a pipe that never ends: the process ends by the signal`, {
      skip: process.platform === 'win32' && 'needs mkfifo',
    }, async () => {
      const fifo = path.join(root, `lock-${signal}.fifo`);
      await execa('mkfifo', [fifo]);
      const child = execa(process.execPath, [binPath, fifo, '--no-progress'], {
        cwd: root,
        env: isolatedEnv(root),
        extendEnv: false,
        reject: false,
        stdin: 'ignore',
        timeout: 60_000,
      });
      const writer = await writerOnceRead(fifo);
      await writer.write('{"packages": ['); // and never more, not closed until the run is over
      child.kill(signal);
      const r = await child;
      await writer.close();
      assert.equal(r.timedOut, false, 'the run ended by itself after the signal');
      // Reading a pipe does not observe the abort, so the run is ended by the signal itself.
      assert.equal(r.signal, signal, String(r.stderr));
      assert.match(String(r.stderr), new RegExp(`${signal}: stopping`));
      assert.match(String(r.stderr), new RegExp(`still not stopped 1\\.5 s after ${signal}; quitting`));
      // Offered while the run is still stopping: here, before the grace timer gives up on it.
      if (signal === 'SIGINT') assert.match(String(r.stderr), /^Still stopping: press Ctrl-C again to quit at once\.\n[\s\S]*still not stopped/m);
      else assert.doesNotMatch(String(r.stderr), /Ctrl-C/, 'no Ctrl-C advice for a signal no key sent');
      assertNoProcessWarning(String(r.stderr));
    });
  }

  it('a cache dir that cannot be made (/proc/nope/cache) fails at once with E_CACHE, exit 2', {
    skip: process.platform !== 'linux' && 'needs /proc',
  }, async () => {
    const project = path.join(root, 'proc-project');
    await writeHttpProject(project, [{ name: 'acme/a', version: '1.0.0', dist: { type: 'zip', url: 'http://127.0.0.1:9/a.zip', reference: 'a'.repeat(40) } }]);
    // The timeout only turns a hang (Node's recursive mkdir loops forever on /proc) into a failure.
    const run = await runCli(['--cache-dir', '/proc/nope/cache', '--json'], { cwd: project, env: isolatedEnv(root), timeoutMs: 60_000 });
    assert.equal(run.signal, undefined, 'ended by itself');
    assert.equal(run.exitCode, 2, run.stderr);
    assert.match(run.stderr, /The cache directory \/proc\/nope\/cache\/files is not usable: /);
    assert.equal((JSON.parse(run.stdout) as { error: { code: string } }).error.code, 'E_CACHE');
  });
});
