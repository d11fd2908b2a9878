import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import { listenOnLoopback, type Loopback } from './loopback.js';

export interface FakeRequest {
  readonly scheme: 'http' | 'https';
  /** `host[:port]` the client asked for. */
  readonly host: string;
  /** Path and query. */
  readonly path: string;
  readonly headers: IncomingMessage['headers'];
  /** When it arrived (Date.now()). */
  readonly at: number;
}

export type FakeHandler = (req: FakeRequest, res: ServerResponse, hit: number) => void;

/**
 * Hosts of the real internet (codeload.github.com, api.github.com, …) on loopback: an HTTP proxy
 * that answers every absolute-URI request itself, by `host` + path, so a client with `http_proxy`
 * pointing here and `http://` URLs talks to "codeload" without DNS or network. Every request is
 * logged, in arrival order: the ground truth of what the servers saw. With a certificate, an
 * `https://` host is reached through a CONNECT tunnel, its TLS ended here with that certificate.
 */
export class FakeInternet {
  /** CONNECT tunnels opened, by `host:port`, in order. */
  readonly tunnels: string[] = [];
  readonly #tls: { readonly key: string; readonly cert: string } | undefined;

  constructor(tls?: { readonly key: string; readonly cert: string }) {
    this.#tls = tls;
  }

  readonly log: (FakeRequest & { status: number })[] = [];
  readonly #routes = new Map<string, FakeHandler>();
  readonly #hits = new Map<string, number>();
  #loopback: Loopback | undefined;
  #server: Server | undefined;

  get url(): string {
    return `http://127.0.0.1:${(this.#server!.address() as AddressInfo).port}`;
  }

  /** Answers `<scheme>://<host><path>`; `hit` counts from 1 per route. Returns the URL. */
  route(host: string, path: string, handler: FakeHandler, scheme: 'http' | 'https' = 'http'): string {
    this.#routes.set(`${scheme}://${host}${path}`, handler);
    return `${scheme}://${host}${path}`;
  }

  /** Requests the servers saw for one URL. */
  seen(url: string): (FakeRequest & { status: number })[] {
    const u = new URL(url);
    return this.log.filter((r) => `${r.scheme}:` === u.protocol && r.host === u.host && r.path === `${u.pathname}${u.search}`);
  }

  async start(): Promise<this> {
    this.#server = createServer((req, res) => {
      let target: URL;
      const tunneled = req.socket instanceof TLSSocket;
      try {
        // Through a tunnel the request is origin-form, its host in `Host`.
        target = tunneled ? new URL(req.url ?? '/', `https://${req.headers.host ?? ''}`) : new URL(req.url ?? '');
      } catch {
        res.writeHead(400).end('absolute URI required');
        return;
      }
      const request: FakeRequest = {
        scheme: tunneled ? 'https' : 'http',
        host: target.host,
        path: `${target.pathname}${target.search}`,
        headers: req.headers,
        at: Date.now(),
      };
      const entry = { ...request, status: 0 };
      this.log.push(entry);
      res.on('finish', () => {
        entry.status = res.statusCode;
      });
      // Also when the handler cuts the connection before a status line: no status, still a request.
      res.on('close', () => {
        entry.status ||= res.headersSent ? res.statusCode : -1;
      });
      const key = `${request.scheme}://${request.host}${request.path}`;
      const handler = this.#routes.get(key);
      if (handler === undefined) {
        res.writeHead(404).end();
        return;
      }
      const hit = (this.#hits.get(key) ?? 0) + 1;
      this.#hits.set(key, hit);
      handler(request, res, hit);
    });
    this.#server.on('connect', (req: IncomingMessage, client: Socket, head: Buffer) => {
      this.tunnels.push(req.url ?? '');
      if (this.#tls === undefined) {
        client.end('HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\n\r\n');
        return;
      }
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length > 0) client.unshift(head);
      const tls = new TLSSocket(client, { isServer: true, key: this.#tls.key, cert: this.#tls.cert });
      tls.on('error', () => client.destroy());
      this.#loopback!.track(client);
      this.#server!.emit('connection', tls);
    });
    this.#loopback = await listenOnLoopback(this.#server);
    return this;
  }

  async stop(): Promise<void> {
    await this.#loopback?.close();
  }
}
