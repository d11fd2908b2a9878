import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { execa } from 'execa';
import { MINIMUM_NODE_VERSION, nodeVersionProblem, satisfiesMinimum } from '../../src/cli/node-version.js';
import { repoRoot } from '../helpers/run.js';

describe('Node.js version gate', () => {
  it('compares major, minor and patch numerically', () => {
    assert.equal(satisfiesMinimum('20.18.1', '20.18.1'), true);
    assert.equal(satisfiesMinimum('v20.18.1', '20.18.1'), true);
    assert.equal(satisfiesMinimum('20.18.2', '20.18.1'), true);
    assert.equal(satisfiesMinimum('20.19.0', '20.18.1'), true);
    assert.equal(satisfiesMinimum('22.0.0', '20.18.1'), true);
    assert.equal(satisfiesMinimum('100.0.0', '20.18.1'), true);
    assert.equal(satisfiesMinimum('20.18.0', '20.18.1'), false);
    assert.equal(satisfiesMinimum('20.9.9', '20.18.1'), false, 'not a string comparison');
    assert.equal(satisfiesMinimum('18.20.4', '20.18.1'), false);
    assert.equal(satisfiesMinimum('8.17.0', '20.18.1'), false);
    assert.equal(satisfiesMinimum('20.18.1-pre', '20.18.1'), true);
    assert.equal(satisfiesMinimum('garbage', '20.18.1'), false);
  });

  it('says in one line what is needed and what this is', () => {
    assert.equal(nodeVersionProblem('18.20.4'), `composer-prefetch needs Node.js >= ${MINIMUM_NODE_VERSION} (this is 18.20.4)`);
    assert.equal(nodeVersionProblem('18.20.4', '20.18.1'), 'composer-prefetch needs Node.js >= 20.18.1 (this is 18.20.4)');
    assert.equal(nodeVersionProblem('v16.0.0', '20.18.1'), 'composer-prefetch needs Node.js >= 20.18.1 (this is 16.0.0)');
    assert.equal(nodeVersionProblem(process.versions.node), undefined, 'the Node running the tests is supported');
  });

  it('agrees with package.json engines', async () => {
    const pkg = JSON.parse(await readFile(path.join(repoRoot, 'package.json'), 'utf8')) as { engines: { node: string } };
    assert.equal(pkg.engines.node, `>=${MINIMUM_NODE_VERSION}`);
  });

  it('the compiled gate imports nothing, so it loads on any Node', async () => {
    const compiled = await readFile(path.join(repoRoot, 'dist', 'cli', 'node-version.js'), 'utf8');
    assert.doesNotMatch(compiled, /\bimport\b|\brequire\(/);
    const bin = await readFile(path.join(repoRoot, 'bin', 'composer-prefetch.js'), 'utf8');
    const staticImports = [...bin.matchAll(/^import .* from '([^']+)';$/gm)].map((m) => m[1]);
    assert.deepEqual(staticImports, ['../dist/cli/node-version.js'], 'the bin imports only the gate before checking');
  });

  it('the bin stops on an older Node: one line on stderr, exit 2, the CLI never loaded', async () => {
    // Node 18 pretended: process.versions is redefined before the bin's module graph runs.
    const pretend = `Object.defineProperty(process, 'versions', { value: { ...process.versions, node: '18.20.4' } });`;
    const run = await execa(
      process.execPath,
      ['--import', `data:text/javascript,${encodeURIComponent(pretend)}`, path.join(repoRoot, 'bin', 'composer-prefetch.js'), '--version'],
      {
        reject: false,
        stdin: 'ignore',
      },
    );
    assert.equal(run.exitCode, 2);
    assert.equal(run.stdout, '', 'the CLI (which would print its version) did not run');
    assert.equal(run.stderr, `composer-prefetch needs Node.js >= ${MINIMUM_NODE_VERSION} (this is 18.20.4)`);
  });

  it('the bin runs the CLI on this Node', async () => {
    const run = await execa(process.execPath, [path.join(repoRoot, 'bin', 'composer-prefetch.js'), '--version'], { reject: false, stdin: 'ignore' });
    assert.equal(run.exitCode, 0, run.stderr);
    assert.match(run.stdout, /\d+\.\d+\.\d+/);
  });
});
