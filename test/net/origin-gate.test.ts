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

  it('stops waiting when aborted', async () => {
    const gate = new OriginGate(1);
    await gate.acquire('a');
    const controller = new AbortController();
    const waiting = gate.acquire('a', controller.signal);
    controller.abort();
    await assert.rejects(waiting);
  });
});
