import { EventEmitter, once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { makeZip } from './archives.js';
import { listenOnLoopback, type Loopback } from './loopback.js';

export interface Hit {
  readonly path: string;
  readonly range: string | undefined;
  readonly ifRange: string | undefined;
  readonly userAgent: string | undefined;
  /** 1-based count of requests to this path, this one included. */
  readonly n: number;
}

/** Answers one request; `hit` is already logged. Must end or destroy the response (or leave it to `stop`). */
export type HostileHandler = (req: IncomingMessage, res: ServerResponse, hit: Hit) => void | Promise<void>;

/**
 * A misbehaving dist server for the transfer-safety tests: 127.0.0.1, random port, one handler per
 * path, a log of every request, and a `hit` event per request so tests wait for requests rather
 * than for time. `stop` ends every trickle and socket still open.
 */
export class HostileServer extends EventEmitter {
  readonly hits: Hit[] = [];
  readonly #routes = new Map<string, HostileHandler>();
  #loopback: Loopback | undefined;
  readonly #timers = new Set<NodeJS.Timeout>();
  #server: Server | undefined;

  get origin(): string {
    const address = this.#server?.address() as AddressInfo | undefined;
    if (!address) throw new Error('server not started');
    return `http://127.0.0.1:${address.port}`;
  }

  async start(): Promise<this> {
    this.#server = createServer((req, res) => void this.#handle(req, res));
    this.#loopback = await listenOnLoopback(this.#server);
    return this;
  }

  async stop(): Promise<void> {
    for (const timer of this.#timers) clearInterval(timer);
    await this.#loopback?.close();
  }

  route(path: string, handler: HostileHandler): string {
    this.#routes.set(path, handler);
    return `${this.origin}${path}`;
  }

  hitsOf(path: string): Hit[] {
    return this.hits.filter((h) => h.path === path);
  }

  /** Resolves at the `count`-th request to `path` (at once if it already happened). */
  async waitForHit(path: string, count = 1): Promise<Hit> {
    for (;;) {
      const seen = this.hitsOf(path);
      if (seen.length >= count) return seen[count - 1]!;
      await once(this, 'hit');
    }
  }

  /** Calls `fn` every `ms` until it returns false or the response closes; cleared by `stop` too. */
  every(res: ServerResponse, ms: number, fn: () => boolean): void {
    const timer = setInterval(() => {
      if (res.destroyed || !fn()) {
        clearInterval(timer);
        this.#timers.delete(timer);
      }
    }, ms);
    this.#timers.add(timer);
    res.on('close', () => {
      clearInterval(timer);
      this.#timers.delete(timer);
    });
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0]!;
    const hit: Hit = {
      path,
      range: req.headers.range,
      ifRange: typeof req.headers['if-range'] === 'string' ? req.headers['if-range'] : undefined,
      userAgent: req.headers['user-agent'],
      n: this.hitsOf(path).length + 1,
    };
    this.hits.push(hit);
    this.emit('hit', hit);
    const handler = this.#routes.get(path);
    if (!handler) {
      res.writeHead(404).end();
      return;
    }
    await handler(req, res, hit);
  }
}

/** `bytes=a-` or `bytes=a-b` of a file of `size` bytes → [start, end) ; undefined when absent or unusable. */
export function parseRange(range: string | undefined, size: number): { start: number; end: number } | undefined {
  const match = /^bytes=(\d+)-(\d*)$/.exec(range ?? '');
  if (!match) return undefined;
  const start = Number(match[1]);
  const end = match[2] ? Math.min(Number(match[2]) + 1, size) : size;
  return start < size ? { start, end } : undefined;
}

/** Answers a Range (or the whole file) from `body` with the headers given; ignores If-Range on purpose. */
export function sendRange(req: IncomingMessage, res: ServerResponse, body: Buffer, headers: Record<string, string>): void {
  const range = parseRange(req.headers.range, body.length);
  if (range === undefined) {
    res.writeHead(200, { 'content-type': 'application/zip', 'accept-ranges': 'bytes', 'content-length': String(body.length), ...headers });
    res.end(body);
    return;
  }
  res.writeHead(206, {
    'content-type': 'application/zip',
    'accept-ranges': 'bytes',
    'content-range': `bytes ${range.start}-${range.end - 1}/${body.length}`,
    'content-length': String(range.end - range.start),
    ...headers,
  });
  res.end(body.subarray(range.start, range.end));
}

/** Two different zips of exactly the same size and layout (stored entries): "v1" and "v2" of one package. */
export function sameSizePair(kib: number): [Buffer, Buffer] {
  const version = (seed: number): Buffer => {
    const filler = Buffer.alloc(kib * 1024);
    for (let i = 0; i < filler.length; i++) filler[i] = (i * 31 + seed * 17) & 0xff;
    return makeZip([
      { name: 'composer.json', content: JSON.stringify({ name: 'acme/pkg', v: seed }) },
      { name: 'data.bin', content: filler },
    ]);
  };
  const pair: [Buffer, Buffer] = [version(1), version(2)];
  if (pair[0].length !== pair[1].length || pair[0].equals(pair[1])) throw new Error('sameSizePair: not two same-size archives');
  return pair;
}
