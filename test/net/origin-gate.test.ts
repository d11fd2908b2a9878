import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OriginGate } from '../../src/net/origin-gate.js';

describe('OriginGate', () => {
  it('caps requests per origin and lets other origins through', async () => {
    const gate = new OriginGate(2);
    const a1 = await gate.acquire('a');
    await gate.acquire('a');
    let third = false;
    const pending = gate.acquire('a').then((release) => {
      third = true;
      return release;
    });
    const b = await gate.acquire('b');
    await new Promise((r) => setImmediate(r));
    assert.equal(third, false);
    a1();
    (await pending)();
    assert.equal(third, true);
    b();
  });

  it('halves a congested origin, never below the floor, and recovers one step per clean round', () => {
    const gate = new OriginGate(8, 1);
    gate.congested('a');
    assert.equal(gate.limit('a'), 4);
    gate.congested('a');
    gate.congested('a');
    gate.congested('a');
    assert.equal(gate.limit('a'), 1);
    assert.equal(gate.limit('b'), 8);
    gate.succeeded('a');
    assert.equal(gate.limit('a'), 2);
    gate.succeeded('a');
    gate.succeeded('a');
    assert.equal(gate.limit('a'), 3);
  });

  it('a single reset, or resets spread over time, leave the cap alone', () => {
    let t = 0;
    const gate = new OriginGate(64, { now: () => t, resets: { threshold: 4, windowMs: 2000 } });
    for (let i = 0; i < 20; i++) {
      gate.reset('codeload', t);
      t += 700; // at most 3 within any 2 s
    }
    assert.equal(gate.limit('codeload'), 64);
  });

  it('a run of resets lowers the cap by a quarter, once per run, and never below a quarter of max', () => {
    let t = 0;
    const gate = new OriginGate(64, { now: () => t, resets: { threshold: 4, windowMs: 2000 } });
    for (let i = 0; i < 4; i++) gate.reset('a', t);
    assert.equal(gate.limit('a'), 48);
    // More cuts from requests sent before that decrease: the same congestion, counted once.
    for (let i = 0; i < 8; i++) gate.reset('a', t - 1);
    assert.equal(gate.limit('a'), 48);
    for (let run = 0; run < 20; run++) {
      t += 10;
      for (let i = 0; i < 4; i++) gate.reset('a', t);
    }
    assert.equal(gate.limit('a'), 16, 'cuts alone stop at max/4');
    // Throttling still halves below that.
    t += 10;
    gate.congested('a', t);
    assert.equal(gate.limit('a'), 8);
  });

  it('throttling from requests sent before the last decrease counts once (the injected clock dates them)', () => {
    let t = 1000;
    const gate = new OriginGate(64, { now: () => t });
    for (let i = 0; i < 20; i++) gate.congested('a', 990);
    assert.equal(gate.limit('a'), 32);
    t = 1005;
    gate.congested('a', 1001);
    assert.equal(gate.limit('a'), 16);
  });

  it('stops waiting when aborted', async () => {
    const gate = new OriginGate(1);
    await gate.acquire('a');
    const controller = new AbortController();
    const waiting = gate.acquire('a', controller.signal);
    controller.abort();
    await assert.rejects(waiting);
  });
});
