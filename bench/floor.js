#!/usr/bin/env node
// `node bench/floor.js URLS_FILE OUT_DIR [CA_FILE]`: what Node and undici alone cost for a
// workload, as a reference row of `npm run bench -- --ab …,floor`. It downloads every URL of
// bench/run.js's urls.txt (`URL` lines, each followed by `  out=NAME`) with 16 connections and
// writes each body straight to OUT_DIR/NAME with synchronous writes: no lock parsing, no
// verification, no temp file, no fsync, no rename. Nothing composer-prefetch does on top of the
// bytes is here, so composer-prefetch can never be faster than this on the same machine.
import { closeSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import { Agent } from 'undici';

const [urlsFile, outDir, caFile] = process.argv.slice(2);
const lines = readFileSync(urlsFile, 'utf8').split('\n');
const jobs = [];
for (let i = 0; i < lines.length; i++) {
  if (!lines[i] || lines[i].startsWith(' ')) continue;
  jobs.push({ url: new URL(lines[i]), out: path.join(outDir, lines[i + 1].trim().slice('out='.length)) });
}
mkdirSync(outDir, { recursive: true });
const agent = new Agent({ connections: 16, ...(caFile ? { connect: { ca: readFileSync(caFile, 'utf8') } } : {}) });

function fetchTo({ url, out }) {
  return new Promise((resolve, reject) => {
    let fd;
    agent.dispatch(
      { origin: url.origin, path: url.pathname + url.search, method: 'GET' },
      {
        onConnect() {},
        onHeaders(status) {
          if (status !== 200) reject(new Error(`HTTP ${status} for ${url}`));
          fd = openSync(out, 'w');
          return true;
        },
        onData(chunk) {
          writeSync(fd, chunk);
          return true;
        },
        onComplete() {
          closeSync(fd);
          resolve();
        },
        onError: reject,
      },
    );
  });
}

let next = 0;
const worker = async () => {
  while (next < jobs.length) await fetchTo(jobs[next++]);
};
await Promise.all(Array.from({ length: 16 }, worker));
await agent.close();
