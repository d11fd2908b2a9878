/**
 * Test-only: a loopback git server speaking smart HTTP through `git http-backend` (it ships with
 * git) behind a small node:http server, with optional Basic auth per repository, a delay per
 * request (a far-away host), a hold switch (a stalled clone) and a log of every request.
 */
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { listenOnLoopback, type Loopback } from './loopback.js';

export interface GitRequest {
  readonly method: string;
  /** Path and query, e.g. `/acme/lib.git/info/refs?service=git-upload-pack`. */
  readonly url: string;
  readonly repo: string | undefined;
  readonly status: number;
  readonly authorization: string | undefined;
}

export interface RepoOptions {
  /** Basic credentials this repository demands (401 without them). */
  readonly basic?: { readonly username: string; readonly password: string };
  /**
   * Every request for this repository is answered `302` to the same path on this origin (a moved
   * repository, as GitHub answers for a renamed one); its credentials are checked first when set.
   */
  readonly redirectTo?: string;
}

/** An environment for git commands the tests run themselves: no user config, no prompts. */
export function plainGitEnv(home: string): Record<string, string> {
  return {
    PATH: process.env['PATH'] ?? '/usr/bin:/bin',
    HOME: home,
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_TERMINAL_PROMPT: '0',
    GIT_AUTHOR_NAME: 't',
    GIT_AUTHOR_EMAIL: 't@example.invalid',
    GIT_COMMITTER_NAME: 't',
    GIT_COMMITTER_EMAIL: 't@example.invalid',
    LC_ALL: 'C',
  };
}

/** Where `git http-backend` lives (`git --exec-path`). */
async function httpBackend(): Promise<string> {
  const { stdout } = await execa('git', ['--exec-path']);
  return path.join(stdout.trim(), 'git-http-backend');
}

export class GitServer {
  readonly requests: GitRequest[] = [];
  /** Milliseconds added before every answer (150 ms: a far-away host, as in issue 20's measure). */
  delayMs = 0;
  /** While set, requests are accepted and never answered: a stalled clone. */
  hold = false;
  readonly #repos = new Map<string, RepoOptions>();
  #loopback: Loopback | undefined;
  readonly #listeners = new Set<(r: GitRequest) => void>();
  #server: Server | undefined;
  #backend = '';
  #root = '';
  #work = '';

  /** Bare repositories live here, as `<root>/<name>.git`. */
  get root(): string {
    return this.#root;
  }

  get origin(): string {
    const address = this.#server?.address() as AddressInfo | undefined;
    if (!address) throw new Error('git server not started');
    return `http://127.0.0.1:${address.port}`;
  }

  /** The clone URL of a repository, e.g. `http://127.0.0.1:PORT/acme/lib.git`. */
  url(name: string): string {
    return `${this.origin}/${name}.git`;
  }

  /** Requests for one repository (or all), counted from `since` (an index into `requests`). */
  count(name?: string, since = 0): number {
    return this.requests.slice(since).filter((r) => name === undefined || r.repo === name).length;
  }

  /** Resolves at the next request that `match` accepts (an event, never a sleep). */
  nextRequest(match: (r: GitRequest) => boolean = () => true): Promise<GitRequest> {
    return new Promise((resolve) => {
      const listener = (r: GitRequest): void => {
        if (!match(r)) return;
        this.#listeners.delete(listener);
        resolve(r);
      };
      this.#listeners.add(listener);
    });
  }

  async start(): Promise<void> {
    this.#backend = await httpBackend();
    this.#root = await mkdtemp(path.join(os.tmpdir(), 'cp-git-root-'));
    this.#work = await mkdtemp(path.join(os.tmpdir(), 'cp-git-work-'));
    this.#server = createServer((req, res) => void this.#handle(req, res));
    this.#loopback = await listenOnLoopback(this.#server);
  }

  async close(): Promise<void> {
    await this.#loopback?.close();
    await rm(this.#root, { recursive: true, force: true });
    await rm(this.#work, { recursive: true, force: true });
  }

  /**
   * Creates (or extends) repository `name` with one commit per entry of `commits` on `branch`,
   * then tags it with `tag` when given. Returns the new head commit id.
   */
  /** Answers every request for `name` with a redirect to the same path at `origin` (a repository that moved). */
  redirect(name: string, origin: string): void {
    this.#repos.set(name, { ...this.#repos.get(name), redirectTo: origin });
  }

  async commit(name: string, options: RepoOptions & { branch?: string; tag?: string; files?: Record<string, string> } = {}): Promise<string> {
    const branch = options.branch ?? 'main';
    const bare = path.join(this.#root, `${name}.git`);
    const work = path.join(this.#work, name);
    const env = plainGitEnv(this.#work);
    const git = (args: string[], cwd = work) => execa('git', args, { cwd, env, extendEnv: false });
    if (!this.#repos.has(name)) {
      await mkdir(path.dirname(bare), { recursive: true });
      await execa('git', ['init', '--quiet', '--bare', '--initial-branch', branch, bare], { env, extendEnv: false });
      await mkdir(work, { recursive: true });
      await git(['init', '--quiet', '--initial-branch', branch]);
      await git(['remote', 'add', 'origin', bare]);
    }
    this.#repos.set(name, {
      ...this.#repos.get(name),
      ...(options.basic ? { basic: options.basic } : {}),
      ...(options.redirectTo ? { redirectTo: options.redirectTo } : {}),
    });
    const current = (await git(['branch', '--show-current'])).stdout.trim();
    if (current !== branch) {
      const exists = (await git(['rev-parse', '--verify', '--quiet', `refs/heads/${branch}`]).catch(() => undefined))?.exitCode === 0;
      await git(exists ? ['checkout', '--quiet', branch] : ['checkout', '--quiet', '-b', branch]);
    }
    const files = options.files ?? { 'composer.json': JSON.stringify({ name, type: 'library' }), README: `${name} ${Date.now()} ${Math.random()}` };
    for (const [file, text] of Object.entries(files)) {
      await mkdir(path.dirname(path.join(work, file)), { recursive: true });
      await writeFile(path.join(work, file), text);
    }
    await git(['add', '-A']);
    await git(['commit', '--quiet', '--allow-empty', '-m', `commit on ${branch}`]);
    if (options.tag !== undefined) await git(['tag', options.tag]);
    await git(['push', '--quiet', 'origin', branch, ...(options.tag !== undefined ? [options.tag] : [])]);
    return (await git(['rev-parse', 'HEAD'])).stdout.trim();
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    const match = /^\/(.+?)\.git(\/.*)$/.exec(url.pathname);
    const repo = match?.[1];
    const options = repo === undefined ? undefined : this.#repos.get(repo);
    const record = (status: number): void => {
      const r: GitRequest = { method: req.method ?? 'GET', url: req.url ?? '/', repo, status, authorization: req.headers.authorization };
      this.requests.push(r);
      for (const listener of [...this.#listeners]) listener(r);
    };
    if (this.hold) {
      record(0);
      return;
    }
    if (this.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.delayMs));
    if (repo === undefined || options === undefined) {
      record(404);
      res.writeHead(404).end();
      return;
    }
    if (options.basic !== undefined) {
      const expected = `Basic ${Buffer.from(`${options.basic.username}:${options.basic.password}`).toString('base64')}`;
      if (req.headers.authorization !== expected) {
        record(401);
        res.writeHead(401, { 'www-authenticate': 'Basic realm="git"' }).end();
        return;
      }
    }
    if (options.redirectTo !== undefined) {
      record(302);
      res.writeHead(302, { location: `${options.redirectTo}${req.url ?? '/'}` }).end();
      return;
    }
    record(200);
    const child = spawn(this.#backend, [], {
      env: {
        PATH: process.env['PATH'] ?? '/usr/bin:/bin',
        GIT_PROJECT_ROOT: this.#root,
        GIT_HTTP_EXPORT_ALL: '1',
        GIT_CONFIG_NOSYSTEM: '1',
        HOME: this.#work,
        REQUEST_METHOD: req.method ?? 'GET',
        PATH_INFO: `/${repo}.git${match![2]}`,
        QUERY_STRING: url.search.replace(/^\?/, ''),
        CONTENT_TYPE: req.headers['content-type'] ?? '',
        REMOTE_ADDR: '127.0.0.1',
        ...(req.headers['content-encoding'] ? { HTTP_CONTENT_ENCODING: req.headers['content-encoding'] } : {}),
        ...(req.headers['git-protocol'] ? { GIT_PROTOCOL: String(req.headers['git-protocol']) } : {}),
        ...(req.headers['content-length'] ? { CONTENT_LENGTH: req.headers['content-length'] } : {}),
      },
      stdio: ['pipe', 'pipe', 'ignore'],
    });
    req.pipe(child.stdin);
    child.stdin.on('error', () => undefined);
    let head = Buffer.alloc(0);
    let headersSent = false;
    child.stdout.on('data', (chunk: Buffer) => {
      if (headersSent) {
        res.write(chunk);
        return;
      }
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      const headers: Record<string, string> = {};
      let status = 200;
      for (const line of head.subarray(0, end).toString('latin1').split('\r\n')) {
        const colon = line.indexOf(':');
        const name = line.slice(0, colon).trim();
        const value = line.slice(colon + 1).trim();
        if (name.toLowerCase() === 'status') status = Number.parseInt(value, 10);
        else headers[name] = value;
      }
      res.writeHead(status, headers);
      headersSent = true;
      res.write(head.subarray(end + 4));
    });
    child.on('close', () => {
      if (!headersSent) res.writeHead(500);
      res.end();
    });
    res.on('close', () => child.kill());
  }
}
