import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { composerPackageZip, deflatedZeros, makeZip, tarGzBombParts } from '../helpers/archives.js';
import { assertAria2cInstalled, writeLockProject } from '../helpers/aria2.js';
import { DistServer } from '../helpers/dist-server.js';
import { isolatedEnv, runCli, tempDir } from '../helpers/run.js';
import { tempFilesUnder } from '../resilience/fixture.js';

interface Report {
  packages: { name: string; status: string; cachePath: string; error: { code: string; message: string } | null }[];
}

for (const backend of ['native', 'aria2'] as const) {
  describe(`archive bombs are refused at a bounded cost, nothing cached, no temp file (${backend})`, () => {
    let server: DistServer;
    let root: string;
    let cleanup: () => Promise<void>;
    let project: string;
    let env: Record<string, string>;

    before(async () => {
      if (backend === 'aria2') await assertAria2cInstalled();
      ({ dir: root, cleanup } = await tempDir('cp-bombs-'));
      server = await new DistServer().start();
      // A zip entry that declares 1,000 bytes and inflates to 1 GiB; a tar.gz of ~8 MiB that
      // inflates to 8 GiB (only its 8 MiB are ever in memory).
      server.add(
        '/zip-bomb.zip',
        makeZip([
          { name: 'acme-zipbomb/composer.json', content: '{"name":"acme/zipbomb"}', compress: true },
          { name: 'acme-zipbomb/zeros.bin', compress: true, rawData: deflatedZeros(1024 ** 3), declaredSize: 1000, declaredCrc: 0 },
        ]),
      );
      server.add('/tar-bomb.tar.gz', Buffer.concat(tarGzBombParts(2 ** 33)));
      server.add('/good.zip', composerPackageZip('acme/good', '1.0.0'));
      project = path.join(root, 'project');
      await writeLockProject(project, [
        { name: 'acme/zipbomb', url: `${server.origin}/zip-bomb.zip` },
        { name: 'acme/tarbomb', url: `${server.origin}/tar-bomb.tar.gz`, type: 'tar' },
        { name: 'acme/good', url: `${server.origin}/good.zip` },
      ]);
      env = isolatedEnv(root);
    });
    after(async () => {
      await server?.stop();
      await cleanup?.();
    });

    it('exits 1 naming each bomb, caches only the good archive', async () => {
      const run = await runCli(['--backend', backend, '--retries', '1', '--json'], { cwd: project, env });
      assert.equal(run.exitCode, 1, run.stderr);
      const report = JSON.parse(run.stdout) as Report;
      const byName = Object.fromEntries(report.packages.map((p) => [p.name, p]));
      assert.equal(byName['acme/good']!.status, 'downloaded');
      assert.equal(byName['acme/zipbomb']!.error?.code, 'E_CORRUPT');
      assert.match(byName['acme/zipbomb']!.error!.message, /entry acme-zipbomb\/zeros\.bin: inflates past the 1000 bytes/);
      assert.equal(byName['acme/tarbomb']!.error?.code, 'E_CORRUPT');
      assert.match(byName['acme/tarbomb']!.error!.message, /gzip: inflates to more than 1 GiB uncompressed, over --max-unpacked-size/);
      // The same bytes fail the same way: the bomb is downloaded once, not once per retry.
      // (A split download asks for several ranges of it: count the requests that start at byte 0.)
      const fromStart = server.requests.filter((r) => r.path === '/tar-bomb.tar.gz' && (r.headers.range === undefined || /^bytes=0-/.test(r.headers.range)));
      assert.equal(fromStart.length, 1);
      for (const name of ['acme/zipbomb', 'acme/tarbomb']) assert.equal(existsSync(byName[name]!.cachePath), false, `${name} not cached`);
      assert.ok(existsSync(byName['acme/good']!.cachePath));
      assert.deepEqual(await tempFilesUnder(path.join(root, 'cache')), []);
    });
  });
}
