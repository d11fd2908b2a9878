#!/usr/bin/env node
// What the archive checks of one prefetch cost, apart from the transfers:
//
//   node bench/check-pool.js BUILD[,BUILD2…] [--runs 7] [--data DIR] [--level deep|structure]
//
// Each run is a fresh process (a cold check thread, as in a prefetch) that checks every zip of DIR
// (default: the symfony-demo workload that `node bench/run.js` generates, 153 zips, 113.5 MiB)
// through the build's check pool. Builds are alternated run by run; medians of wall and CPU
// (process.cpuUsage(): every thread, so it holds on a loaded machine where wall time does not).
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '..');
const argv = process.argv.slice(2);
const value = (name, fallback) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : fallback;
};

if (argv[0] === '--child') {
  const [, build, data, level] = argv;
  const { createCheckPool } = await import(path.resolve(build, 'verify', 'check-pool.js'));
  const files = readdirSync(data)
    .filter((f) => f.endsWith('.zip'))
    .map((f) => path.join(data, f));
  const started = performance.now();
  const before = process.cpuUsage();
  const pool = createCheckPool();
  pool.warm();
  await Promise.all(files.map((f) => pool.check(f, 'zip', level)));
  await pool.close();
  const cpu = process.cpuUsage(before);
  console.log(JSON.stringify({ wall: (performance.now() - started) / 1000, cpu: (cpu.user + cpu.system) / 1e6, files: files.length }));
} else {
  const builds = (argv[0] ?? '')
    .split(',')
    .filter(Boolean)
    .map((b) => path.resolve(b));
  const data = path.resolve(value('data', path.join(ROOT, 'bench', '.work', 'data', 'symfony-demo-1')));
  const runs = Number(value('runs', '7'));
  const level = value('level', 'deep');
  if (builds.length === 0 || !existsSync(data)) {
    console.error('usage: node bench/check-pool.js BUILD[,BUILD2…] [--runs 7] [--data DIR] [--level deep|structure]');
    console.error(`(no ${data}? \`node bench/run.js --ab dist --runs 1\` generates it)`);
    process.exit(2);
  }
  const results = new Map(builds.map((b) => [b, []]));
  for (let i = 0; i < runs; i++) {
    for (const b of builds)
      results.get(b).push(JSON.parse(execFileSync(process.execPath, [import.meta.filename, '--child', b, data, level], { encoding: 'utf8' })));
  }
  const median = (xs) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];
  const files = results.get(builds[0])[0].files;
  console.log(`checks at ${level} of ${files} zips in ${path.relative(ROOT, data) || data}, ${runs} runs each, alternated`);
  console.log('| build | median wall s | median CPU s |');
  console.log('|---|---|---|');
  for (const [b, rs] of results)
    console.log(`| ${path.relative(ROOT, b) || b} | ${median(rs.map((r) => r.wall)).toFixed(3)} | ${median(rs.map((r) => r.cpu)).toFixed(3)} |`);
}
