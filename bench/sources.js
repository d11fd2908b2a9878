#!/usr/bin/env node
// `node bench/sources.js [--repos 12] [--delay 150] [--runs 3]` (after `npm run build && npx tsc -p tsconfig.test.json`)
// Issue 20's source scenario: N source-only packages on a git smart-HTTP server (git http-backend
// on loopback, bench-shaped by a fixed delay per request), real Composer. Compares, in one run:
//   cold:     `composer install` on an empty cache (Composer clones every mirror itself, serially)
//   prefetch: `composer-prefetch` on an empty cache, then `composer install`
// and counts the git requests `composer install` makes after the prefetch (target: 0).
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '..');
const argv = process.argv.slice(2);
const value = (name, fallback) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? Number(argv[i + 1]) : fallback;
};
const REPOS = value('repos', 12);
const DELAY = value('delay', 150);
const RUNS = value('runs', 3);
const HELPER = path.join(ROOT, 'build-test', 'test', 'helpers', 'git-server.js');
const MAIN = path.join(ROOT, 'bin', 'composer-prefetch.js');
if (!existsSync(HELPER) || !existsSync(path.join(ROOT, 'dist', 'cli', 'main.js'))) {
  console.error('Build first: npm run build && npx tsc -p tsconfig.test.json (the git server is test/helpers/git-server.ts).');
  process.exit(2);
}
const { GitServer } = await import(HELPER);

const server = new GitServer();
await server.start();
const root = mkdtempSync(path.join(os.tmpdir(), 'cp-bench-src-'));
try {
  const packages = [];
  for (let i = 0; i < REPOS; i++) {
    const name = `bench/src${String(i).padStart(2, '0')}`;
    // A few files of PHP-like text per repository, a few commits deep.
    const files = Object.fromEntries(Array.from({ length: 20 }, (_, f) => [`src/F${f}.php`, `<?php\n// ${name} ${f}\n${'echo 1;\n'.repeat(200 + f * 13)}`]));
    await server.commit(name, { files });
    const reference = await server.commit(name, { files: { 'README.md': `${name}\n` } });
    packages.push({ name, version: 'dev-main', type: 'library', source: { type: 'git', url: server.url(name), reference } });
  }
  server.delayMs = DELAY;
  const project = path.join(root, 'project');
  mkdirSync(project, { recursive: true });
  writeFileSync(
    path.join(project, 'composer.json'),
    JSON.stringify({ require: Object.fromEntries(packages.map((p) => [p.name, p.version])), 'minimum-stability': 'dev', config: { 'secure-http': false } }),
  );
  const lock = {
    'content-hash': 'x',
    packages,
    'packages-dev': [],
    'minimum-stability': 'dev',
    'stability-flags': {},
    'prefer-stable': false,
    'prefer-lowest': false,
    platform: [],
    'platform-dev': [],
  };
  writeFileSync(path.join(project, 'composer.lock'), JSON.stringify(lock));

  const env = (cache) => ({
    PATH: process.env.PATH,
    HOME: path.join(root, 'home'),
    COMPOSER_HOME: path.join(root, 'home', '.composer'),
    COMPOSER_CACHE_DIR: cache,
    COMPOSER_ALLOW_SUPERUSER: '1',
    COMPOSER_NO_INTERACTION: '1',
    COMPOSER_NO_AUDIT: '1',
  });
  const INSTALL = ['install', '--no-plugins', '--no-scripts', '--no-autoloader', '--ignore-platform-reqs', '--quiet'];
  const fresh = () => {
    rmSync(path.join(project, 'vendor'), { recursive: true, force: true });
    return path.join(root, `cache-${Math.random().toString(36).slice(2)}`);
  };
  // Asynchronous on purpose: the git server lives in this process's event loop.
  const run = (cmd, args, e) =>
    new Promise((resolve, reject) => execFile(cmd, args, { cwd: project, env: e, maxBuffer: 64 * 1024 * 1024 }, (err) => (err ? reject(err) : resolve())));
  const time = async (fn) => {
    const t = process.hrtime.bigint();
    await fn();
    return Number(process.hrtime.bigint() - t) / 1e6;
  };

  const rows = [];
  for (let r = 0; r < RUNS; r++) {
    const coldCache = fresh();
    const cold = await time(() => run('composer', INSTALL, env(coldCache)));
    const cache = fresh();
    let installRequests = 0;
    let prefetchMs = 0;
    const total = await time(async () => {
      prefetchMs = await time(() => run(process.execPath, [MAIN, '--quiet', '--no-progress'], env(cache)));
      const since = server.requests.length;
      await run('composer', INSTALL, env(cache));
      installRequests = server.requests.length - since;
    });
    rows.push({ cold, total, prefetchMs, installRequests });
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const cold = median(rows.map((x) => x.cold));
  const total = median(rows.map((x) => x.total));
  console.log(`sources: ${REPOS} git repositories, ${DELAY} ms per request, median of ${RUNS}`);
  console.log(`  cold composer install           ${(cold / 1000).toFixed(2)} s`);
  console.log(
    `  prefetch + composer install     ${(total / 1000).toFixed(2)} s (prefetch ${(median(rows.map((x) => x.prefetchMs)) / 1000).toFixed(2)} s)  ${(total / cold).toFixed(2)}×  (target ≤ 0.5×)`,
  );
  console.log(`  git requests during install     ${rows.map((x) => x.installRequests).join(', ')} (target 0)`);
} finally {
  await server.close();
  rmSync(root, { recursive: true, force: true });
}
