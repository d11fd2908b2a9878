// Bench-only: `node --import ./bench/h2-preload.js dist/cli/main.js …` makes composer-prefetch's
// undici pools offer h2 (ALPN) on TLS origins — undici's `allowH2` — without a product option.
// It runs before the CLI loads undici and swaps the Pool and Client classes its Agent will
// require for ones that always pass `allowH2: true` (the Pool builds the TLS connector, so it is
// the one that decides ALPN). CP_BENCH_H2_CONNECTIONS=N also caps each origin's pool at N
// connections (the polite h2 shape: one connection, many streams). Used by bench/run.js for the
// "native, h2" rows.
import { createRequire } from 'node:module';

const require = createRequire(process.argv[1]);
for (const name of ['pool', 'client']) {
  const id = require.resolve(`undici/lib/dispatcher/${name}.js`);
  const Base = require(id);
  require.cache[id].exports = class extends Base {
    constructor(url, opts) {
      const cap = Number(process.env['CP_BENCH_H2_CONNECTIONS'] ?? 0);
      super(url, { ...opts, allowH2: true, ...(name === 'pool' && cap > 0 ? { connections: cap } : {}) });
    }
  };
}
