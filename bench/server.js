// Shaped loopback dist server for `npm run bench`, run as its own process so its CPU never counts
// against the client being measured. Usage: node bench/server.js '<json options>'
//   { root, latencyMs, connBps, linkBps, range, contentLength, tls?: { key, cert }, h2? }
// tls: https (node:https, HTTP/1.1 only); tls + h2: node:http2 createSecureServer with allowHTTP1,
// so ALPN picks h2 for clients that offer it and HTTP/1.1 for the others (Composer's curl, aria2c).
// Prints {"port": N} on stdout when listening. Shaping:
//   - latency: every request waits latencyMs before its response headers (a round trip + server think time);
//   - connBps: a token bucket per TCP connection (a per-flow cap, as CDNs and long fat pipes impose);
//   - linkBps: one token bucket shared by all connections (the access link).
// range=false: no Accept-Ranges, Range ignored. contentLength=false: chunked, no Content-Length.
// cutFirst=N: the first response for each path is cut (TCP reset) after N body bytes, as GitHub's
// codeload cuts responses for archives it is still building; later requests get the whole file.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createSecureServer } from 'node:http2';
import path from 'node:path';

const o = { latencyMs: 0, connBps: 0, linkBps: 0, range: true, contentLength: true, cutFirst: 0, ...JSON.parse(process.argv[2] ?? '{}') };
const served = new Set();
const files = new Map();
for (const name of o.root ? readdirSync(o.root) : []) {
  const body = readFileSync(path.join(o.root, name));
  files.set(`/${name}`, { body, etag: `"${createHash('sha1').update(body).digest('hex').slice(0, 16)}"` });
}
// { single: file }: that one file answers every path (bench/scale.js's 50,000 packages).
if (o.single) {
  const body = readFileSync(o.single);
  const one = { body, etag: `"${createHash('sha1').update(body).digest('hex').slice(0, 16)}"` };
  files.get = () => one;
}

const CHUNK = 16 * 1024;
// Up to this much time of credit may be spent at once, so timer granularity (~1 ms) does not starve a fast bucket.
const BURST_MS = 4;
const link = { t: 0 };
const sockets = new WeakMap();
const stats = { requests: 0, bytes: 0 };

const now = () => performance.now();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function send(res, conn, body) {
  // Unshaped: the whole body in one write, as a real mirror (nginx's sendfile) hands it to the
  // kernel; 16 KiB writes made the server, not the client, the bottleneck of the loopback rows.
  if (!o.connBps && !o.linkBps) {
    stats.bytes += body.length;
    res.end(body);
    return;
  }
  for (let off = 0; off < body.length; ) {
    const n = Math.min(CHUNK, body.length - off);
    for (;;) {
      const t = now();
      const ready = Math.max(o.connBps ? conn.t : 0, o.linkBps ? link.t : 0);
      if (ready <= t + BURST_MS) break;
      await sleep(ready - t - BURST_MS / 2);
      if (res.destroyed || res.stream?.destroyed) return;
    }
    const t = now();
    if (o.connBps) conn.t = Math.max(t, conn.t) + (n * 1000) / o.connBps;
    if (o.linkBps) link.t = Math.max(t, link.t) + (n * 1000) / o.linkBps;
    if (res.destroyed || res.stream?.destroyed) return;
    stats.bytes += n;
    if (!res.write(body.subarray(off, off + n))) {
      await new Promise((r) => {
        const done = () => {
          res.off('drain', done).off('close', done);
          r();
        };
        res.on('drain', done).on('close', done);
      });
    }
    off += n;
  }
  res.end();
}

const handler = async (req, res) => {
  stats.requests++;
  // The per-connection bucket is per TCP connection: for h2 that is the session (all its streams).
  const socket = req.stream?.session ?? req.socket;
  let conn = sockets.get(socket);
  if (!conn) {
    conn = { t: 0 };
    sockets.set(socket, conn);
  }
  if (o.latencyMs) await sleep(o.latencyMs);
  const file = files.get((req.url ?? '/').split('?')[0]);
  if (!file) {
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('not found');
    return;
  }
  let body = file.body;
  let status = 200;
  const headers = { 'content-type': 'application/zip', etag: file.etag, 'last-modified': 'Tue, 02 Jan 2024 03:04:06 GMT' };
  if (o.range) {
    headers['accept-ranges'] = 'bytes';
    const m = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
    const ifRange = req.headers['if-range'];
    if (m && (ifRange === undefined || ifRange === file.etag || ifRange === headers['last-modified'])) {
      const start = Number(m[1]);
      const end = m[2] ? Math.min(Number(m[2]) + 1, body.length) : body.length;
      if (start >= body.length) {
        res.writeHead(416, { 'content-range': `bytes */${body.length}` });
        res.end();
        return;
      }
      headers['content-range'] = `bytes ${start}-${end - 1}/${body.length}`;
      body = body.subarray(start, end);
      status = 206;
    }
  }
  if (o.contentLength) headers['content-length'] = String(body.length);
  res.writeHead(status, headers);
  if (req.method === 'HEAD') return void res.end();
  const key = (req.url ?? '/').split('?')[0];
  if (o.cutFirst > 0 && !served.has(key)) {
    served.add(key);
    res.write(body.subarray(0, Math.min(o.cutFirst, body.length - 1)), () => res.socket?.resetAndDestroy());
    return;
  }
  await send(res, conn, body);
};
const server = o.tls
  ? o.h2
    ? createSecureServer({ ...o.tls, allowHTTP1: true, settings: { maxConcurrentStreams: 128 } }, handler)
    : createHttpsServer(o.tls, handler)
  : createServer(handler);
// Connections by negotiated protocol, printed to stderr at exit with CP_BENCH_SERVER_STATS=1.
const protocols = {};
server.on(o.tls ? 'secureConnection' : 'connection', (socket) => {
  const p = socket.alpnProtocol || 'http/1.1';
  protocols[p] = (protocols[p] ?? 0) + 1;
});
server.keepAliveTimeout = 30_000;
server.headersTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ port: server.address().port })}\n`);
});
process.on('message', (m) => {
  if (m === 'stats') process.send?.(stats);
});
process.on('SIGTERM', () => {
  if (process.env['CP_BENCH_SERVER_STATS'] === '1')
    process.stderr.write(`bench server: ${stats.requests} requests, connections ${JSON.stringify(protocols)}\n`);
  process.exit(0);
});
