import { createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { listenOnLoopback, type Loopback } from './loopback.js';

export interface ProxyRecord {
  readonly method: string;
  /** Absolute URI for plain requests, `host:port` for CONNECT. */
  readonly target: string;
  readonly proxyAuthorization: string | undefined;
  readonly status: number;
}

/**
 * A tiny forward proxy on 127.0.0.1 for tests: absolute-URI requests (http:// targets) are
 * forwarded, CONNECT opens a tunnel. With `requireAuth` it answers 407 unless the
 * Proxy-Authorization header matches. Every request is logged.
 */
export class ForwardProxy {
  readonly log: ProxyRecord[] = [];
  #loopback: Loopback | undefined;
  #server: Server | undefined;

  readonly requireAuth: string | undefined;
  constructor(requireAuth?: string) {
    this.requireAuth = requireAuth;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.#server!.address() as AddressInfo).port}`;
  }

  #authorized(req: IncomingMessage): boolean {
    return this.requireAuth === undefined || req.headers['proxy-authorization'] === this.requireAuth;
  }

  async start(): Promise<this> {
    const server = createServer((req, res) => {
      const target = req.url ?? '';
      const record = (status: number): void =>
        void this.log.push({ method: req.method ?? 'GET', target, proxyAuthorization: req.headers['proxy-authorization'], status });
      if (!this.#authorized(req)) {
        record(407);
        res.writeHead(407, { 'proxy-authenticate': 'Basic realm="test"' });
        res.end();
        return;
      }
      let url: URL;
      try {
        url = new URL(target);
      } catch {
        record(400);
        res.writeHead(400);
        res.end('absolute URI required');
        return;
      }
      const headers = { ...req.headers };
      delete headers['proxy-authorization'];
      delete headers['proxy-connection'];
      const upstream = httpRequest({ host: url.hostname, port: url.port, path: `${url.pathname}${url.search}`, method: req.method, headers }, (up) => {
        record(up.statusCode ?? 502);
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      });
      upstream.on('error', () => {
        record(502);
        res.writeHead(502);
        res.end();
      });
      req.pipe(upstream);
    });
    server.on('connect', (req: IncomingMessage, client: Socket, head: Buffer) => {
      const target = req.url ?? '';
      const entry = (status: number): void => void this.log.push({ method: 'CONNECT', target, proxyAuthorization: req.headers['proxy-authorization'], status });
      if (!this.#authorized(req)) {
        entry(407);
        client.end('HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="test"\r\nContent-Length: 0\r\n\r\n');
        return;
      }
      const [host, port] = target.split(':');
      const upstream = connect(Number(port), host, () => {
        entry(200);
        client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        if (head.length > 0) upstream.write(head);
        upstream.pipe(client);
        client.pipe(upstream);
      });
      this.#loopback!.track(upstream);
      upstream.on('error', () => client.destroy());
      client.on('error', () => upstream.destroy());
    });
    this.#server = server;
    this.#loopback = await listenOnLoopback(server);
    return this;
  }

  async stop(): Promise<void> {
    await this.#loopback?.close();
  }
}
