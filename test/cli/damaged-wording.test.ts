import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { makeZip } from '../helpers/archives.js';
import { DistServer } from '../helpers/dist-server.js';
import { isolatedEnv, runCli, tempDir, writeHttpProject } from '../helpers/run.js';

const sha1 = (b: Buffer | string): string => createHash('sha1').update(b).digest('hex');
const CONTENT = 'stored entry data, checked by its CRC-32\n'.repeat(40);

/** The zip with a few bytes inside its stored entry's data flipped: same length, headers intact. */
function damaged(zip: Buffer): Buffer {
  const at = zip.indexOf(Buffer.from(CONTENT)) + 100;
  const out = Buffer.from(zip);
  for (let i = 0; i < 4; i++) out[at + i] = out[at + i]! ^ 0x5a;
  return out;
}

/**
 * The deep check finds the same CRC mismatch in a download and in an archive already in the
 * cache; only of the download may it say that a server sent the damaged bytes.
 */
describe('damaged bytes are blamed on where they came from', () => {
  let root: string;
  let cleanup: () => Promise<void>;
  let server: DistServer;
  let project: string;
  const zip = makeZip([{ name: 'acme-a/README.md', content: CONTENT }]);

  before(async () => {
    ({ dir: root, cleanup } = await tempDir('cp-damaged-'));
    server = await new DistServer().start();
    // No shasum in the lock (as in most real locks): the deep check is what catches the damage.
    const url = server.add('/a.zip', damaged(zip));
    project = path.join(root, 'project');
    await writeHttpProject(project, [{ name: 'acme/a', version: '1.0.0', dist: { type: 'zip', url, reference: sha1('a') } }]);
  });
  after(async () => {
    await server.stop();
    await cleanup();
  });

  it('a download: the server sent damaged bytes', async () => {
    const run = await runCli(['--retries', '0', '--progress=plain'], { cwd: project, env: isolatedEnv(root) });
    assert.equal(run.exitCode, 1, run.stderr);
    assert.match(run.stderr, /acme\/a 1\.0\.0: not a valid zip archive \(entry acme-a\/README\.md: CRC mismatch — the server sent damaged bytes\)/);
  });

  it('verify of an archive already in the cache: damaged, and no server named', async () => {
    const env = isolatedEnv(root);
    const plan = JSON.parse((await runCli(['verify', '--json'], { cwd: project, env })).stdout) as { packages: { cachePath: string }[] };
    const cachePath = plan.packages[0]!.cachePath;
    await mkdir(path.dirname(cachePath), { recursive: true });
    await writeFile(cachePath, damaged(zip));
    const run = await runCli(['verify'], { cwd: project, env });
    assert.equal(run.exitCode, 1, run.stderr);
    assert.match(run.stderr, /invalid +acme\/a 1\.0\.0: invalid archive at \S+ \(entry acme-a\/README\.md: CRC mismatch — the bytes are damaged\)/);
    assert.doesNotMatch(run.stderr, /server/);
  });
});
