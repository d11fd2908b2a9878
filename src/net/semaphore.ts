/**
 * A counting semaphore with explicit acquire/release and an adjustable limit. p-limit wraps a
 * whole function; the native backend needs to take a slot *after* its origin gate and give it
 * back between redirect hops, so nothing waits on a gate while holding a slot. The origin gate
 * lowers and raises `limit` as an origin pushes back or recovers.
 */
export class Semaphore {
  #limit: number;
  #active = 0;
  readonly #waiters: (() => void)[] = [];

  constructor(limit: number) {
    this.#limit = Math.max(1, limit);
  }

  get limit(): number {
    return this.#limit;
  }

  /** A lower limit lets in-flight holders finish; a higher one wakes waiters for the new room. */
  set limit(value: number) {
    this.#limit = Math.max(1, value);
    // Woken waiters re-check the count, so waking one too many only costs it a re-queue.
    for (let room = this.#limit - this.#active; room > 0 && this.#waiters.length > 0; room--) this.#waiters.shift()?.();
  }

  async acquire(signal?: AbortSignal): Promise<() => void> {
    while (this.#active >= this.#limit) {
      signal?.throwIfAborted();
      await new Promise<void>((resolve) => {
        const wake = (): void => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        };
        // An aborted waiter leaves the queue; otherwise a later release would wake it instead
        // of a live waiter, and that wake-up would be lost.
        const onAbort = (): void => {
          const index = this.#waiters.indexOf(wake);
          if (index >= 0) this.#waiters.splice(index, 1);
          resolve();
        };
        signal?.addEventListener('abort', onAbort, { once: true });
        this.#waiters.push(wake);
      });
    }
    signal?.throwIfAborted();
    this.#active++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#active--;
      this.#waiters.shift()?.();
    };
  }

  get active(): number {
    return this.#active;
  }
}
