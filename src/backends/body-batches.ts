import type { Readable } from 'node:stream';

/** Bytes a body may queue while its previous batch is being written; then the socket is paused. */
export const BATCH_HIGH_WATER = 256 * 1024;

/**
 * Reads a response body as batches of chunks: each batch is everything that arrived while the
 * previous one was being written, so one `writev` (one thread-pool round trip) covers many
 * socket reads, and no chunk is copied or concatenated on the way (a PassThrough with a large
 * buffer would concatenate up to 1 MiB per read and hold up to 1 MiB per transfer).
 *
 * Listeners are attached in the constructor, before any await: undici destroys the body when
 * the socket dies, and `destroy()` drops what the stream had buffered. Chunks already taken
 * into the queue survive that; they are returned first and the body's error is thrown only
 * after the last of them, so a reset mid-body still leaves every received byte to be written
 * and hashed (the `Range` offset of a resume).
 */
export class BodyBatches {
  readonly #body: Readable;
  readonly #limit: number;
  #queue: Buffer[] = [];
  #queued = 0;
  #done = false;
  #failure: unknown;
  #wake: (() => void) | undefined;
  readonly #onData = (chunk: Buffer): void => {
    this.#queue.push(chunk);
    this.#queued += chunk.length;
    if (this.#queued >= this.#limit) this.#body.pause();
    this.#notify();
  };
  readonly #onEnd = (): void => {
    this.#done = true;
    this.#notify();
  };
  readonly #onError = (error: unknown): void => {
    if (this.#failure === undefined) this.#failure = error;
    this.#done = true;
    this.#notify();
  };
  readonly #onClose = (): void => {
    // Destroyed without an error and without 'end': the body did not arrive in full.
    if (!this.#done && this.#failure === undefined) this.#failure = prematureClose();
    this.#done = true;
    this.#notify();
  };

  constructor(body: Readable, limit = BATCH_HIGH_WATER) {
    this.#body = body;
    this.#limit = limit;
    body.on('error', this.#onError);
    body.once('end', this.#onEnd);
    body.once('close', this.#onClose);
    body.on('data', this.#onData);
    // Already destroyed (the socket died while nobody was reading): no event will come.
    if (body.destroyed && !this.#done) {
      this.#failure = body.errored ?? prematureClose();
      this.#done = true;
    }
  }

  /** The next batch (never empty), or undefined at the end; throws the body's error after the last batch. */
  async next(): Promise<Buffer[] | undefined> {
    for (;;) {
      if (this.#queue.length > 0) {
        const batch = this.#queue;
        this.#queue = [];
        this.#queued = 0;
        // Resumed before the caller's write: the network keeps going while the disk works.
        if (!this.#done && this.#body.isPaused()) this.#body.resume();
        return batch;
      }
      if (this.#done) {
        if (this.#failure !== undefined) throw this.#failure;
        return undefined;
      }
      await new Promise<void>((resolve) => (this.#wake = resolve));
    }
  }

  /** Stops listening; a later error of the body is swallowed (the caller has decided already). */
  dispose(): void {
    this.#body.off('data', this.#onData);
    this.#body.off('end', this.#onEnd);
    this.#body.off('close', this.#onClose);
    this.#body.off('error', this.#onError);
    this.#body.on('error', ignore);
    this.#queue = [];
    this.#queued = 0;
    this.#notify();
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }
}

function ignore(): void {}

function prematureClose(): Error {
  return Object.assign(new Error('response body closed before its end'), { code: 'UND_ERR_SOCKET' });
}

/** Total length of a batch. */
export function batchBytes(batch: readonly Buffer[]): number {
  let n = 0;
  for (const chunk of batch) n += chunk.length;
  return n;
}
