import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Semaphore } from '../../src/net/semaphore.js';

/** Lets every pending promise callback run. */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('Semaphore', () => {
  it('lets `limit` holders in and queues the rest in order', async () => {
    const slots = new Semaphore(2);
    const a = await slots.acquire();
    const b = await slots.acquire();
    const order: string[] = [];
    const c = slots.acquire().then((release) => {
      order.push('c');
      return release;
    });
    const d = slots.acquire().then((release) => {
      order.push('d');
      return release;
    });
    await settle();
    assert.deepEqual([order, slots.active], [[], 2]);
    a();
    const releaseC = await c;
    assert.deepEqual([order, slots.active], [['c'], 2]);
    b();
    await d;
    assert.deepEqual(order, ['c', 'd']);
    releaseC();
    assert.equal(slots.active, 1);
  });

  it('a release is counted once, however often it is called', async () => {
    const slots = new Semaphore(1);
    const release = await slots.acquire();
    release();
    release();
    assert.equal(slots.active, 0);
    await slots.acquire();
    assert.equal(slots.active, 1);
  });

  it('an aborted waiter leaves the queue and the next live one gets the slot', async () => {
    const slots = new Semaphore(1);
    const held = await slots.acquire();
    const controller = new AbortController();
    const aborted = slots.acquire(controller.signal);
    const live = slots.acquire();
    controller.abort(new Error('stop'));
    await assert.rejects(aborted, /stop/);
    held();
    const release = await live;
    assert.equal(slots.active, 1);
    release();
  });

  it('refuses at once when the signal is already aborted', async () => {
    const slots = new Semaphore(1);
    await assert.rejects(slots.acquire(AbortSignal.abort(new Error('gone'))), /gone/);
    assert.equal(slots.active, 0);
  });

  it('a raised limit wakes waiters; a lowered one lets holders finish; never below 1', async () => {
    const slots = new Semaphore(1);
    const first = await slots.acquire();
    let woken = 0;
    const waiting = [slots.acquire(), slots.acquire()].map((p) =>
      p.then((release) => {
        woken++;
        return release;
      }),
    );
    await settle();
    assert.equal(woken, 0);
    slots.limit = 3;
    const [second, third] = await Promise.all(waiting);
    assert.deepEqual([woken, slots.active], [2, 3]);
    slots.limit = 0;
    assert.equal(slots.limit, 1);
    let late = false;
    const next = slots.acquire().then((release) => {
      late = true;
      return release;
    });
    first();
    second!();
    await settle();
    assert.equal(late, false, 'still 1 active, at the lowered limit');
    third!();
    (await next)();
    assert.equal(late, true);
  });
});
