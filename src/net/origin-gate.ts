import { Semaphore } from './semaphore.js';

/**
 * Caps requests in flight per origin and adapts the cap: an origin that throttles (429/503)
 * or resets connections gets fewer parallel requests for a while (multiplicative decrease),
 * then earns them back one success at a time (additive increase). Other origins keep their
 * pace. pnpm's drop to a single connection after one timeout is the lesson: never below
 * `min`, and recover on its own.
 */
export class OriginGate {
  readonly #max: number;
  readonly #min: number;
  readonly #origins = new Map<string, { slots: Semaphore; successes: number; lastDecrease: number }>();

  constructor(max: number, min = 1) {
    this.#max = Math.max(1, max);
    this.#min = Math.max(1, Math.min(min, this.#max));
  }

  acquire(origin: string, signal?: AbortSignal): Promise<() => void> {
    return this.#state(origin).slots.acquire(signal);
  }

  /**
   * The origin pushed back (429, 503, reset): halve its cap. `requestStartedAt` (ms, Date.now())
   * makes a burst count once, as TCP does per window: requests that were already in flight
   * when the cap was last halved report the same congestion and are ignored. Without that,
   * 20 simultaneous 429s would take a cap of 64 down to 1 in an instant.
   */
  congested(origin: string, requestStartedAt?: number): void {
    const state = this.#state(origin);
    if (requestStartedAt !== undefined && requestStartedAt < state.lastDecrease) return;
    state.lastDecrease = Date.now();
    state.slots.limit = Math.max(this.#min, Math.floor(state.slots.limit / 2));
    state.successes = 0;
  }

  /** A clean transfer: after `limit` of them in a row, allow one more connection. */
  succeeded(origin: string): void {
    const state = this.#state(origin);
    if (state.slots.limit >= this.#max) return;
    state.successes++;
    if (state.successes >= state.slots.limit) {
      state.slots.limit += 1;
      state.successes = 0;
    }
  }

  limit(origin: string): number {
    return this.#state(origin).slots.limit;
  }

  #state(origin: string) {
    let state = this.#origins.get(origin);
    if (!state) {
      state = { slots: new Semaphore(this.#max), successes: 0, lastDecrease: Number.NEGATIVE_INFINITY };
      this.#origins.set(origin, state);
    }
    return state;
  }
}
