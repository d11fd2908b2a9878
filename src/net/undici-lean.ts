import { createRequire } from 'node:module';
import type * as Undici from 'undici';

/**
 * undici's dispatcher classes without its package index: `import 'undici'` also loads fetch,
 * WebSocket, EventSource, caches and mocks, ~40 ms and ~9 MB of RSS at every start (measured,
 * bench/RESULTS.md), none of which this tool uses. These are the very modules the index
 * re-exports (same files, same classes), so `instanceof` and the types are unchanged; the
 * index's one side effect is repeated below.
 * undici has no `exports` map, so these paths are public; pinned by package-lock.json.
 */
const require = createRequire(import.meta.url);

export const Agent = require('undici/lib/dispatcher/agent.js') as typeof Undici.Agent;
export const ProxyAgent = require('undici/lib/dispatcher/proxy-agent.js') as typeof Undici.ProxyAgent;
export const DispatcherBase = require('undici/lib/dispatcher/dispatcher.js') as typeof Undici.Dispatcher;
// The one side effect of undici's index that the dispatchers need: request()/stream()/… on the
// prototype (`Object.assign(Dispatcher.prototype, api)` there; doing it twice is harmless).
Object.assign(DispatcherBase.prototype, require('undici/lib/api/index.js'));
export type Agent = Undici.Agent;
export type ProxyAgent = Undici.ProxyAgent;
