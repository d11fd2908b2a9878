import { createRequire } from 'node:module';
import type * as Undici from 'undici';

/**
 * undici's dispatcher classes without its package index: `import 'undici'` also loads fetch,
 * WebSocket, EventSource, caches and mocks, ~50 ms and ~4 MB of RSS at every start (`--version`,
 * median of 10 runs each), none of which this tool uses. These are the very modules the index
 * re-exports (same files, same classes), so `instanceof` and the types are unchanged; the
 * index's one side effect is repeated below. undici has no `exports` map, so the paths resolve;
 * but they are its internals: package.json pins the patch range this layout was proven with
 * (~7.30.2, test/net/undici-lean.test.ts), and should the layout ever differ, the full index is
 * loaded instead, so a user's install can never break here.
 */
const require = createRequire(import.meta.url);

interface Dispatchers {
  readonly Agent: typeof Undici.Agent;
  readonly ProxyAgent: typeof Undici.ProxyAgent;
  readonly Dispatcher: typeof Undici.Dispatcher;
}

function load(): Dispatchers {
  try {
    const lean: Dispatchers = {
      Agent: require('undici/lib/dispatcher/agent.js') as typeof Undici.Agent,
      ProxyAgent: require('undici/lib/dispatcher/proxy-agent.js') as typeof Undici.ProxyAgent,
      Dispatcher: require('undici/lib/dispatcher/dispatcher.js') as typeof Undici.Dispatcher,
    };
    // The one side effect of undici's index that the dispatchers need: request()/stream()/… on the
    // prototype (`Object.assign(Dispatcher.prototype, api)` there; doing it twice is harmless).
    Object.assign(lean.Dispatcher.prototype, require('undici/lib/api/index.js'));
    if (typeof lean.Agent === 'function' && typeof lean.ProxyAgent === 'function' && typeof lean.Dispatcher.prototype.request === 'function') return lean;
  } catch {
    // Another layout: fall through to the public entry point.
  }
  return require('undici') as Dispatchers;
}

const undici = load();
export const Agent = undici.Agent;
export const ProxyAgent = undici.ProxyAgent;
export const DispatcherBase = undici.Dispatcher;
export type Agent = Undici.Agent;
export type ProxyAgent = Undici.ProxyAgent;
