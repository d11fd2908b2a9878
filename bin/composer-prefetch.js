#!/usr/bin/env node
// Only the version gate is imported statically: it runs on any Node, the CLI needs Node >= 20.18.1.
import { nodeVersionProblem } from '../dist/cli/node-version.js';

const problem = nodeVersionProblem(process.versions.node);
if (problem !== undefined) {
  process.stderr.write(`${problem}\n`);
  process.exit(2);
}
const { default: module } = await import('node:module');
module.enableCompileCache?.();
await import('../dist/cli/main.js');
