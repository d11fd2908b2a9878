#!/usr/bin/env node
// `npm run bench [-- --quick] [-- --build DIR] [-- --only far-big,near] [-- --no-sweep] [-- --no-composer]`
// Side-by-side download benchmark: composer-prefetch (native, aria2 backend), real Composer
// `install --download-only` on a cold cache, and raw aria2c, all against one shaped loopback
// server per scenario (bench/server.js, its own process). Workloads are the real fixture locks
// with dist URLs rewritten to the server and archives generated with a fixed seed (bench/zip.js).
// Wall time is measured here; CPU (user+sys) and peak RSS of the child come from /usr/bin/time.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { makeBenchZip, prng } from './zip.js';

const ROOT = path.resolve(import.meta.dirname, '..');
const argv = process.argv.slice(2);
const flag = (name) => argv.includes(`--${name}`);
const value = (name) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : undefined;
};
const QUICK = flag('quick');
// `--ab … --install`: time prefetch + `composer install` against a cold `composer install` (runInstall).
const INSTALL = flag('install');
const BUILD = path.resolve(value('build') ?? process.env['CP_BENCH_BUILD'] ?? path.join(ROOT, 'dist'));
let MAIN = path.join(BUILD, 'cli', 'main.js');
const ONLY = value('only')?.split(',');
// Quick mode scales every archive down 4× (largest 5 MiB instead of 20 MiB); ratios stay comparable.
const SCALE = Number(value('scale') ?? (QUICK ? 0.25 : 1));
const WORK = path.join(ROOT, 'bench', '.work');
const LOCKS = path.join(ROOT, 'test', 'fixtures', 'locks');
const TIME = existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined;
const SEED = 20240102;
const NODE_ARGS = (process.env['CP_BENCH_NODE_ARGS'] ?? '').split(' ').filter(Boolean);
const WRAP = (process.env['CP_BENCH_WRAP'] ?? '').split(' ').filter(Boolean);
const MiB = 1024 * 1024;
const Mbit = 1_000_000 / 8;

if (!existsSync(MAIN) && !value('ab')) {
  console.error(`No build at ${MAIN}: run \`npm run build\` or pass --build DIR.`);
  process.exit(2);
}

// ---------------------------------------------------------------- workloads

/** Realistic archive sizes: most tens of KiB, some MiB, a few 10–20 MiB (the largest pinned to 20 MiB). */
function sizesFor(count, kind, seed) {
  const rand = prng(seed);
  const logUniform = (lo, hi) => Math.round(lo * Math.exp(rand() * Math.log(hi / lo)));
  const sizes = [];
  for (let i = 0; i < count; i++) {
    const u = rand();
    if (kind === 'many') sizes.push(u < 0.9 ? logUniform(8 * 1024, 160 * 1024) : logUniform(200 * 1024, 1.5 * MiB));
    else sizes.push(u < 0.85 ? logUniform(8 * 1024, 200 * 1024) : u < 0.98 ? logUniform(300 * 1024, 3 * MiB) : logUniform(10 * MiB, 20 * MiB));
  }
  if (kind === 'big') {
    // Pin the shape the scenario is about: one ~20 MiB archive and two more of 10+ MiB.
    sizes[Math.floor(count / 3)] = 20 * MiB;
    sizes[Math.floor((2 * count) / 3)] = 12 * MiB;
  }
  return sizes;
}

function workload(name, lockFile, kind) {
  const lock = JSON.parse(readFileSync(path.join(LOCKS, lockFile), 'utf8'));
  const all = [...lock.packages, ...(lock['packages-dev'] ?? [])];
  const kept = all.filter((p) => p.dist?.type === 'zip' && /^https?:\/\//.test(p.dist.url ?? ''));
  const sizes = sizesFor(kept.length, kind, SEED + lockFile.length).map((s) => Math.max(2048, Math.round(s * SCALE)));
  const dir = path.join(WORK, 'data', `${name}-${SCALE}`);
  const files = kept.map((p, i) => ({ pkg: p, file: `${String(i).padStart(3, '0')}-${p.name.replace('/', '--')}.zip`, size: sizes[i] }));
  // Generated once per (workload, scale) and reused; the marker is written last.
  if (!existsSync(`${dir}.done`)) {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    files.forEach((f, i) => {
      writeFileSync(path.join(dir, f.file), makeBenchZip(f.pkg.name, f.size, SEED + i));
    });
    writeFileSync(`${dir}.done`, '');
  }
  for (const f of files) f.size = statSync(path.join(dir, f.file)).size;
  const total = files.reduce((a, f) => a + f.size, 0);
  const largest = Math.max(...files.map((f) => f.size));
  // Metapackages keep a dist in some locks, but neither Composer nor the prefetch downloads one
  // (MetapackageInstaller): mautic has two, so 250 of its 252 archives land.
  const downloadable = files.filter((f) => f.pkg.type !== 'metapackage').length;
  return { name, lockFile, lock, kept: new Set(kept), files, dir, total, largest, downloadable };
}

/** A temp project whose lock points at `origin`; Composer accepts it with secure-http off. */
function project(w, origin) {
  const dir = mkdtempSync(path.join(os.tmpdir(), `cp-bench-${w.name}-`));
  const byPkg = new Map(w.files.map((f) => [f.pkg, f]));
  const rewrite = (list) =>
    (list ?? [])
      .filter((p) => w.kept.has(p))
      .map((p) => {
        const { require: _r, 'require-dev': _rd, conflict: _c, 'notification-url': _n, ...rest } = p;
        // Requirements are stripped: the bench lock drops source-only packages, and Composer must
        // not solve anything, only download.
        return { ...rest, dist: { type: 'zip', url: `${origin}/${byPkg.get(p).file}`, reference: p.dist.reference ?? '', shasum: '' } };
      });
  const lock = { ...w.lock, packages: rewrite(w.lock.packages), 'packages-dev': rewrite(w.lock['packages-dev']), platform: {}, 'platform-dev': {} };
  writeFileSync(path.join(dir, 'composer.lock'), JSON.stringify(lock, null, 4));
  const config = origin.startsWith('https:') ? { cafile: pki().caFile } : { 'secure-http': false };
  writeFileSync(path.join(dir, 'composer.json'), JSON.stringify({ name: 'bench/project', config }, null, 4));
  writeFileSync(path.join(dir, 'urls.txt'), `${w.files.map((f) => `${origin}/${f.file}\n  out=${f.file}`).join('\n')}\n`);
  mkdirSync(path.join(dir, 'home'), { recursive: true });
  return dir;
}

// ---------------------------------------------------------------- TLS

/**
 * A private CA and a certificate for 127.0.0.1 signed by it (openssl CLI, made once under
 * bench/.work/pki). Composer gets the CA through the project's `cafile` (and so does
 * composer-prefetch, which reads the same setting), raw aria2c through --ca-certificate.
 */
let pkiCache;
function pki() {
  if (pkiCache) return pkiCache;
  const dir = path.join(WORK, 'pki');
  if (!existsSync(path.join(dir, 'done'))) {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const ssl = (...args) => execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
    ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '3650', '-subj', '/CN=composer-prefetch bench CA', '-keyout', 'ca.key', '-out', 'ca.pem');
    ssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=127.0.0.1', '-keyout', 'server.key', '-out', 'server.csr');
    writeFileSync(path.join(dir, 'ext.cnf'), 'subjectAltName=IP:127.0.0.1\n');
    ssl(
      'x509',
      '-req',
      '-in',
      'server.csr',
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-days',
      '3650',
      '-extfile',
      'ext.cnf',
      '-out',
      'server.pem',
    );
    writeFileSync(path.join(dir, 'done'), '');
  }
  const read = (f) => readFileSync(path.join(dir, f), 'utf8');
  pkiCache = { caFile: path.join(dir, 'ca.pem'), key: read('server.key'), cert: read('server.pem') };
  return pkiCache;
}

// ---------------------------------------------------------------- server and runs

/** `proto`: 'http' (default), 'https' (HTTP/1.1 over TLS) or 'h2' (TLS, ALPN h2 with HTTP/1.1 fallback). */
async function startServer(root, shaping, proto = 'http') {
  const tls = proto === 'http' ? {} : { tls: { key: pki().key, cert: pki().cert }, h2: proto === 'h2' };
  const child = spawn(process.execPath, [path.join(ROOT, 'bench', 'server.js'), JSON.stringify({ root, ...shaping, ...tls })], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise((resolve, reject) => {
    child.stdout.once('data', (d) => resolve(JSON.parse(String(d)).port));
    child.once('exit', (code) => reject(new Error(`bench server exited ${code}`)));
  });
  return {
    origin: `${proto === 'http' ? 'http' : 'https'}://127.0.0.1:${port}`,
    stop: () =>
      new Promise((r) => {
        if (child.exitCode !== null) {
          r();
          return;
        }
        child.once('exit', r);
        child.kill('SIGTERM');
      }),
  };
}

function countFiles(dir, ext = '.zip') {
  if (!existsSync(dir)) return 0;
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) if (e.isFile() && e.name.endsWith(ext) && !e.name.startsWith('.')) n++;
  return n;
}

async function timed(cmd, args, { cwd, env, timeoutMs = 600_000 }) {
  const tf = path.join(cwd, `.time-${Date.now()}-${Math.random().toString(36).slice(2)}`);
  const [file, fargs] = TIME ? [TIME, ['-f', '%U %S %M', '-o', tf, cmd, ...args]] : [cmd, args];
  const started = performance.now();
  const child = spawn(file, fargs, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => (out = (out + d).slice(-4000)));
  child.stderr.on('data', (d) => (out = (out + d).slice(-4000)));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const code = await new Promise((r) => child.once('exit', (c) => r(c ?? -1)));
  clearTimeout(timer);
  const wall = (performance.now() - started) / 1000;
  let cpu, rssMB;
  if (TIME && existsSync(tf)) {
    const line = readFileSync(tf, 'utf8').trim().split('\n').at(-1).split(' ');
    cpu = Number(line[0]) + Number(line[1]);
    rssMB = Number(line[2]) / 1024;
  }
  return { code, wall, cpu, rssMB, out };
}

function baseEnv(dir) {
  return {
    PATH: process.env['PATH'],
    HOME: path.join(dir, 'home'),
    COMPOSER_HOME: path.join(dir, 'home', '.composer'),
    COMPOSER_ALLOW_SUPERUSER: '1',
    COMPOSER_NO_INTERACTION: '1',
    COMPOSER_NO_AUDIT: '1',
  };
}

const COMPOSER_FLAGS = ['--no-plugins', '--no-scripts', '--ignore-platform-reqs', '--no-interaction', '--no-progress'];

const CLIENTS = {
  // CP_BENCH_NODE_ARGS (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof") profiles the native client.
  // CP_BENCH_WRAP (e.g. "strace -f -c -o /tmp/st") runs it under another tool.
  native: (_dir, cache, extra = []) => {
    const args = [...NODE_ARGS, MAIN, '--cache-dir', cache, '-q', ...extra, 'composer.lock'];
    return WRAP.length > 0 ? [WRAP[0], [...WRAP.slice(1), process.execPath, ...args]] : [process.execPath, args];
  },
  'aria2 backend': (_dir, cache, extra = []) => [process.execPath, [MAIN, '--cache-dir', cache, '-q', '--backend', 'aria2', ...extra, 'composer.lock']],
  // bench/floor.js: undici alone, bytes straight to files (no checks, no fsync): the lower bound of any Node client.
  floor: (dir, cache) => [
    process.execPath,
    [path.join(ROOT, 'bench', 'floor.js'), path.join(dir, 'urls.txt'), cache, ...(existsSync(path.join(WORK, 'pki', 'done')) ? [pki().caFile] : [])],
  ],
  composer: () => ['composer', ['install', '--download-only', ...COMPOSER_FLAGS]],
  'raw aria2c': (_dir, cache) => [
    'aria2c',
    [
      '-i',
      'urls.txt',
      '-d',
      cache,
      `--ca-certificate=${pki().caFile}`,
      '-j16',
      '-x16',
      '-s16',
      '-k1M',
      '--file-allocation=none',
      '-q',
      '--auto-file-renaming=false',
      '--allow-overwrite=true',
      '--max-tries=5',
      '--retry-wait=1',
    ],
  ],
};

/** One cold run of one client; `ok` only when every archive landed. */
async function runClient(client, w, origin, extra = [], extraEnv = {}) {
  const dir = project(w, origin);
  const cache = path.join(dir, 'cache');
  const [cmd, args] = CLIENTS[client](dir, cache, extra);
  const env = { ...baseEnv(dir), ...(client === 'composer' ? { COMPOSER_CACHE_DIR: cache } : {}), ...extraEnv };
  const r = await timed(cmd, args, { cwd: dir, env });
  const landed = countFiles(cache);
  const ok = r.code === 0 && landed === w.downloadable;
  const result = {
    client,
    ...r,
    ok,
    landed,
    note: ok ? '' : `exit ${r.code}, ${landed}/${w.downloadable} archives: ${r.out.trim().split('\n').slice(-2).join(' | ').slice(0, 200)}`,
  };
  rmSync(dir, { recursive: true, force: true });
  return result;
}

/**
 * What a user waits for (`--ab … --install`): for a build, a prefetch on a cold cache and then a
 * full `composer install` from that cache; for `composer`, a cold `composer install` that downloads
 * and extracts itself. Wall and CPU are the sums of both steps; RSS is the larger peak.
 */
async function runInstall(client, w, origin, extra = [], extraEnv = {}) {
  const dir = project(w, origin);
  const cache = path.join(dir, 'cache');
  const env = { ...baseEnv(dir), COMPOSER_CACHE_DIR: cache, ...extraEnv };
  const steps = [];
  if (client !== 'composer') {
    const [cmd, args] = CLIENTS[client](dir, cache, extra);
    steps.push(await timed(cmd, args, { cwd: dir, env }));
  }
  // --no-autoloader: the bench archives hold random bytes, not the classes the locks' autoload
  // sections name, and the autoloader is the same work after a prefetch or not.
  steps.push(await timed('composer', ['install', '--no-autoloader', ...COMPOSER_FLAGS], { cwd: dir, env }));
  const installed = countFiles(path.join(dir, 'vendor'), 'composer.json');
  const wanted = w.downloadable;
  const ok = steps.every((r) => r.code === 0) && installed >= wanted;
  const sum = (k) => steps.reduce((a, r) => a + (r[k] ?? NaN), 0);
  const last = steps.at(-1);
  rmSync(dir, { recursive: true, force: true });
  return {
    client,
    code: last.code,
    wall: sum('wall'),
    cpu: sum('cpu'),
    rssMB: Math.max(...steps.map((r) => r.rssMB ?? NaN)),
    ok,
    note: ok
      ? ''
      : `exit ${steps.map((r) => r.code).join('/')}, ${installed}/${wanted} packages installed: ${last.out.trim().split('\n').slice(-2).join(' | ').slice(0, 200)}`,
  };
}

// ---------------------------------------------------------------- scenarios

const far = { latencyMs: 80, connBps: 4 * Mbit, linkBps: 200 * Mbit };
const SCENARIOS = [
  { name: 'far-big', workload: 'big', shaping: { ...far, range: true, contentLength: true }, split: true },
  { name: 'far-many', workload: 'many', shaping: { latencyMs: 300, connBps: 40 * Mbit, linkBps: 400 * Mbit, range: true, contentLength: true }, split: true },
  { name: 'no-range', workload: 'big', shaping: { ...far, range: false, contentLength: false }, split: false },
  { name: 'near', workload: 'big', shaping: { latencyMs: 5, connBps: 0, linkBps: 0, range: true, contentLength: true }, split: true },
  // GitHub's codeload: archives made on the fly (chunked, no ranges), first responses cut.
  {
    name: 'codeload-cuts',
    workload: 'many',
    shaping: { latencyMs: 30, connBps: 40 * Mbit, linkBps: 400 * Mbit, range: false, contentLength: false, cutFirst: 16 * 1024 },
    split: false,
  },
  // The same over TLS: HTTP/1.1 only (https), and an origin that offers h2 (h2). Composer (curl)
  // and aria2c speak HTTP/1.1 to both; composer-prefetch (HTTP/1.1 by default) runs a second time
  // on the h2 origin with undici's allowH2 forced on by bench/h2-preload.js ("native, h2").
  ...['https', 'h2'].flatMap((proto) => [
    { name: `near-${proto}`, proto, workload: 'big', shaping: { latencyMs: 5, connBps: 0, linkBps: 0, range: true, contentLength: true }, split: true },
    {
      name: `far-many-${proto}`,
      proto,
      workload: 'many',
      shaping: { latencyMs: 300, connBps: 40 * Mbit, linkBps: 400 * Mbit, range: true, contentLength: true },
      split: true,
    },
  ]),
];
// Off by default (each TLS scenario adds 4–5 runs); `--only near-h2,...` or `--tls` runs them.

/** The issue's physical lower bound for a scenario (seconds). */
function bound(s, w, loopbackBps) {
  const link = s.shaping.linkBps || loopbackBps;
  const lat = s.shaping.latencyMs / 1000;
  if (s.split) return Math.max(w.total / link, lat);
  const perConn = s.shaping.connBps || link;
  return Math.max(w.total / link, w.largest / perConn + lat);
}

const fmt = (n, d = 2) => (n === undefined || Number.isNaN(n) ? 'n/a' : n.toFixed(d));
const log = (...a) => console.error(...a);

/**
 * `--ab DIR1,DIR2[,composer…] [--runs N] [--scenario loopback|near|near-https|far-many] [--args "…"] [--install]`:
 * A/B of builds on one server, runs alternated (DIR1, DIR2, DIR1, …) so load drifts hit both
 * alike; prints each run and the medians of wall, CPU (user+sys) and peak RSS per build.
 */
async function ab() {
  // `composer` in the list runs Composer's `install --download-only` in the same rotation, `floor`
  // bench/floor.js (undici alone, no checks: what no Node client can beat).
  // `DIR+h2` / `DIR+h2x1`: that build with undici's allowH2 forced on (bench/h2-preload.js), pools
  // of up to --per-origin connections / capped at one connection per origin.
  const builds = value('ab')
    .split(',')
    .map((d) => (d === 'composer' || d === 'floor' ? d : path.resolve(d)));
  const runs = Number(value('runs') ?? 5);
  const which = value('scenario') ?? 'loopback';
  const extra = (value('args') ?? '').split(' ').filter(Boolean);
  if (which === 'no-op') return abNoop(builds, runs, extra);
  const s = which === 'loopback' ? { workload: 'big', shaping: {} } : SCENARIOS.find((x) => x.name === which);
  const w = workload(
    s.workload === 'big' ? 'symfony-demo' : 'laravel-firefly-iii',
    s.workload === 'big' ? 'symfony-demo.composer.lock' : 'laravel-firefly-iii.composer.lock',
    s.workload,
  );
  const srv = await startServer(w.dir, s.shaping, s.proto);
  const results = new Map(builds.map((b) => [b, []]));
  for (let i = 0; i < runs; i++) {
    for (const b of builds) {
      const [dir, h2] = b.split('+');
      if (b !== 'composer' && b !== 'floor') MAIN = path.join(dir, 'cli', 'main.js');
      const preload = { NODE_OPTIONS: `--import=${path.join(ROOT, 'bench', 'h2-preload.js')}` };
      // `DIR+semiN`: that build with V8's semi-spaces capped at N MB (NODE_OPTIONS=--max-semi-space-size=N).
      const semi = /^semi(\d+)$/.exec(h2 ?? '')?.[1];
      const env =
        h2 === 'h2'
          ? preload
          : h2 === 'h2x1'
            ? { ...preload, CP_BENCH_H2_CONNECTIONS: '1' }
            : semi !== undefined
              ? { NODE_OPTIONS: `--max-semi-space-size=${semi}` }
              : {};
      const client = b === 'composer' || b === 'floor' ? b : 'native';
      const r = INSTALL
        ? await runInstall(client, w, srv.origin, client === 'native' ? extra : [], env)
        : await runClient(client, w, srv.origin, client === 'native' ? extra : [], env);
      results.get(b).push(r);
      log(`${path.relative(ROOT, b) || b}: ${fmt(r.wall)} s, ${fmt(r.cpu)} CPU s, ${fmt(r.rssMB, 0)} MB${r.ok ? '' : ` ${r.note}`}`);
    }
  }
  await srv.stop();
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  console.log(
    `A/B ${which}${INSTALL ? ' + composer install (builds: prefetch then install; composer: cold install)' : ''} ${extra.join(' ')}: ${w.files.length} zips, ${(w.total / MiB).toFixed(1)} MiB, ${runs} runs each, alternated`,
  );
  console.log('| build | median wall s | median CPU s | median peak RSS MB | MB/s (median wall) | CPU s/GB | ok |');
  console.log('|---|---|---|---|---|---|---|');
  for (const [b, rs] of results) {
    const wall = median(rs.map((r) => r.wall));
    const cpu = median(rs.map((r) => r.cpu));
    console.log(
      `| ${path.relative(ROOT, b) || b} | ${fmt(wall)} | ${fmt(cpu)} | ${fmt(median(rs.map((r) => r.rssMB)), 0)} | ${fmt(w.total / 1e6 / wall, 0)} | ${fmt(cpu / (w.total / 1e9))} | ${rs.every((r) => r.ok) ? 'yes' : 'NO'} |`,
    );
  }
}

/** `--ab … --scenario no-op`: the mautic lock cached once (first build), then no-op runs alternated. */
async function abNoop(builds, runs, extra) {
  const w = workload('mautic', 'mautic.composer.lock', 'many');
  const srv = await startServer(w.dir, {});
  const dir = project(w, srv.origin);
  const cache = path.join(dir, 'cache');
  MAIN = path.join(builds[0], 'cli', 'main.js');
  const [fc, fa] = CLIENTS.native(dir, cache);
  const fill = await timed(fc, fa, { cwd: dir, env: baseEnv(dir) });
  await srv.stop();
  const results = new Map(builds.map((b) => [b, []]));
  for (let i = 0; i < runs; i++) {
    for (const b of builds) {
      MAIN = path.join(b, 'cli', 'main.js');
      const [c, a] = CLIENTS.native(dir, cache, extra);
      const r = await timed(c, a, { cwd: dir, env: baseEnv(dir) });
      results.get(b).push(r);
      log(`${path.relative(ROOT, b) || b}: ${fmt(r.wall)} s, ${fmt(r.cpu)} CPU s, ${fmt(r.rssMB, 0)} MB, exit ${r.code}`);
    }
  }
  rmSync(dir, { recursive: true, force: true });
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  console.log(`A/B no-op ${extra.join(' ')}: ${w.lockFile}, ${w.files.length} zips cached (fill exit ${fill.code}), ${runs} runs each, alternated`);
  console.log('| build | median wall s | best wall s | median CPU s | median peak RSS MB | exits |\n|---|---|---|---|---|---|');
  for (const [b, rs] of results) {
    console.log(
      `| ${path.relative(ROOT, b) || b} | ${fmt(median(rs.map((r) => r.wall)))} | ${fmt(Math.min(...rs.map((r) => r.wall)))} | ${fmt(median(rs.map((r) => r.cpu)))} | ${fmt(median(rs.map((r) => r.rssMB)), 0)} | ${[...new Set(rs.map((r) => r.code))].join(',')} |`,
    );
  }
}

async function main() {
  if (value('ab')) return ab();
  const started = performance.now();
  mkdirSync(WORK, { recursive: true });
  log(`bench: build ${BUILD}, scale ${SCALE}${QUICK ? ' (quick)' : ''}, ${os.cpus().length} cores, ${os.cpus()[0]?.model ?? ''}`);
  const workloads = {
    big: workload('symfony-demo', 'symfony-demo.composer.lock', 'big'),
    many: workload('laravel-firefly-iii', 'laravel-firefly-iii.composer.lock', 'many'),
  };
  for (const w of Object.values(workloads))
    log(`workload ${w.name}: ${w.files.length} zips, ${(w.total / MiB).toFixed(1)} MiB, largest ${(w.largest / MiB).toFixed(1)} MiB`);
  const md = [];
  md.push(
    `Date: ${new Date().toISOString()}  `,
    `Machine: ${os.cpus().length} cores (${os.cpus()[0]?.model ?? '?'}), ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB, Node ${process.version}, ${os.platform()} ${os.release()}  `,
  );
  md.push(`Command: \`npm run bench -- ${argv.join(' ')}\` (scale ${SCALE}; build ${path.relative(ROOT, BUILD) || '.'})`, '');
  for (const w of Object.values(workloads))
    md.push(`- workload ${w.name} (${w.lockFile}): ${w.files.length} zips, ${(w.total / MiB).toFixed(1)} MiB, largest ${(w.largest / MiB).toFixed(1)} MiB`);
  md.push('');

  // Raw loopback throughput first: it is also the "link" of the near scenario's bound.
  const loop = await startServer(workloads.big.dir, {});
  const tp = await runClient('native', workloads.big, loop.origin);
  // The same with structure-only checks: what deep verification costs on the loopback path.
  const tpStructure = await runClient('native', workloads.big, loop.origin, ['--verify', 'structure']);
  await loop.stop();
  const loopbackBps = workloads.big.total / tp.wall;
  md.push('## Raw loopback throughput (no shaping, native, whole process incl. startup, sha1 + zip validation)', '');
  md.push('| checks | MB/s | CPU s/GB | wall s | CPU s | peak RSS MB | ok |', '|---|---|---|---|---|---|---|');
  for (const [label, r] of [
    ['deep (default)', tp],
    ['--verify structure', tpStructure],
  ]) {
    md.push(
      `| ${label} | ${fmt(workloads.big.total / 1e6 / r.wall, 0)} | ${fmt(r.cpu / (workloads.big.total / 1e9))} | ${fmt(r.wall)} | ${fmt(r.cpu)} | ${fmt(r.rssMB, 0)} | ${r.ok ? 'yes' : r.note} |`,
    );
  }
  md.push('');

  for (const s of SCENARIOS) {
    if ((ONLY && !ONLY.includes(s.name)) || flag('sweep-only')) continue;
    if (!ONLY && s.proto && !flag('tls')) continue;
    const w = workloads[s.workload];
    const srv = await startServer(w.dir, s.shaping, s.proto);
    const b = bound(s, w, loopbackBps);
    const rows = [];
    // On an h2 origin the native client runs twice: HTTP/1.1 (h2 not offered) and h2 (allowH2).
    const runs = Object.keys(CLIENTS).flatMap((client) =>
      client === 'native' && s.proto === 'h2'
        ? [
            [client, 'native, HTTP/1.1', {}],
            [client, 'native, h2 (≤ 64 connections)', { NODE_OPTIONS: `--import=${path.join(ROOT, 'bench', 'h2-preload.js')}` }],
            [client, 'native, h2 (1 connection)', { NODE_OPTIONS: `--import=${path.join(ROOT, 'bench', 'h2-preload.js')}`, CP_BENCH_H2_CONNECTIONS: '1' }],
          ]
        : [[client, client, {}]],
    );
    for (const [client, label, env] of runs) {
      if (client === 'composer' && flag('no-composer')) continue;
      log(`${s.name}: ${label}…`);
      const r = { ...(await runClient(client, w, srv.origin, [], env)), client: label };
      log(`  ${fmt(r.wall)} s ${fmt(r.cpu)} CPU s ${fmt(r.rssMB, 0)} MB ${r.ok ? '' : r.note}`);
      rows.push(r);
    }
    await srv.stop();
    const composer = rows.find((r) => r.client === 'composer' && r.ok);
    const aria = rows.find((r) => r.client === 'raw aria2c' && r.ok);
    md.push(
      `## ${s.name}: ${JSON.stringify(s.shaping)}`,
      '',
      `Physical bound ${fmt(b)} s (${s.split ? 'max(total/link, latency)' : 'max(total/link, largest/per-conn + latency)'}${s.shaping.linkBps ? '' : '; link = measured loopback rate'}).`,
      '',
    );
    md.push('| client | wall s | CPU s | peak RSS MB | × Composer | × bound | × raw aria2c | ok |', '|---|---|---|---|---|---|---|---|');
    for (const r of rows) {
      const ok = r.ok;
      md.push(
        `| ${r.client} | ${ok ? fmt(r.wall) : 'n/a'} | ${ok ? fmt(r.cpu) : 'n/a'} | ${ok ? fmt(r.rssMB, 0) : 'n/a'} | ${ok && composer ? fmt(r.wall / composer.wall) : 'n/a'} | ${ok ? fmt(r.wall / b) : 'n/a'} | ${ok && aria ? fmt(r.wall / aria.wall) : 'n/a'} | ${ok ? 'yes' : r.note.replace(/\|/g, '/')} |`,
      );
    }
    md.push('');
    writeFileSync(path.join(WORK, 'last-results.md'), `${md.join('\n')}\n`);
  }

  if (!flag('no-sweep')) await sweeps(workloads, md);
  if ((!ONLY || ONLY.includes('no-op')) && !flag('sweep-only')) await noop(md);
  // Issue 20's source scenario (git mirrors against a cold `composer install`): bench/sources.js,
  // run as its own process; it needs the test build for its git server.
  if ((!ONLY || ONLY.includes('sources')) && !flag('sweep-only')) {
    const sources = spawnSync(process.execPath, [path.join(ROOT, 'bench', 'sources.js'), '--runs', QUICK ? '1' : '3'], { cwd: ROOT, encoding: 'utf8' });
    md.push('## Sources: git mirrors (bench/sources.js)', '', '```', (sources.stdout || sources.stderr).trim(), '```', '');
  }
  md.push(`Total bench time ${fmt((performance.now() - started) / 1000, 0)} s.`);
  writeFileSync(path.join(WORK, 'last-results.md'), `${md.join('\n')}\n`);
  console.log(md.join('\n'));
}

async function sweeps(workloads, md) {
  const plans = [
    {
      scenario: 'far-big',
      variants: QUICK
        ? [
            ['-j', '16', '--per-origin', '8', '--split-size', '0'],
            ['-j', '32', '--per-origin', '32', '--split-size', '0'],
            ['-j', '32', '--per-origin', '32', '--split-size', '1M', '--split-segments', '16'],
            ['-j', '64', '--per-origin', '64', '--split-size', '1M', '--split-segments', '16'],
          ]
        : [
            ['-j', '16', '--per-origin', '8', '--split-size', '0'],
            ['-j', '32', '--per-origin', '32', '--split-size', '0'],
            ['-j', '64', '--per-origin', '64', '--split-size', '0'],
            ['-j', '16', '--per-origin', '8', '--split-size', '4M', '--split-segments', '4'],
            ['-j', '32', '--per-origin', '32', '--split-size', '4M', '--split-segments', '4'],
            ['-j', '32', '--per-origin', '32', '--split-size', '2M', '--split-segments', '8'],
            ['-j', '32', '--per-origin', '32', '--split-size', '1M', '--split-segments', '16'],
            ['-j', '64', '--per-origin', '64', '--split-size', '2M', '--split-segments', '16'],
            ['-j', '64', '--per-origin', '64', '--split-size', '1M', '--split-segments', '16'],
          ],
    },
    {
      scenario: 'far-many',
      variants: QUICK
        ? [
            ['-j', '16', '--per-origin', '8'],
            ['-j', '32', '--per-origin', '32'],
            ['-j', '64', '--per-origin', '64'],
          ]
        : [
            ['-j', '16', '--per-origin', '8'],
            ['-j', '16', '--per-origin', '16'],
            ['-j', '32', '--per-origin', '32'],
            ['-j', '64', '--per-origin', '64'],
            ['-j', '128', '--per-origin', '128'],
          ],
    },
  ];
  for (const plan of plans) {
    if (ONLY && !ONLY.includes(plan.scenario)) continue;
    const s = SCENARIOS.find((x) => x.name === plan.scenario);
    const w = workloads[s.workload];
    const srv = await startServer(w.dir, s.shaping);
    md.push(`## Sweep: native on ${s.name}`, '', '| flags | wall s | CPU s | peak RSS MB | × bound | ok |', '|---|---|---|---|---|---|');
    for (const v of plan.variants) {
      log(`sweep ${s.name}: ${v.join(' ')}`);
      const r = await runClient('native', w, srv.origin, v);
      md.push(
        `| \`${v.join(' ')}\` | ${fmt(r.wall)} | ${fmt(r.cpu)} | ${fmt(r.rssMB, 0)} | ${fmt(r.wall / bound(s, w, 0))} | ${r.ok ? 'yes' : r.note.replace(/\|/g, '/')} |`,
      );
    }
    md.push('');
    await srv.stop();
  }
}

/** Everything already cached, largest fixture lock: the whole process, startup included. */
async function noop(md) {
  const w = workload('mautic', 'mautic.composer.lock', 'many');
  const srv = await startServer(w.dir, {});
  const dir = project(w, srv.origin);
  const cache = path.join(dir, 'cache');
  const [cmd, args] = CLIENTS.native(dir, cache);
  const fill = await timed(cmd, args, { cwd: dir, env: baseEnv(dir) });
  const runs = [];
  for (let i = 0; i < 3; i++) runs.push(await timed(cmd, args, { cwd: dir, env: baseEnv(dir) }));
  // Checking the same full cache by content: `verify` (deep by default), a prefetch told
  // `--verify deep` (cached archives inflated too), and `verify --verify structure`.
  const checks = [];
  for (const [label, extra] of [
    ['verify (deep)', ['verify']],
    ['prefetch --verify deep', ['--verify', 'deep']],
    ['verify --verify structure', ['verify', '--verify', 'structure']],
  ]) {
    const [c, a] = CLIENTS.native(dir, cache, extra);
    checks.push([label, await timed(c, a, { cwd: dir, env: baseEnv(dir) })]);
  }
  await srv.stop();
  const landed = countFiles(cache);
  rmSync(dir, { recursive: true, force: true });
  const best = runs.reduce((a, r) => (r.wall < a.wall ? r : a));
  md.push(`## No-op: ${w.lockFile}, ${w.files.length} zips (${(w.total / MiB).toFixed(1)} MiB) already cached`, '');
  md.push('| run | wall s | CPU s | peak RSS MB | ok |', '|---|---|---|---|---|');
  md.push(
    `| fill (cold) | ${fmt(fill.wall)} | ${fmt(fill.cpu)} | ${fmt(fill.rssMB, 0)} | ${fill.code === 0 && landed === w.downloadable ? 'yes' : `exit ${fill.code}, ${landed}`} |`,
  );
  runs.forEach((r, i) => {
    md.push(`| no-op #${i + 1} | ${fmt(r.wall)} | ${fmt(r.cpu)} | ${fmt(r.rssMB, 0)} | ${r.code === 0 ? 'yes' : `exit ${r.code}`} |`);
  });
  for (const [label, r] of checks) md.push(`| ${label} | ${fmt(r.wall)} | ${fmt(r.cpu)} | ${fmt(r.rssMB, 0)} | ${r.code === 0 ? 'yes' : `exit ${r.code}`} |`);
  md.push('', `Best no-op ${fmt(best.wall)} s (target < 0.5 s).`, '');
}

await main();
