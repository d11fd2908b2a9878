/**
 * A counting semaphore with explicit acquire/release, for the global transfer cap. p-limit
 * wraps a whole function; the native backend needs to take the slot *after* its origin gate
 * and give it back between redirect hops, so nothing waits on a gate while holding a slot.
 */
export class Semaphore {
  readonly #max: number;
  #active = 0;
  readonly #waiters: (() => void)[] = [];

  constructor(max: number) {
    this.#max = Math.max(1, max);
  }

  async acquire(signal?: AbortSignal): Promise<() => void> {
    while (this.#active >= this.#max) {
      signal?.throwIfAborted();
      await new Promise<void>((resolve) => {
        const wake = (): void => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        };
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
