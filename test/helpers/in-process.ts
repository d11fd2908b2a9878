import assert from 'node:assert/strict';
import { PassThrough, Readable } from 'node:stream';
import { run, type CliIo, type RunSeams } from '../../src/cli/run.js';

/** The CLI in this process: its own env, cwd and streams, no process signal handlers. */
export async function runInProcess(
  argv: string[],
  options: { cwd: string; env: Record<string, string>; seams?: RunSeams },
): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  stdout.on('data', (c: Buffer) => out.push(c));
  stderr.on('data', (c: Buffer) => err.push(c));
  const io: CliIo = {
    env: options.env,
    cwd: options.cwd,
    stdin: Readable.from([]),
    stdout,
    stderr,
    signals: { on: () => undefined, off: () => undefined, dieBy: () => assert.fail('no signal in these tests') },
  };
  const exitCode = await run(argv, io, options.seams);
  return { exitCode, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') };
}
