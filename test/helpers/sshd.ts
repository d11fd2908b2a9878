/**
 * Test-only: a real OpenSSH server on loopback (Debian's openssh-server, which `.ci/run` installs),
 * with its own host key and one authorized client key, serving the bare repositories of a
 * `GitServer` as `ssh://root@127.0.0.1:PORT/<root>/<name>.git` (git-upload-pack runs as the
 * user the tests run as). Every accepted login is logged, so a test counts git connections.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { closedPort } from './loopback.js';

export const SSHD = '/usr/sbin/sshd';

/** Why a real sshd cannot run here (not installed, not root), or undefined when it can. */
export function sshdUnavailable(): string | undefined {
  if (!existsSync(SSHD)) return `${SSHD} is not installed (.ci/run installs openssh-server)`;
  if (process.getuid?.() !== 0) return 'sshd needs root to switch users';
  return undefined;
}

export class Sshd {
  readonly #log: string[] = [];
  #child: ChildProcess | undefined;
  #dir = '';
  port = 0;
  user = os.userInfo().username;

  /** The authorized client key, a key the server does not know, and a known_hosts that trusts this server. */
  get files(): { readonly key: string; readonly wrongKey: string; readonly knownHosts: string; readonly emptyKnownHosts: string } {
    return {
      key: path.join(this.#dir, 'client'),
      wrongKey: path.join(this.#dir, 'stranger'),
      knownHosts: path.join(this.#dir, 'known_hosts'),
      emptyKnownHosts: path.join(this.#dir, 'known_hosts.empty'),
    };
  }

  /** The clone URL of a bare repository at an absolute path. */
  url(repoPath: string): string {
    return `ssh://${this.user}@127.0.0.1:${this.port}${repoPath}`;
  }

  /** `GIT_SSH_COMMAND` for a client with `key` that trusts the hosts in `knownHosts` and asks nothing. */
  sshCommand(key: string, knownHosts: string): string {
    return `ssh -F /dev/null -i ${key} -o IdentitiesOnly=yes -o UserKnownHostsFile=${knownHosts} -o StrictHostKeyChecking=yes -o BatchMode=yes`;
  }

  /** Logins accepted since `since` (an index into the log). */
  logins(since = 0): number {
    return this.#log.slice(since).filter((l) => /Accepted publickey/.test(l)).length;
  }

  get mark(): number {
    return this.#log.length;
  }

  async start(): Promise<void> {
    this.#dir = await mkdtemp(path.join(os.tmpdir(), 'cp-sshd-'));
    const keygen = (file: string) => execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'composer-prefetch-test', '-f', file]);
    await Promise.all([keygen(path.join(this.#dir, 'host')), keygen(this.files.key), keygen(this.files.wrongKey)]);
    await writeFile(path.join(this.#dir, 'authorized_keys'), await readFile(`${this.files.key}.pub`));
    await writeFile(this.files.emptyKnownHosts, '');
    // sshd refuses to start without its privilege separation directory.
    await mkdir('/run/sshd', { recursive: true, mode: 0o755 });
    for (let tries = 0; ; tries++) {
      this.port = await closedPort();
      const hostPub = (await readFile(path.join(this.#dir, 'host.pub'), 'utf8')).trim().split(' ').slice(0, 2).join(' ');
      await writeFile(this.files.knownHosts, `[127.0.0.1]:${this.port} ${hostPub}\n`);
      const config = [
        'ListenAddress 127.0.0.1',
        `Port ${this.port}`,
        `HostKey ${path.join(this.#dir, 'host')}`,
        `PidFile ${path.join(this.#dir, 'sshd.pid')}`,
        `AuthorizedKeysFile ${path.join(this.#dir, 'authorized_keys')}`,
        'StrictModes no',
        'UsePAM no',
        'PasswordAuthentication no',
        'KbdInteractiveAuthentication no',
        'PermitRootLogin prohibit-password',
        `AllowUsers ${this.user}`,
        'LogLevel INFO',
      ].join('\n');
      await writeFile(path.join(this.#dir, 'sshd_config'), `${config}\n`);
      const child = spawn(SSHD, ['-D', '-e', '-f', path.join(this.#dir, 'sshd_config')], { stdio: ['ignore', 'ignore', 'pipe'] });
      const listening = await new Promise<boolean>((resolve) => {
        let buffer = '';
        child.stderr!.on('data', (d: Buffer) => {
          buffer += d.toString();
          const lines = buffer.split('\n');
          buffer = lines.pop() ?? '';
          for (const line of lines) {
            this.#log.push(line);
            if (/Server listening on 127\.0\.0\.1 port/.test(line)) resolve(true);
          }
        });
        child.on('exit', () => resolve(false));
      });
      if (listening) {
        this.#child = child;
        return;
      }
      // Another process took the port between its release and sshd's bind: try another.
      if (tries >= 3) throw new Error(`sshd did not start:\n${this.#log.join('\n')}`);
    }
  }

  async stop(): Promise<void> {
    const child = this.#child;
    if (child !== undefined && child.exitCode === null) {
      const exited = new Promise((resolve) => child.on('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
    if (this.#dir !== '') await rm(this.#dir, { recursive: true, force: true });
  }
}
