/**
 * aria2's own log (`--log=- --log-level=info`), read for the HTTP exchanges it shows: every
 * request aria2 sends is logged as `CUID#n - Requesting:` with its request head, and every
 * answer as `CUID#n - Response received:` with the status line and headers (aria2's
 * `HttpConnection::sendRequest` and `HttpConnection::receiveResponse`). RPC reports only a
 * download's end; the log is the only place aria2 says which host answered, with what status,
 * how many requests it took (redirects, ranges) and what Retry-After came with a 429.
 */

/** One request aria2 sent. */
export interface Aria2Request {
  readonly cuid: number;
  readonly method: string;
  /** `host[:port]` as sent in `Host` (or the absolute request-target, through a proxy). */
  readonly host: string;
  /** Path and query as requested. */
  readonly path: string;
}

/** What the reader reports, in log order. */
export interface Aria2LogListener {
  /** A request was sent (its answer, if any, comes as `response`). */
  readonly request?: (request: Aria2Request) => void;
  /** A response head arrived for the request `cuid` sent last. */
  readonly response: (exchange: Aria2Exchange) => void;
  /** aria2 finished a download and wrote its file (`RequestGroup`'s "Download complete: <path>"). */
  readonly complete?: (path: string) => void;
  /** A line that is no log entry (console messages, such as a bind failure). */
  readonly other?: (line: string) => void;
}

/** One request aria2 sent and the response head it got. */
export interface Aria2Exchange {
  /** aria2's command id: one connection's worth of work, kept across a redirect. */
  readonly cuid: number;
  readonly method: string;
  /** `host[:port]` as sent in `Host` (or the absolute request-target, through a proxy). */
  readonly host: string;
  /** Path and query as requested. */
  readonly path: string;
  readonly status: number;
  /** Response headers, names lower-cased, the first value of each. */
  readonly headers: Readonly<Record<string, string>>;
}

const ENTRY = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d+ \[[A-Z]+\] \[[^\]]*\] (.*)$/;
const HTTP_BLOCK = /^CUID#(\d+) - (Requesting|Response received):$/;
const COMPLETE = /^Download complete: (.+)$/;

interface Block {
  readonly cuid: number;
  readonly kind: 'Requesting' | 'Response received';
  readonly lines: string[];
}

/**
 * Pure, incremental: `push` chunks of aria2's stdout as they come; the listener hears of each
 * request, each response head with the request it answers, and each finished download.
 */
export class Aria2LogReader {
  readonly #listener: Aria2LogListener;
  readonly #requests = new Map<number, Aria2Request>();
  #partial = '';
  #block: Block | undefined;

  constructor(listener: Aria2LogListener) {
    this.#listener = listener;
  }

  push(chunk: string): void {
    const text = this.#partial + chunk;
    const lines = text.split('\n');
    this.#partial = lines.pop() ?? '';
    for (const line of lines) this.#line(line.replace(/\r$/, ''));
  }

  #line(line: string): void {
    if (this.#block !== undefined) {
      // A head ends at its blank line (aria2 logs it with the CRLFs turned into newlines).
      if (line === '') {
        const block = this.#block;
        this.#block = undefined;
        this.#finish(block);
      } else {
        this.#block.lines.push(line);
      }
      return;
    }
    const entry = ENTRY.exec(line);
    if (entry === null) {
      if (line !== '') this.#listener.other?.(line);
      return;
    }
    const http = HTTP_BLOCK.exec(entry[1]!);
    if (http !== null) {
      this.#block = { cuid: Number(http[1]), kind: http[2] as Block['kind'], lines: [] };
      return;
    }
    const complete = COMPLETE.exec(entry[1]!);
    if (complete !== null) this.#listener.complete?.(complete[1]!);
  }

  #finish(block: Block): void {
    const [first = '', ...rest] = block.lines;
    const headers: Record<string, string> = {};
    for (const line of rest) {
      const colon = line.indexOf(':');
      if (colon <= 0) continue;
      const name = line.slice(0, colon).trim().toLowerCase();
      if (!(name in headers)) headers[name] = line.slice(colon + 1).trim();
    }
    if (block.kind === 'Requesting') {
      const request = /^([A-Z]+) (\S+) HTTP\/[\d.]+$/.exec(first);
      if (request === null) return;
      const [, method, target] = request as unknown as [string, string, string];
      if (/^https?:\/\//i.test(target)) {
        // Through a proxy: the absolute request-target names the host.
        try {
          const url = new URL(target);
          this.#sent({ cuid: block.cuid, method, host: url.host, path: `${url.pathname}${url.search}` });
        } catch {
          this.#requests.delete(block.cuid);
        }
        return;
      }
      this.#sent({ cuid: block.cuid, method, host: (headers['host'] ?? '').toLowerCase(), path: target });
      return;
    }
    const status = /^HTTP\/[\d.]+ (\d{3})\b/.exec(first);
    const request = this.#requests.get(block.cuid);
    if (status === null || request === undefined) return;
    this.#requests.delete(block.cuid);
    // A proxy's answer to CONNECT sets up a tunnel; the exchange with the server comes after it.
    if (request.method === 'CONNECT') return;
    this.#listener.response({ ...request, status: Number(status[1]), headers });
  }

  #sent(request: Aria2Request): void {
    this.#requests.set(request.cuid, request);
    if (request.method !== 'CONNECT') this.#listener.request?.(request);
  }
}
