import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { bypassesProxy, createDispatcher, parseNoProxy, proxyFor, resolveProxySettings } from '../../src/net/dispatcher.js';
import { DistServer } from '../helpers/dist-server.js';
import { ForwardProxy } from '../helpers/forward-proxy.js';

describe('proxy variables as Composer ≥ 2.7.3 reads them (ProxyManager)', () => {
  it('lowercase wins over uppercase', () => {
    const s = resolveProxySettings({ http_proxy: 'http://lower:1', HTTP_PROXY: 'http://upper:2' });
    assert.equal(s.http?.uri, 'http://lower:1');
    assert.equal(s.http?.source, 'http_proxy');
  });
  it('no fallback from https to the http proxy', () => {
    const s = resolveProxySettings({ HTTP_PROXY: 'http://p:3128' });
    assert.equal(proxyFor(new URL('https://a.example/x'), s), undefined);
    assert.equal(proxyFor(new URL('http://a.example/x'), s)?.uri, 'http://p:3128');
  });
  it('CGI_HTTP_PROXY only when there is no http proxy', () => {
    assert.equal(resolveProxySettings({ CGI_HTTP_PROXY: 'http://cgi:1' }).http?.uri, 'http://cgi:1');
    assert.equal(resolveProxySettings({ CGI_HTTP_PROXY: 'http://cgi:1', http_proxy: 'http://h:2' }).http?.uri, 'http://h:2');
  });
  it('empty values count as unset; a scheme-less value is http://', () => {
    const s = resolveProxySettings({ https_proxy: '', HTTPS_PROXY: 'proxy.example:8080' });
    assert.equal(s.https?.uri, 'http://proxy.example:8080');
  });
  it('userinfo becomes Proxy-Authorization and leaves the URI', () => {
    const s = resolveProxySettings({ https_proxy: 'http://us%40er:p%3Ass@p.example:3128' });
    assert.equal(s.https?.uri, 'http://p.example:3128');
    assert.equal(s.https?.authorization, `Basic ${Buffer.from('us@er:p:ss').toString('base64')}`);
  });
  it('rejects other schemes without echoing credentials', () => {
    assert.throws(
      () => resolveProxySettings({ https_proxy: 'socks5://u:SECRET@p:1' }),
      (e: Error) => /http or https/.test(e.message) && !e.message.includes('SECRET'),
    );
  });
  it('no_proxy: *, exact, subdomain, leading dot, port, CIDR', () => {
    const rules = parseNoProxy('.internal.example, repo.example:8443 10.0.0.0/8,[::1]');
    const t = (u: string) => bypassesProxy(new URL(u), rules);
    assert.equal(t('https://a.internal.example/x'), true);
    assert.equal(t('https://internal.example/x'), true);
    assert.equal(t('https://repo.example:8443/x'), true);
    assert.equal(t('https://repo.example/x'), false);
    assert.equal(t('http://10.1.2.3/x'), true);
    assert.equal(t('http://11.1.2.3/x'), false);
    assert.equal(t('http://[::1]:99/x'), true);
    assert.equal(bypassesProxy(new URL('https://any.example'), parseNoProxy('*')), true);
  });
});

describe('createDispatcher through a loopback forward proxy', () => {
  let server: DistServer;
  let proxy: ForwardProxy;
  const auth = `Basic ${Buffer.from('pu:pp').toString('base64')}`;
  before(async () => {
    server = await new DistServer().start();
    server.add('/hello', Buffer.from('hi'));
    proxy = await new ForwardProxy(auth).start();
  });
  after(async () => {
    await server.stop();
    await proxy.stop();
  });
  const opts = { perOrigin: 2, connectTimeoutMs: 5000, headersTimeoutMs: 5000, stallTimeoutMs: 5000 };

  it('http:// goes to the proxy as an absolute-URI request with Proxy-Authorization', async () => {
    const d = createDispatcher(opts, { http_proxy: proxy.url.replace('http://', 'http://pu:pp@') });
    try {
      const res = await d.request({ origin: server.origin, path: '/hello', method: 'GET' });
      assert.equal(await res.body.text(), 'hi');
    } finally {
      await d.close();
    }
    const entry = proxy.log.at(-1);
    assert.equal(entry?.target, `${server.origin}/hello`);
    assert.equal(entry?.proxyAuthorization, auth);
    assert.equal(server.requests.at(-1)?.headers['proxy-authorization'], undefined, 'the origin never sees proxy credentials');
  });
  it('wrong proxy credentials: 407', async () => {
    const d = createDispatcher(opts, { http_proxy: proxy.url });
    try {
      // undici's ProxyAgent turns the proxy's 407 into an error
      await assert.rejects(d.request({ origin: server.origin, path: '/hello', method: 'GET' }), /407/);
      assert.equal(proxy.log.at(-1)?.status, 407);
    } finally {
      await d.close();
    }
  });
  it('no_proxy bypasses the proxy; https_proxy alone does not catch http://', async () => {
    for (const env of [{ http_proxy: proxy.url, no_proxy: '127.0.0.1' }, { https_proxy: proxy.url }]) {
      const before = proxy.log.length;
      const d = createDispatcher(opts, env);
      try {
        const res = await d.request({ origin: server.origin, path: '/hello', method: 'GET' });
        assert.equal(await res.body.text(), 'hi');
      } finally {
        await d.close();
      }
      assert.equal(proxy.log.length, before);
    }
  });
});
