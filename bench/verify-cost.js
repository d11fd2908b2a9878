// CPU cost of archive verification, per GB of zip: `structure` vs `deep` (the shipped code in
// dist/), and, for comparison, deep checking through yauzl's read streams for every entry.
//
//   npm run build && node bench/verify-cost.js [--mb 200] [--dir /tmp/cp-verify-bench] [--only deep]
//
// The zips (a few hundred, PHP-like source deflated at zlib's default level, as GitHub's zipballs
// are) are generated once into --dir and reused. CPU is process.cpuUsage() (user + sys, every
// thread of the process), so the numbers hold on a shared, loaded machine where wall time does not.
import { existsSync } from 'node:fs';
import { mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import yauzl from 'yauzl';
import { validateArchive } from '../dist/verify/archive.js';
import { makeZip } from '../test/helpers/zip-writer.js';
import { prng } from './zip.js';

const args = process.argv.slice(2);
const arg = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};
const targetMb = Number(arg('mb', '200'));
const dir = arg('dir', '/tmp/cp-verify-bench');
const only = arg('only', undefined);

const WORDS = [
  'public',
  'function',
  'return',
  'private',
  'static',
  'array',
  'string',
  'int',
  'null',
  'self',
  'new',
  'throw',
  'if',
  'foreach',
  'as',
  '=>',
  '$this->',
  'use',
  'namespace',
  'class',
  'interface',
  'extends',
  'implements',
  '/**',
  '*/',
  '@param',
  '@return',
  'Exception',
  'Request',
  'Response',
  'Container',
  'Config',
];

function phpFile(rand, bytes) {
  const ident = () => `${WORDS[Math.floor(rand() * 10) + 20].replace(/\W/g, '')}${Math.floor(rand() * 5000).toString(36)}`;
  const lines = [
    '<?php',
    '',
    `namespace Vendor\\${ident()}\\${ident()};`,
    '',
    `use Vendor\\${ident()}\\${ident()};`,
    '',
    `final class ${ident()} extends ${ident()}`,
    '{',
  ];
  let size = lines.join('\n').length;
  while (size < bytes) {
    const n = 3 + Math.floor(rand() * 9);
    const words = Array.from({ length: n }, () => (rand() < 0.35 ? ident() : WORDS[Math.floor(rand() * WORDS.length)]));
    const line = `${'    '.repeat(1 + Math.floor(rand() * 3))}${words.join(' ')}${rand() < 0.5 ? ';' : ''}`;
    lines.push(line);
    size += line.length + 1;
  }
  lines.push('}', '');
  return Buffer.from(lines.join('\n'));
}

/** A deflated zip in GitHub's shape: one top-level directory, sub-directories, PHP files. */
function makePackageZip(rand, top, fileCount) {
  const entries = [{ name: `${top}/` }];
  for (let d = 0; d < Math.ceil(fileCount / 12); d++) {
    entries.push({ name: `${top}/src/Dir${d}/` });
    for (let f = 0; f < 12 && d * 12 + f < fileCount; f++) {
      // Mostly small files, a few large ones, as in real packages.
      const bytes = rand() < 0.9 ? 500 + Math.floor(rand() * 8000) : 20_000 + Math.floor(rand() * 120_000);
      entries.push({ name: `${top}/src/Dir${d}/File${f}.php`, content: phpFile(rand, bytes), compress: true });
    }
  }
  return makeZip(entries);
}

async function ensureZips() {
  await mkdir(dir, { recursive: true });
  const marker = path.join(dir, `done-${targetMb}`);
  if (!existsSync(marker)) {
    const rand = prng(20261127);
    let total = 0;
    for (let i = 0; total < targetMb * 1024 * 1024; i++) {
      const fileCount = 10 + Math.floor(rand() * rand() * 400);
      const zip = makePackageZip(rand, `vendor-pkg${i}-${((i * 2654435761) >>> 0).toString(16)}`, fileCount);
      await writeFile(path.join(dir, `pkg${String(i).padStart(4, '0')}.zip`), zip);
      total += zip.length;
    }
    await writeFile(marker, '');
  }
  const files = (await readdir(dir))
    .filter((f) => f.endsWith('.zip'))
    .sort()
    .map((f) => path.join(dir, f));
  let bytes = 0;
  for (const f of files) bytes += (await stat(f)).size;
  return { files, bytes };
}

/** The alternative measured against: yauzl's openReadStream (inflate + size assertion) for every entry, CRC over the chunks. */
async function deepViaYauzlStreams(file) {
  const zip = await yauzl.openPromise(file, { lazyEntries: true, autoClose: false, strictFileNames: false, validateEntrySizes: true });
  try {
    for await (const entry of zip.eachEntry()) {
      const stream = await zip.openReadStreamPromise(entry);
      let crc = 0;
      for await (const chunk of stream) crc = crc32(chunk, crc);
      if (crc !== entry.crc32) throw new Error(`CRC mismatch in ${entry.fileName}`);
    }
  } finally {
    zip.close();
  }
}

async function measure(label, files, bytes, fn) {
  const cpu = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  for (const f of files) await fn(f);
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  const used = process.cpuUsage(cpu);
  const cpuS = (used.user + used.system) / 1e6;
  const gb = bytes / 1e9;
  console.log(`| ${label} | ${cpuS.toFixed(2)} | ${(cpuS / gb).toFixed(2)} | ${wall.toFixed(2)} |`);
}

const { files, bytes } = await ensureZips();
let uncompressed = 0;
let entries = 0;
for (const f of files) {
  const zip = await yauzl.openPromise(f, { lazyEntries: true });
  for await (const entry of zip.eachEntry()) {
    uncompressed += entry.uncompressedSize;
    entries++;
  }
  zip.close();
}
console.log(
  `${files.length} zips, ${(bytes / 1e6).toFixed(1)} MB of zip, ${entries} entries, ${(uncompressed / 1e6).toFixed(0)} MB inflated (${(uncompressed / bytes).toFixed(1)}×) in ${dir}; node ${process.version}`,
);
console.log('');
console.log('| check | CPU s | CPU s per GB of zip | wall s |');
console.log('|---|---|---|---|');
if (!only || only === 'structure') await measure('structure (yauzl directory + local headers)', files, bytes, (f) => validateArchive(f, 'zip', 'structure'));
if (!only || only === 'deep') await measure('deep (shipped: inflateRawSync per entry, crc32)', files, bytes, (f) => validateArchive(f, 'zip', 'deep'));
if (!only || only === 'yauzl') await measure('deep via yauzl read streams (alternative)', files, bytes, deepViaYauzlStreams);
