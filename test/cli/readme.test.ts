import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { buildProgram } from '../../src/cli/program.js';
import { defaultDownloadOptions } from '../../src/config/options.js';
import { repoRoot } from '../helpers/run.js';

const readme = readFileSync(path.join(repoRoot, 'README.md'), 'utf8');
const row = (flag: string): string | undefined => readme.split('\n').find((line) => line.startsWith(`| \`${flag}`));

/** The README's option table is what users read first: it must not drift from the program. */
describe('README option table', () => {
  it('has a row for every option', () => {
    for (const option of buildProgram({}, '0.0.0').options) {
      const flag = option.long ?? option.short;
      assert.ok(
        flag !== undefined && readme.split('\n').some((line) => line.startsWith('| `') && line.split('|')[1]!.includes(flag)),
        `${flag} has no row in README.md`,
      );
    }
  });

  it('states a default in every row (help and version have none)', () => {
    for (const option of buildProgram({}, '0.0.0').options) {
      const flag = option.long ?? option.short;
      if (flag === '--version' || flag === '--help') continue;
      const line = readme.split('\n').find((l) => l.startsWith('| `') && l.split('|')[1]!.includes(flag!));
      assert.notEqual(line?.split('|')[2]?.trim() ?? '', '', `${flag}: the Default cell is empty`);
    }
  });

  it('is one table: no blank line splits it (rows after one would not render)', () => {
    const lines = readme.split('\n');
    const first = lines.findIndex((l) => l.startsWith('| Option |'));
    const rows = lines.slice(first).findIndex((l) => !l.startsWith('|'));
    const table = lines.slice(first, first + rows);
    for (const option of buildProgram({}, '0.0.0').options) {
      const flag = option.long ?? option.short;
      assert.ok(
        table.some((l) => l.split('|')[1]!.includes(flag!)),
        `${flag} is in the options table itself`,
      );
    }
  });

  it('states the current download defaults', () => {
    const d = defaultDownloadOptions;
    const cell = (flag: string): string => row(flag)?.split('|')[2]?.trim() ?? '';
    assert.match(cell('-j, --concurrency'), new RegExp(`^${d.concurrency}\\b`));
    assert.match(cell('--per-origin'), new RegExp(`^${d.perOrigin}\\b`));
    assert.match(cell('--retries'), new RegExp(`^${d.retries}\\b`));
    assert.match(cell('--split-segments'), new RegExp(`^${d.splitSegments}\\b`));
    assert.match(cell('--split-size'), new RegExp(`^${d.splitMinBytes / (1024 * 1024)}M\\b`));
    assert.match(cell('--stall-timeout'), new RegExp(`^${d.stallTimeoutMs / 1000}\\b`));
  });
});
