import { Semaphore } from './semaphore.js';

export interface OriginGateOptions {
  /** Never fewer parallel requests per origin than this (default 1). */
  readonly min?: number;
  /** The clock (ms); injected by tests. */
  readonly now?: () => number;
  /** Resets from one origin within `windowMs` that count as congestion (default 4 in 2 s). */
  readonly resets?: { readonly threshold: number; readonly windowMs: number };
}

/**
 * Caps requests in flight per origin and adapts the cap. An origin that says it is overloaded
 * (429, 503) gets half as many parallel requests (multiplicative decrease); one that keeps
 * cutting connections gets a quarter fewer, and only when the cuts come in a run: a single reset
 * says little (codeload cuts first responses of archives it is still building, at any load), and
 * halving at each one throttled such an origin to a few connections for a whole run. Resets
 * alone never take the cap below a quarter of `max`. Then every origin earns connections back
 * one success at a time (additive increase). Other origins keep their pace. pnpm's drop to a
 * single connection after one timeout is the lesson: never below `min`, and recover on its own.
 */
export class OriginGate {
  readonly #max: number;
  readonly #min: number;
  readonly #now: () => number;
  readonly #resetThreshold: number;
  readonly #resetWindowMs: number;
  readonly #origins = new Map<string, { slots: Semaphore; successes: number; lastDecrease: number; resets: number[] }>();

  constructor(max: number, options: number | OriginGateOptions = {}) {
    const o: OriginGateOptions = typeof options === 'number' ? { min: options } : options;
    this.#max = Math.max(1, max);
    this.#min = Math.max(1, Math.min(o.min ?? 1, this.#max));
    this.#now = o.now ?? Date.now;
    this.#resetThreshold = Math.max(1, o.resets?.threshold ?? 4);
    this.#resetWindowMs = o.resets?.windowMs ?? 2000;
  }

  acquire(origin: string, signal?: AbortSignal): Promise<() => void> {
    return this.#state(origin).slots.acquire(signal);
  }

  /**
   * The origin pushed back (429, 503): halve its cap. `requestStartedAt` (ms, on the gate's
   * clock) makes a burst count once, as TCP does per window: requests that were already in
   * flight when the cap was last lowered report the same congestion and are ignored. Without
   * that, 20 simultaneous 429s would take a cap of 64 down to 1 in an instant.
   */
  congested(origin: string, requestStartedAt?: number): void {
    this.#decrease(origin, requestStartedAt, (limit) => Math.floor(limit / 2), this.#min);
  }

  /**
   * A connection of this origin was cut (reset, closed mid-body). Lowers the cap by a quarter
   * once `threshold` cuts fell within the window, never below a quarter of `max` on cuts alone.
   */
  reset(origin: string, requestStartedAt?: number): void {
    const state = this.#state(origin);
    const now = this.#now();
    state.resets = state.resets.filter((at) => at > now - this.#resetWindowMs);
    state.resets.push(now);
    if (state.resets.length < this.#resetThreshold) return;
    state.resets = [];
    this.#decrease(origin, requestStartedAt, (limit) => Math.floor((limit * 3) / 4), Math.max(this.#min, Math.ceil(this.#max / 4)));
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

  /** The gate's clock, for `requestStartedAt`. */
  now(): number {
    return this.#now();
  }

  #decrease(origin: string, requestStartedAt: number | undefined, lower: (limit: number) => number, floor: number): void {
    const state = this.#state(origin);
    if (requestStartedAt !== undefined && requestStartedAt < state.lastDecrease) return;
    if (state.slots.limit <= floor) return;
    state.lastDecrease = this.#now();
    state.slots.limit = Math.max(floor, lower(state.slots.limit));
    state.successes = 0;
  }

  #state(origin: string) {
    let state = this.#origins.get(origin);
    if (!state) {
      state = { slots: new Semaphore(this.#max), successes: 0, lastDecrease: Number.NEGATIVE_INFINITY, resets: [] };
      this.#origins.set(origin, state);
    }
    return state;
  }
}
