import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as tick } from 'node:timers/promises';
import { execa } from 'execa';
import { makeZip } from '../helpers/archives.js';
import { DistServer } from '../helpers/dist-server.js';
import { binPath, isolatedEnv, tempDir, writeHttpProject } from '../helpers/run.js';

const hasTmux = (await execa('tmux', ['-V'], { reject: false }).catch(() => ({ exitCode: 1 }))).exitCode === 0;

const quote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/** Every folder under `dir`, relative to it. */
async function folders(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isDirectory()).map((e) => path.relative(dir, path.join(e.parentPath, e.name)));
}

/**
 * The CLI on a real pseudo-terminal of 80 columns (a detached tmux session of fixed size), its
 * screen read back with capture-pane: what a person sees, clipping by the terminal included.
 */
describe('an 80-column terminal with a progress bar', { skip: !hasTmux && 'needs tmux' }, () => {
  let root: string;
  let cleanup: () => Promise<void>;
  let server: DistServer;
  const socket = `cp-term80-${process.pid}`;
  const tmux = (...args: string[]) => execa('tmux', ['-L', socket, '-f', '/dev/null', ...args], { reject: false });
  const screen = async (): Promise<string> => String((await tmux('capture-pane', '-p', '-t', 'cp')).stdout);
  /** Polls the screen until `pattern` shows (the test's own timeout bounds it). */
  const until = async (pattern: RegExp): Promise<string> => {
    for (;;) {
      const text = await screen();
      if (pattern.test(text)) return text;
      await tick(50);
    }
  };

  before(async () => {
    ({ dir: root, cleanup } = await tempDir('cp-term80-'));
    server = await new DistServer().start();
  });
  after(async () => {
    await tmux('kill-server');
    await server.stop();
    await cleanup();
  });

  it('lines above the bar are wrapped whole, long URLs shortened in the middle; Ctrl-C leaves no bar and no empty folder', { timeout: 60_000 }, async () => {
    const packages: unknown[] = [];
    const failing: string[] = [];
    for (let i = 0; i < 4; i++) {
      const route = `/repos/some-organisation-with-a-long-name/package-number-${i}/zipball/${'0123456789abcdef'.repeat(3)}${i}`;
      server.add(route, Buffer.from('x'));
      server.fault(route, { kind: 'status', status: 404 }, 100);
      failing.push(server.origin + route);
      packages.push({ name: `acme/failing-package-with-long-name-${i}`, version: '1.0.0', dist: { type: 'zip', url: server.origin + route, reference: 'a'.repeat(40) } });
    }
    for (let i = 0; i < 2; i++) {
      // Slow enough to still be downloading when Ctrl-C comes.
      const url = server.add(`/slow-${i}.zip`, makeZip([{ name: 'f.txt', content: 'y'.repeat(200_000) }]), { throttle: { bytes: 200, ms: 50 } });
      packages.push({ name: `acme/slow-${i}`, version: '1.0.0', dist: { type: 'zip', url, reference: 'b'.repeat(40) } });
    }
    const project = path.join(root, 'project');
    await writeHttpProject(project, packages);
    const env = { ...isolatedEnv(root), TERM: 'xterm-256color' };
    const command = ['env', '-i', ...Object.entries(env).map(([k, v]) => quote(`${k}=${v}`)), quote(process.execPath), quote(binPath)].join(' ');
    await tmux('new-session', '-d', '-s', 'cp', '-x', '80', '-y', '40', '-c', project, command);
    await tmux('set-option', '-t', 'cp', 'remain-on-exit', 'on');

    const running = await until(/the summary lists them[\s\S]*↓ acme\/slow-/);
    const lines = running.split('\n');
    for (const line of lines) assert.ok([...line].length <= 80, `fits: ${line}`);
    // Each live failure is whole: its URL's end is on screen, after a middle ellipsis.
    for (const [i, url] of failing.slice(0, 3).entries()) {
      const at = lines.findIndex((l) => l.startsWith(`✗ acme/failing-package-with-long-name-${i} 1.0.0: HTTP 404 from`));
      assert.ok(at >= 0, running);
      const rest = lines.slice(at, at + 3).join('\n');
      assert.match(rest, new RegExp(`\\n  http://127\\.0\\.0\\.1:${server.port}/\\S*…\\S*${url.slice(-12)}\\n`), rest);
    }
    assert.match(running, /\(more packages failing with HTTP 404 at [^\n]*\n?[^\n]*all\)/);
    assert.match(running, /^█+░* 4\/6 archives 4 failed \| .* \| ETA .*\S$/m);

    await tmux('send-keys', '-t', 'cp', 'C-c');
    const stopped = await until(/^Origins:/m);
    assert.match(stopped, /^SIGINT: stopping/m);
    assert.match(stopped, /^Press Ctrl-C again to quit at once\.$/m);
    const head = stopped.slice(0, stopped.indexOf('Interrupted:'));
    assert.doesNotMatch(head, /[█░↓]/, `no bar nor transfer line above the summary:\n${stopped}`);
    // The summary is wrapped at spaces with indented continuations, never cut mid-word by the terminal.
    const summary = stopped.slice(stopped.indexOf('Interrupted:'));
    for (const line of summary.split('\n')) assert.ok([...line].length <= 80, `fits: ${line}`);
    assert.doesNotMatch(summary, /^[^\sA-Z]/m, `every summary line starts a fact or is indented:\n${summary}`);
    // The slow packages' folders were made for their temp files; interrupted, they are gone.
    for (;;) {
      const dead = String((await tmux('display-message', '-p', '-t', 'cp', '#{pane_dead}')).stdout).trim();
      if (dead === '1') break;
      await tick(50);
    }
    assert.deepEqual(await folders(path.join(root, 'cache', 'files')), []);
  });
});
