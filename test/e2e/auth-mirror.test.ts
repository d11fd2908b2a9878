import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { composerPackageZip } from '../helpers/archives.js';
import { DistServer } from '../helpers/dist-server.js';
import { ForwardProxy } from '../helpers/forward-proxy.js';
import { isolatedEnv, runCli, runComposer, tempDir } from '../helpers/run.js';

const sha1 = (b: Buffer | string): string => createHash('sha1').update(b).digest('hex');
const ref = (name: string): string => sha1(name);

// Secrets used by this test: none may appear in any output.
const PASSWORD = 'pw-Zq81SECRET';
const TOKEN = 'tok-Hy72SECRET';
const PROXY_PASSWORD = 'proxy-Kk55SECRET';
const BASIC = `Basic ${Buffer.from(`alice:${PASSWORD}`).toString('base64')}`;

/** Answers 401 unless the request carries `expected` as its Authorization header. */
function requireAuthorization(server: DistServer, expected: string): void {
  server.intercept = (req, res) => {
    if (req.headers.authorization === expected) return false;
    res.writeHead(401, { 'www-authenticate': 'Basic realm="private"' });
    res.end('unauthorized');
    return true;
  };
}

interface Pkg {
  readonly name: string;
  readonly server: DistServer;
  readonly shasum: boolean;
}

describe('auth, redirects, proxy and mirrors, then real Composer', () => {
  let root: string;
  let cleanupRoot: () => Promise<void>;
  let priv: DistServer; // http-basic
  let tok: DistServer; // bearer
  let cdn: DistServer; // redirect target on another port: must never see credentials
  let mirror: DistServer;
  let proxy: ForwardProxy;
  let project: string;
  let env: Record<string, string>;
  const zips = new Map<string, Buffer>();
  const distPaths = new Set<string>();

  before(async () => {
    ({ dir: root, cleanup: cleanupRoot } = await tempDir('cp-auth-'));
    priv = await new DistServer().start();
    tok = await new DistServer().start();
    cdn = await new DistServer().start();
    mirror = await new DistServer().start();
    proxy = await new ForwardProxy(`Basic ${Buffer.from(`proxyuser:${PROXY_PASSWORD}`).toString('base64')}`).start();

    const pkgs: Pkg[] = [
      { name: 'acme/p1', server: priv, shasum: true }, // the mirror has it (sha1 guards it)
      { name: 'acme/p2', server: priv, shasum: false }, // the mirror 404s: fallback to the lock URL, with auth
      { name: 'acme/p3', server: priv, shasum: false }, // the lock URL redirects to the cdn on another port
      { name: 'acme/p4', server: tok, shasum: false }, // the mirror serves a WRONG package: rejected, fallback
      { name: 'acme/p5', server: tok, shasum: false }, // the mirror has it (identity check passes)
    ];
    const repos = new Map<DistServer, Record<string, unknown>>([
      [priv, {}],
      [tok, {}],
    ]);
    for (const p of pkgs) {
      const zip = composerPackageZip(p.name, '1.0.0');
      zips.set(p.name, zip);
      const distPath = `/dists/${p.name.replace('/', '-')}.zip`;
      p.server.add(distPath, zip);
      distPaths.add(distPath);
      repos.get(p.server)![p.name] = {
        '1.0.0': {
          name: p.name,
          version: '1.0.0',
          type: 'library',
          dist: { type: 'zip', url: `${p.server.origin}${distPath}`, reference: ref(p.name), shasum: p.shasum ? sha1(zip) : '' },
        },
      };
    }
    // p3: the authenticated origin redirects to another origin (another port)
    cdn.add('/blob/p3.zip', zips.get('acme/p3')!);
    priv.fault('/dists/acme-p3.zip', { kind: 'redirect', location: `${cdn.origin}/blob/p3.zip` }, 1000);
    // the mirror: p1 and p5 right, p4 wrong (another package's archive), p2/p3 missing
    mirror.add(`/m/acme/p1/${ref('acme/p1')}.zip`, zips.get('acme/p1')!);
    mirror.add(`/m/acme/p5/${ref('acme/p5')}.zip`, zips.get('acme/p5')!);
    mirror.add(`/m/acme/p4/${ref('acme/p4')}.zip`, composerPackageZip('evil/impostor', '1.0.0'));

    for (const [server, packages] of repos) server.add('/packages.json', Buffer.from(JSON.stringify({ packages })), { contentType: 'application/json' });
    requireAuthorization(priv, BASIC);
    requireAuthorization(tok, `Bearer ${TOKEN}`);

    project = path.join(root, 'project');
    await mkdir(project, { recursive: true });
    await writeFile(
      path.join(project, 'composer.json'),
      JSON.stringify({
        name: 'test/auth-project',
        require: Object.fromEntries(pkgs.map((p) => [p.name, '1.0.0'])),
        repositories: [{ type: 'composer', url: priv.origin }, { type: 'composer', url: tok.origin }, { 'packagist.org': false }],
        config: { 'secure-http': false },
      }),
    );
    // The same auth.json serves Composer and composer-prefetch; keys are host:port origins.
    await writeFile(
      path.join(project, 'auth.json'),
      JSON.stringify({ 'http-basic': { [`127.0.0.1:${priv.port}`]: { username: 'alice', password: PASSWORD } }, bearer: { [`127.0.0.1:${tok.port}`]: TOKEN } }),
    );
    env = isolatedEnv(root);
    const update = await runComposer(['update', '--no-install', '--no-plugins', '--no-scripts', '--ignore-platform-reqs'], { cwd: project, env });
    assert.equal(update.exitCode, 0, `composer update failed:\n${update.stdout}\n${update.stderr}`);
  });

  after(async () => {
    for (const s of [priv, tok, cdn, mirror]) await s?.stop();
    await proxy?.stop();
    await cleanupRoot?.();
  });

  const distHits = (server: DistServer): string[] =>
    server.requests.filter((r) => distPaths.has(r.path) || r.path.startsWith('/blob/') || r.path.startsWith('/m/')).map((r) => r.path);

  it('prefetches through the proxy, with per-origin auth, mirror first and lock fallback', async () => {
    for (const s of [priv, tok, cdn, mirror]) s.resetLog();
    const run = await runCli(['--json', '--mirror', `${mirror.origin}/m/%package%/%reference%.%type%`, '--mirror-private', '--retries', '1'], {
      cwd: project,
      env: { ...env, http_proxy: proxy.url.replace('http://', `http://proxyuser:${PROXY_PASSWORD}@`) },
    });
    assert.equal(run.exitCode, 0, `prefetch failed:\n${run.stderr}\n${run.stdout}`);

    // Every request went through the proxy (absolute-URI form for http:// targets).
    const targets = proxy.log.map((e) => e.target);
    assert.ok(
      targets.some((t) => t.startsWith(`${mirror.origin}/m/`)),
      'mirror traffic went through the proxy',
    );
    assert.ok(
      targets.some((t) => t.startsWith(`${priv.origin}/dists/`)),
      'origin traffic went through the proxy',
    );
    assert.ok(
      proxy.log.every((e) => e.status !== 407),
      'proxy credentials from the proxy URL were sent',
    );

    // Mirror: p1, p5 from it; p4's wrong archive rejected; p2/p3 404 → lock URLs.
    assert.deepEqual(distHits(priv).sort(), ['/dists/acme-p2.zip', '/dists/acme-p3.zip', ...[]].sort());
    assert.deepEqual(distHits(tok), ['/dists/acme-p4.zip']);
    assert.equal(mirror.requests.length, 5, 'each package asked the mirror once (404 and a wrong package are not retried)');
    assert.ok(
      mirror.requests.every((r) => r.headers.authorization === undefined),
      'the mirror never gets credentials',
    );

    // Auth went to the right origins only; the redirect target got none.
    assert.ok(priv.requests.every((r) => r.headers.authorization === BASIC));
    assert.ok(tok.requests.every((r) => r.headers.authorization === `Bearer ${TOKEN}`));
    assert.deepEqual(
      cdn.requests.map((r) => r.path),
      ['/blob/p3.zip'],
    );
    assert.equal(cdn.requests[0]!.headers.authorization, undefined, 'no Authorization across the redirect');

    // Every archive is the right one, under the key Composer computes from the lock as written.
    const report = JSON.parse(run.stdout) as { packages: { name: string; cachePath: string; url: string }[] };
    assert.equal(report.packages.length, 5);
    for (const p of report.packages) {
      assert.ok(p.url.startsWith(priv.origin) || p.url.startsWith(tok.origin), `key URL is the lock's: ${p.url}`);
      assert.equal(sha1(await readFile(p.cachePath)), sha1(zips.get(p.name)!), `${p.name} cached with its own bytes`);
    }
    assert.match(run.stderr, /rejected the archive from mirror .*p4.*evil\/impostor/s);

    // No secret anywhere in the output or the JSON report.
    for (const secret of [PASSWORD, TOKEN, PROXY_PASSWORD, BASIC.slice(6)]) {
      assert.ok(!run.stdout.includes(secret) && !run.stderr.includes(secret), `secret leaked: ${secret}`);
    }
    // No temp file left behind in the cache, and none holds a secret.
    const files = await listFiles(path.join(root, 'cache'));
    assert.ok(
      files.every((f) => !/\.(tmp|part)|~$/.test(f)),
      files.join('\n'),
    );
  });

  it('then real composer install downloads nothing', async () => {
    for (const s of [priv, tok, cdn, mirror]) s.resetLog();
    const install = await runComposer(['install', '--no-plugins', '--no-scripts', '--no-autoloader', '--ignore-platform-reqs'], { cwd: project, env });
    assert.equal(install.exitCode, 0, `composer install failed:\n${install.stderr}`);
    for (const s of [priv, tok, cdn, mirror]) assert.deepEqual(distHits(s), [], 'composer install made dist downloads');
    for (const name of zips.keys()) assert.ok(existsSync(path.join(project, 'vendor', name, 'composer.json')), `vendor/${name}`);
  });

  it('without --mirror-private, non-packagist packages never reach the mirror', async () => {
    mirror.resetLog();
    const run = await runCli(['--dry-run', '--json', '--mirror', `${mirror.origin}/m/%package%/%reference%.%type%`, '--cache-dir', path.join(root, 'cache2')], {
      cwd: project,
      env,
    });
    assert.equal(run.exitCode, 0, run.stderr);
    const run2 = await runCli(['--mirror', `${mirror.origin}/m/%package%/%reference%.%type%`, '--cache-dir', path.join(root, 'cache2')], { cwd: project, env });
    assert.equal(run2.exitCode, 0, run2.stderr);
    assert.equal(mirror.requests.length, 0);
  });

  it('401 without credentials names the host and the auth.json key; a refused credential says so; no secret shown', async () => {
    const lone = path.join(root, 'lone');
    await mkdir(lone, { recursive: true });
    const lock = path.join(lone, 'set.json');
    await writeFile(
      lock,
      JSON.stringify([{ name: 'acme/p2', version: '1.0.0', dist: { type: 'zip', url: `${priv.origin}/dists/acme-p2.zip`, reference: ref('acme/p2') } }]),
    );
    await writeFile(path.join(lone, 'composer.json'), JSON.stringify({ config: { 'secure-http': false } }));
    const e = { ...env, COMPOSER_CACHE_DIR: path.join(root, 'cache3') };
    const none = await runCli(['--json', lock], { cwd: lone, env: e });
    assert.equal(none.exitCode, 1);
    assert.match(none.stderr, new RegExp(`127\\.0\\.0\\.1:${priv.port} requires authentication and no credentials are configured`));
    assert.match(none.stderr + none.stdout, /"http-basic": \{"127\.0\.0\.1:\d+"/);

    const wrong = await runCli(['--json', lock], {
      cwd: lone,
      env: { ...e, COMPOSER_AUTH: JSON.stringify({ 'http-basic': { [`127.0.0.1:${priv.port}`]: { username: 'alice', password: 'WRONG-Pw-SECRET' } } }) },
    });
    assert.equal(wrong.exitCode, 1);
    assert.match(wrong.stderr, /refused the configured http-basic credential/);
    for (const out of [wrong.stdout, wrong.stderr])
      assert.ok(!out.includes('WRONG-Pw-SECRET') && !out.includes(Buffer.from('alice:WRONG-Pw-SECRET').toString('base64')));

    const badJson = await runCli([lock], { cwd: lone, env: { ...e, COMPOSER_AUTH: `{"bearer": {"x": "MALFORMED-SECRET"` } });
    assert.equal(badJson.exitCode, 2);
    assert.match(badJson.stderr, /COMPOSER_AUTH.*invalid JSON/);
    assert.ok(!badJson.stderr.includes('MALFORMED-SECRET'));
  });

  it('secure-http: plain-http dist URLs are refused with a clear message', async () => {
    const strict = path.join(root, 'strict');
    await mkdir(strict, { recursive: true });
    const set = path.join(strict, 'set.json');
    await writeFile(
      set,
      JSON.stringify([{ name: 'acme/p2', version: '1.0.0', dist: { type: 'zip', url: `${priv.origin}/dists/acme-p2.zip`, reference: ref('acme/p2') } }]),
    );
    const run = await runCli([set], { cwd: strict, env: { ...env, COMPOSER_CACHE_DIR: path.join(root, 'cache4') } });
    assert.equal(run.exitCode, 1);
    assert.match(run.stderr, /Refusing plain-http URL .*secure-http/);
  });
});

async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) if (entry.isFile()) out.push(path.join(entry.parentPath, entry.name));
  return out;
}
