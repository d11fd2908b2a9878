import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';

/**
 * A private CA and a server certificate signed by it, made with the openssl CLI (.ci/run installs
 * it) in `dir`: ca.pem, server.key, server.pem. The server certificate is for 127.0.0.1 unless
 * `server` names another subject and subjectAltName. With `client`, also a client certificate
 * signed by the same CA: client.pem, and client.key under the passphrase.
 */
export async function makeTestPki(
  dir: string,
  options: { server?: { cn: string; altName: string }; client?: { cn: string; passphrase: string } } = {},
): Promise<{ ca: string; key: string; cert: string }> {
  const server = options.server ?? { cn: '127.0.0.1', altName: 'IP:127.0.0.1' };
  const run = (args: string[]) => execa('openssl', args, { cwd: dir });
  await run(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=composer-prefetch test CA', '-keyout', 'ca.key', '-out', 'ca.pem']);
  await run(['req', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${server.cn}`, '-keyout', 'server.key', '-out', 'server.csr']);
  await writeFile(path.join(dir, 'ext.cnf'), `subjectAltName=${server.altName}\n`);
  await run([
    'x509',
    '-req',
    '-in',
    'server.csr',
    '-CA',
    'ca.pem',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-days',
    '2',
    '-extfile',
    'ext.cnf',
    '-out',
    'server.pem',
  ]);
  const { client } = options;
  if (client !== undefined) {
    await run([
      'req',
      '-newkey',
      'rsa:2048',
      '-passout',
      `pass:${client.passphrase}`,
      '-subj',
      `/CN=${client.cn}`,
      '-keyout',
      'client.key',
      '-out',
      'client.csr',
    ]);
    await run(['x509', '-req', '-in', 'client.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-out', 'client.pem']);
  }
  const read = (f: string) => readFile(path.join(dir, f), 'utf8');
  return { ca: await read('ca.pem'), key: await read('server.key'), cert: await read('server.pem') };
}
