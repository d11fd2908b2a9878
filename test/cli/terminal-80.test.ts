import assert from 'node:assert/strict';
import { readdir, writeFile } from 'node:fs/promises';
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
  /** tmux's config: panes stay on screen after their process ends, from the start (a `--help` ends before a later set-option). */
  let config = '/dev/null';
  const tmux = (...args: string[]) => execa('tmux', ['-L', socket, '-f', config, ...args], { reject: false });
  const screen = async (session = 'cp'): Promise<string> => String((await tmux('capture-pane', '-p', '-t', session)).stdout);
  /**
   * Everything the pane printed, scrollback included, each line as it was written: lines the
   * terminal wrapped are joined again (-J), so a line wider than 80 columns shows as one.
   */
  const history = async (session: string): Promise<string> =>
    String((await tmux('capture-pane', '-p', '-J', '-S', '-', '-t', session)).stdout)
      .split('\n')
      .filter((l) => !l.startsWith('Pane is dead'))
      .join('\n');
  /** Polls the screen until `pattern` shows (the test's own timeout bounds it). */
  const until = async (pattern: RegExp, session = 'cp'): Promise<string> => {
    for (;;) {
      const text = await screen(session);
      if (pattern.test(text)) return text;
      await tick(50);
    }
  };
  /** Polls until the pane's process has ended (remain-on-exit keeps its screen). */
  const ended = async (session: string): Promise<void> => {
    for (;;) {
      const r = await tmux('display-message', '-p', '-t', session, '#{pane_dead}');
      assert.equal(r.exitCode, 0, `the pane of ${session} is gone: ${String(r.stderr)}`);
      if (String(r.stdout).trim() === '1') return;
      await tick(50);
    }
  };
  /** `command` (a shell line) in a new 80×`rows` pane in `cwd`, kept on screen after it ends. */
  const start = async (session: string, cwd: string, command: string, rows = 40): Promise<void> => {
    const r = await tmux('new-session', '-d', '-s', session, '-x', '80', '-y', String(rows), '-c', cwd, command);
    assert.equal(r.exitCode, 0, String(r.stderr));
  };
  /** The CLI with `args`, in a clean environment, as a shell word list. */
  const cliLine = (env: Record<string, string>, args: readonly string[] = []): string =>
    ['env', '-i', ...Object.entries(env).map(([k, v]) => quote(`${k}=${v}`)), quote(process.execPath), quote(binPath), ...args.map(quote)].join(' ');

  before(async () => {
    ({ dir: root, cleanup } = await tempDir('cp-term80-'));
    config = path.join(root, 'tmux.conf');
    await writeFile(config, 'set-option -g remain-on-exit on\n');
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
      packages.push({
        name: `acme/failing-package-with-long-name-${i}`,
        version: '1.0.0',
        dist: { type: 'zip', url: server.origin + route, reference: 'a'.repeat(40) },
      });
    }
    for (let i = 0; i < 2; i++) {
      // Slow enough to still be downloading when Ctrl-C comes.
      const url = server.add(`/slow-${i}.zip`, makeZip([{ name: 'f.txt', content: 'y'.repeat(200_000) }]), { throttle: { bytes: 200, ms: 50 } });
      packages.push({ name: `acme/slow-${i}`, version: '1.0.0', dist: { type: 'zip', url, reference: 'b'.repeat(40) } });
    }
    const project = path.join(root, 'project');
    await writeHttpProject(project, packages);
    const env = { ...isolatedEnv(root), TERM: 'xterm-256color' };
    // In a `;` chain, as `composer-prefetch; composer install` is typed: Ctrl-C must stop the chain.
    await start('cp', project, `bash -c ${quote(`${cliLine(env)}; echo "CHAIN WENT ON: $?"`)}`);

    // Both slow transfers have bytes on screen: the failures were logged over a live block.
    const running = await until(/named in the summary[\s\S]*↓ acme\/slow-\d 1\.0\.0 {2}[1-9][\s\S]*↓ acme\/slow-\d 1\.0\.0 {2}[1-9]/);
    const lines = running.split('\n');
    for (const line of lines) assert.ok([...line].length <= 80, `fits: ${line}`);
    // No leftover of a transfer line glued to a line logged above the bar: its numbers only on ↓ lines.
    for (const line of lines)
      if (/\d+(\.\d)? [KM]?i?B \/ |\d%$/.test(line)) assert.match(line, /^ {2}↓ acme\/slow-/, `bar text left on a logged line:\n${running}`);
    // Each live failure is whole, and its URL keeps the segment that differs between the failing
    // packages (package-number-N) and the reference's ends; the host-side segments give way.
    for (const [i, url] of failing.slice(0, 3).entries()) {
      const at = lines.findIndex((l) => l.startsWith(`✗ acme/failing-package-with-long-name-${i} 1.0.0: HTTP 404 from`));
      assert.ok(at >= 0, running);
      const rest = lines.slice(at, at + 3).join('\n');
      assert.match(rest, new RegExp(`\\n  http://127\\.0\\.0\\.1:${server.port}/…/package-number-${i}/zipball/01234567…${url.slice(-4)}\\n`), rest);
    }
    assert.match(running, /\(more packages failing with HTTP 404 at [^\n]*\n?[^\n]*named in the summary\)/);
    const overall = /^(█*)░+ 4\/6 archives 4 failed \| .* \| ETA .*\S$/m.exec(running);
    assert.ok(overall, running);
    // By bytes: the slow archives are nearly all of them, so 4 of 6 archives is not 2/3 of a bar.
    assert.ok([...overall[1]!].length < 4, overall[0]);

    await tmux('send-keys', '-t', 'cp', 'C-c');
    await ended('cp');
    const stopped = await history('cp');
    assert.match(stopped, /^SIGINT: stopping/m);
    assert.doesNotMatch(stopped, /CHAIN WENT ON/, `the shell went on after Ctrl-C:\n${stopped}`);
    const head = stopped.slice(stopped.indexOf('SIGINT: stopping'), stopped.indexOf('Interrupted:'));
    assert.ok(stopped.indexOf('Interrupted:') > 0, stopped);
    assert.doesNotMatch(head, /[█░↓]/, `no bar nor transfer line above the summary:\n${stopped}`);
    // The summary is wrapped at spaces with indented continuations, never cut mid-word by the terminal.
    const summary = stopped.slice(stopped.indexOf('Interrupted:')).trimEnd();
    for (const line of summary.split('\n')) assert.ok([...line].length <= 80, `fits: ${line}`);
    assert.doesNotMatch(summary, /^[^\sA-Z]/m, `every summary line starts a fact or is indented:\n${summary}`);
    assert.doesNotMatch(summary, /(^|\s)\d[\d.,]*$/m, `a count ends a line, its word on the next:\n${summary}`);
    // An offer to press Ctrl-C again after the run had stopped would be a lie.
    assert.doesNotMatch(summary, /Ctrl-C/, summary);
    // The bytes of the cut-off transfers are counted as the bar counted them.
    assert.match(summary, /^Interrupted: 0 downloaded \(0 B kept of [\d.]+ [KM]?i?B\s+received, /, summary);
    // Every failed package is named (the live note said the summary would).
    for (let i = 0; i < 4; i++) assert.match(summary, new RegExp(`acme/failing-package-with-long-name-${i}\\b`), summary);
    // The slow packages' folders were made for their temp files; interrupted, they are gone.
    assert.deepEqual(await folders(path.join(root, 'cache', 'files')), []);
  });

  it('--json=ndjson to the terminal itself: no bar, whole JSON lines, and the Done line on its own', { timeout: 60_000 }, async () => {
    const packages: unknown[] = [];
    for (let i = 0; i < 3; i++) {
      const url = server.add(`/nd-${i}.zip`, makeZip([{ name: 'f.txt', content: 'z'.repeat(50_000) }]), { throttle: { bytes: 5000, ms: 20 } });
      packages.push({ name: `acme/nd-${i}`, version: '1.0.0', dist: { type: 'zip', url, reference: 'c'.repeat(40) } });
    }
    const project = path.join(root, 'ndjson');
    await writeHttpProject(project, packages);
    const env = { ...isolatedEnv(root, { COMPOSER_CACHE_DIR: path.join(root, 'cache-nd') }), TERM: 'xterm-256color' };
    await start('nd', project, cliLine(env, ['--json=ndjson']));
    await ended('nd');
    const text = await history('nd');
    assert.doesNotMatch(text, /[█░↓]/, `no bar drawn over stdout's lines:\n${text}`);
    const written = text.split('\n').filter((l) => l.trim() !== '');
    const json = written.filter((l) => l.startsWith('{'));
    for (const line of json) assert.doesNotThrow(() => JSON.parse(line), `a whole JSON line: ${line}`);
    assert.equal(JSON.parse(json.at(-1)!).type, 'summary', text);
    assert.ok(
      written.some((l) => /^Done: 3 downloaded/.test(l)),
      text,
    );
    for (const line of written.filter((l) => !l.startsWith('{')))
      assert.match(line, /^(Prefetching|progress:|Done:|Cache:|Origins:|Next:| {2}\S)/, `a human line, whole: ${line}`);
  });

  it('--help and verify --help fit 80 columns: nothing is wrapped by the terminal', { timeout: 60_000 }, async () => {
    const env = { ...isolatedEnv(root), TERM: 'xterm-256color' };
    const texts: string[] = [];
    for (const [session, args] of [
      ['help', ['--help']],
      ['vhelp', ['verify', '--help']],
    ] as const) {
      await start(session, root, cliLine(env, args));
      await ended(session);
      const text = (await history(session)).trimEnd();
      // -J joined what the terminal wrapped: a line past 80 columns here was cut by the terminal.
      for (const line of text.split('\n')) assert.ok([...line].length <= 80, `${args.join(' ')}: wrapped by the terminal: ${line}`);
      assert.match(text, /^Exit codes: 0/m);
      texts.push(text);
    }
    assert.match(texts[0]!, /--concurrency/);
    assert.match(texts[1]!, /^Usage: composer-prefetch verify/m);
    assert.doesNotMatch(texts[1]!, /--concurrency|--mirror|--dry-run/);
  });
});
