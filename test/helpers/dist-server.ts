import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createHash } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { composerPackageZip } from './archives.js';
import { listenOnLoopback, type Loopback } from './loopback.js';

const sha1 = (b: Buffer | string): string => createHash('sha1').update(b).digest('hex');

export interface Route {
  readonly body: Buffer;
  readonly contentType?: string;
  readonly headers?: Readonly<Record<string, string>>;
  /** Answer Range requests with 206 (default true). */
  readonly ranges?: boolean;
  /** Send the body slowly: `bytes` per chunk, `ms` between chunks (a slow link, for kill tests). */
  readonly throttle?: { readonly bytes: number; readonly ms: number };
}

/** A fault applied to the next N requests of a path, then the real route answers. */
export type Fault =
  /** `headers` may be a function, called when the fault is served (e.g. a Retry-After date relative to that moment). */
  | { readonly kind: 'status'; readonly status: number; readonly headers?: Readonly<Record<string, string>> | (() => Record<string, string>) }
  | { readonly kind: 'reset-mid-body'; readonly afterBytes: number }
  | { readonly kind: 'truncate'; readonly afterBytes: number }
  /**
   * Same-length body with damaged bytes: 64 bytes at a third of the body set to 'A', or, with
   * `at`, `length` (default 4) bytes of the whole archive from offset `at` inverted (applied before
   * a Range slice, so resumed and split downloads see the same damaged archive).
   */
  | { readonly kind: 'corrupt'; readonly at?: number; readonly length?: number }
  | { readonly kind: 'stall-headers'; readonly ms: number }
  | { readonly kind: 'stall-body'; readonly afterBytes: number; readonly ms: number }
  | { readonly kind: 'ignore-range' }
  | { readonly kind: 'redirect'; readonly location: string; readonly status?: number };

export interface RequestRecord {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingMessage['headers'];
  readonly status: number;
  /** Client port of the connection: a new one means a new TCP connection. */
  readonly remotePort: number | undefined;
  /** The fault applied to this request, if any. */
  readonly fault: Fault['kind'] | undefined;
}

/**
 * A loopback dist server for tests: 127.0.0.1 on a random port, routes by path, per-path
 * faults that run out (so a retrying client can succeed), and a log of every request.
 */
export class DistServer {
  readonly routes = new Map<string, Route>();
  readonly requests: RequestRecord[] = [];
  readonly #faults = new Map<string, { fault: Fault; remaining: number }[]>();
  #loopback: Loopback | undefined;
  #server: Server | undefined;
  /** Called before routing; return true when it answered the request itself. */
  intercept: ((req: IncomingMessage, res: ServerResponse) => boolean) | undefined;

  get origin(): string {
    const address = this.#server?.address() as AddressInfo | undefined;
    if (!address) throw new Error('server not started');
    return `http://127.0.0.1:${address.port}`;
  }

  get port(): number {
    const address = this.#server?.address() as AddressInfo | undefined;
    if (!address) throw new Error('server not started');
    return address.port;
  }

  async start(): Promise<this> {
    this.#server = createServer((req, res) => void this.#handle(req, res));
    this.#loopback = await listenOnLoopback(this.#server);
    return this;
  }

  async stop(): Promise<void> {
    await this.#loopback?.close();
  }

  add(path: string, body: Buffer, options: Omit<Route, 'body'> = {}): string {
    this.routes.set(path, { body, ...options });
    return `${this.origin}${path}`;
  }

  /**
   * Serves a package zip (`composerPackageZip`) for each name at `<prefix>/<vendor-name>.zip` and
   * returns the lock entries that point at them, with their shasum.
   */
  addPackages(
    names: readonly string[],
    prefix = '/dists',
  ): { name: string; version: string; type: string; dist: { type: string; url: string; reference: string; shasum: string } }[] {
    return names.map((name) => {
      const zip = composerPackageZip(name, '1.0.0');
      const url = this.add(`${prefix}/${name.replace('/', '-')}.zip`, zip);
      return { name, version: '1.0.0', type: 'library', dist: { type: 'zip', url, reference: sha1(name), shasum: sha1(zip) } };
    });
  }

  fault(path: string, fault: Fault, times = 1): void {
    const list = this.#faults.get(path) ?? [];
    list.push({ fault, remaining: times });
    this.#faults.set(path, list);
  }

  /** Drops the faults still armed for a path: from now on it answers well. */
  clearFaults(path: string): void {
    this.#faults.delete(path);
  }

  /** GET requests whose path matches. */
  hits(predicate: (path: string) => boolean = () => true): number {
    return this.requests.filter((r) => r.method === 'GET' && predicate(r.path)).length;
  }

  resetLog(): void {
    this.requests.length = 0;
  }

  #record(req: IncomingMessage, status: number, fault?: Fault): void {
    this.requests.push({
      method: req.method ?? 'GET',
      path: (req.url ?? '/').split('?')[0]!,
      headers: req.headers,
      status,
      remotePort: req.socket.remotePort,
      fault: fault?.kind,
    });
  }

  /** Faults not yet used up, per path (0 everywhere once a retrying client got through). */
  remainingFaults(): number {
    let n = 0;
    for (const list of this.#faults.values()) for (const f of list) n += f.remaining;
    return n;
  }

  #nextFault(path: string): Fault | undefined {
    const list = this.#faults.get(path);
    const entry = list?.find((f) => f.remaining > 0);
    if (!entry) return undefined;
    entry.remaining--;
    return entry.fault;
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (this.intercept?.(req, res)) {
      this.#record(req, res.statusCode);
      return;
    }
    const path = (req.url ?? '/').split('?')[0]!;
    const route = this.routes.get(path);
    const fault = this.#nextFault(path);
    if (fault?.kind === 'status') {
      this.#record(req, fault.status, fault);
      res.writeHead(fault.status, { 'content-type': 'text/html', ...(typeof fault.headers === 'function' ? fault.headers() : fault.headers) });
      res.end(`<html><body>${fault.status}</body></html>`);
      return;
    }
    if (fault?.kind === 'redirect') {
      this.#record(req, fault.status ?? 302, fault);
      res.writeHead(fault.status ?? 302, { location: fault.location });
      res.end();
      return;
    }
    // A stalled request is logged when it arrives: its late answer (often to a client that gave up
    // long ago) must not show up in a log that a test has reset in the meantime.
    let logged = false;
    const record = (status: number, f?: Fault): void => void (logged || this.#record(req, status, f));
    if (fault?.kind === 'stall-headers') {
      this.#record(req, 0, fault);
      logged = true;
      await new Promise((r) => setTimeout(r, fault.ms));
      if (res.destroyed || req.socket.destroyed) return;
    }
    if (!route) {
      record(404);
      res.writeHead(404, { 'content-type': 'text/html' });
      res.end('<html><body>Not Found</body></html>');
      return;
    }
    let body = route.body;
    if (fault?.kind === 'corrupt' && fault.at !== undefined) {
      body = Buffer.from(body);
      for (let i = fault.at; i < Math.min(fault.at + (fault.length ?? 4), body.length); i++) body[i] = body[i]! ^ 0xff;
    }
    let status = 200;
    const headers: Record<string, string> = {
      'content-type': route.contentType ?? 'application/octet-stream',
      etag: `"${body.length}-${path.length}"`,
      'accept-ranges': route.ranges === false ? 'none' : 'bytes',
      ...route.headers,
    };
    const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
    const ifRange = req.headers['if-range'];
    if (range && route.ranges !== false && fault?.kind !== 'ignore-range' && (ifRange === undefined || ifRange === headers['etag'])) {
      const start = Number(range[1]);
      if (start >= body.length) {
        record(416);
        res.writeHead(416, { 'content-range': `bytes */${body.length}` });
        res.end();
        return;
      }
      // Closed ranges (`bytes=a-b`) too: segmented downloads ask for one slice each.
      const end = range[2] ? Math.min(Number(range[2]) + 1, body.length) : body.length;
      headers['content-range'] = `bytes ${start}-${end - 1}/${body.length}`;
      body = body.subarray(start, end);
      status = 206;
    }
    if (fault?.kind === 'corrupt' && fault.at === undefined) {
      body = Buffer.from(body);
      body.fill(0x41, Math.floor(body.length / 3), Math.floor(body.length / 3) + 64);
    }
    headers['content-length'] = String(body.length);
    record(status, fault);
    if (req.method === 'HEAD') {
      res.writeHead(status, headers);
      res.end();
      return;
    }
    res.writeHead(status, headers);
    if (fault?.kind === 'reset-mid-body' || fault?.kind === 'truncate') {
      res.write(body.subarray(0, fault.afterBytes), () => {
        if (fault.kind === 'reset-mid-body') res.socket?.resetAndDestroy();
        else res.socket?.destroy();
      });
      return;
    }
    if (fault?.kind === 'stall-body') {
      res.write(body.subarray(0, fault.afterBytes));
      await new Promise((r) => setTimeout(r, fault.ms));
      if (res.destroyed) return;
      res.end(body.subarray(fault.afterBytes));
      return;
    }
    if (route.throttle) {
      const { bytes, ms } = route.throttle;
      for (let at = 0; at < body.length; at += bytes) {
        if (res.destroyed) return;
        res.write(body.subarray(at, at + bytes));
        await new Promise((r) => setTimeout(r, ms));
      }
      if (!res.destroyed) res.end();
      return;
    }
    res.end(body);
  }
}
