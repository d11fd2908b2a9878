import { OriginGate } from '../net/origin-gate.js';
import { Semaphore } from '../net/semaphore.js';
import type { DownloadOptions } from '../types.js';

/**
 * The run's budgets for requests in flight, one for every transport `pick-backend` routes to:
 * `--concurrency` global slots and a per-origin gate (`--per-origin`, adapting to 429/503 and
 * runs of resets, net/origin-gate.ts). Whoever builds it sizes it from the run's options.
 */
export class TransferBudget {
  readonly slots = new Semaphore(1);
  #gate = new OriginGate(1);

  /** Sizes the budget for a run (its gates start afresh). */
  size(options: Pick<DownloadOptions, 'concurrency' | 'perOrigin'>): void {
    this.slots.limit = options.concurrency;
    this.#gate = new OriginGate(options.perOrigin);
  }

  get gate(): OriginGate {
    return this.#gate;
  }

  /**
   * Origin gate first, then a global slot, never the other way round: a request waiting for a
   * congested origin must not sit on a global slot that requests to other origins could use,
   * and as no one waits for a gate while holding a slot, the two cannot deadlock.
   */
  async acquire(host: string, signal: AbortSignal): Promise<() => void> {
    const gate = this.#gate;
    const releaseGate = await gate.acquire(host, signal);
    try {
      const releaseSlot = await this.slots.acquire(signal);
      return () => {
        releaseSlot();
        releaseGate();
      };
    } catch (error) {
      releaseGate();
      throw error;
    }
  }
}
