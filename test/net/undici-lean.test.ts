import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { describe, it } from 'node:test';
import { Agent, DispatcherBase, ProxyAgent } from '../../src/net/undici-lean.js';
import { repoRoot } from '../helpers/run.js';

const require = createRequire(import.meta.url);

describe('undici-lean', () => {
  it("loads the dispatchers without undici's index (the start-up it saves)", () => {
    const index = require.resolve('undici');
    assert.equal(require.cache[index], undefined, 'undici/index.js was loaded: the lean layout no longer matches');
  });

  it('gives the very classes undici exports', () => {
    const undici = require('undici') as typeof import('undici');
    assert.equal(Agent, undici.Agent);
    assert.equal(ProxyAgent, undici.ProxyAgent);
    assert.equal(DispatcherBase, undici.Dispatcher);
    const agent = new Agent();
    assert.ok(agent instanceof undici.Dispatcher);
    assert.equal(typeof agent.request, 'function');
    void agent.close();
  });

  it('is pinned to the patch range its layout was proven with', () => {
    const range = (JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { dependencies: Record<string, string> }).dependencies['undici'];
    assert.equal(range, '~7.30.2');
    const installed = (JSON.parse(readFileSync(require.resolve('undici/package.json'), 'utf8')) as { version: string }).version;
    assert.match(installed, /^7\.30\.\d+$/);
  });
});
