import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { MINIMUM_NODE_VERSION, satisfiesMinimum } from '../../src/cli/node-version.js';
import { repoRoot } from '../helpers/run.js';

/** The README's CI recipes must get a Node.js the package supports (engines), not a distribution's older one. */
describe('README recipes', () => {
  const recipes = async (): Promise<string> => {
    const readme = await readFile(path.join(repoRoot, 'README.md'), 'utf8');
    const start = readme.indexOf('## Recipes');
    assert.ok(start >= 0, 'README has a Recipes section');
    const end = readme.indexOf('\n## ', start + 1);
    return readme.slice(start, end < 0 ? undefined : end);
  };

  it('never install nodejs from Debian or Alpine packages (bookworm has 18.20, older Alpine 20.15)', async () => {
    const text = [...(await recipes()).matchAll(/```\w*\n([\s\S]*?)```/g)].map((m) => m[1]!).join('\n');
    assert.match(text, /apt-get install/, 'the code blocks were found');
    assert.doesNotMatch(text, /apt-get install[^\n]*\bnodejs\b/);
    assert.doesNotMatch(text, /apk add[^\n]*\bnodejs\b/);
  });

  it('every Node version they name meets engines', async () => {
    const text = await recipes();
    const named = [
      ...[...text.matchAll(/node-version:\s*'?(\d+(?:\.\d+){0,2})/g)].map((m) => m[1]!),
      ...[...text.matchAll(/\bnode:(\d+(?:\.\d+){0,2})/g)].map((m) => m[1]!),
      ...[...text.matchAll(/nodejs\.org\/dist\/v(\d+\.\d+\.\d+)/g)].map((m) => m[1]!),
    ];
    assert.ok(named.length >= 4, `found ${named.join(', ')}`);
    for (const version of named) {
      // A bare major (setup-node 22, node:22-alpine) resolves to its newest release: compare majors.
      const comparable = /^\d+$/.test(version) ? `${version}.99.99` : version;
      assert.ok(satisfiesMinimum(comparable, MINIMUM_NODE_VERSION), `${version} >= ${MINIMUM_NODE_VERSION}`);
    }
  });
});
