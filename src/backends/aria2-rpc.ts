import { Client } from 'undici';

/** An error object from aria2's JSON-RPC (`{code, message}`), or a transport failure. */
export class Aria2RpcError extends Error {
  readonly rpcCode: number | undefined;
  constructor(message: string, rpcCode?: number, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'Aria2RpcError';
    this.rpcCode = rpcCode;
  }
}

export interface Aria2Call {
  readonly method: string;
  readonly params: readonly unknown[];
}

/**
 * A minimal JSON-RPC 2.0 client for aria2 over plain HTTP on loopback. It has its own undici
 * `Client`, so a global dispatcher (e.g. an env proxy agent) can never route the secret elsewhere.
 * The secret is sent as aria2 wants it: `token:<secret>` as the first parameter of every call.
 */
export class Aria2Rpc {
  readonly #client: Client;
  readonly #token: string;
  #nextId = 1;

  constructor(port: number, secret: string) {
    this.#client = new Client(`http://127.0.0.1:${port}`, { headersTimeout: 15_000, bodyTimeout: 15_000, keepAliveTimeout: 30_000 });
    this.#token = `token:${secret}`;
  }

  async call<T>(method: string, ...params: unknown[]): Promise<T> {
    return this.#post<T>({ jsonrpc: '2.0', id: String(this.#nextId++), method, params: [this.#token, ...params] });
  }

  /** Several calls in one round trip; each result is `[value]` or an error object, as aria2 answers. */
  async multicall(calls: readonly Aria2Call[]): Promise<unknown[]> {
    const methods = calls.map((c) => ({ methodName: c.method, params: [this.#token, ...c.params] }));
    return this.#post<unknown[]>({ jsonrpc: '2.0', id: String(this.#nextId++), method: 'system.multicall', params: [methods] });
  }

  async close(): Promise<void> {
    await this.#client.destroy().catch(() => undefined);
  }

  async #post<T>(payload: Record<string, unknown>): Promise<T> {
    let text: string;
    try {
      const response = await this.#client.request({
        path: '/jsonrpc',
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(payload),
      });
      text = await response.body.text();
    } catch (error) {
      throw new Aria2RpcError(`aria2 RPC unreachable: ${error instanceof Error ? error.message : String(error)}`, undefined, error);
    }
    let parsed: { result?: T; error?: { code?: number; message?: string } };
    try {
      parsed = JSON.parse(text) as typeof parsed;
    } catch (error) {
      throw new Aria2RpcError('aria2 RPC sent a response that is not JSON', undefined, error);
    }
    if (parsed.error !== undefined) throw new Aria2RpcError(`aria2 RPC: ${parsed.error.message ?? 'error'}`, parsed.error.code);
    return parsed.result as T;
  }
}
