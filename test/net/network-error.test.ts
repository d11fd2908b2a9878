import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { errors } from 'undici';
import { networkError } from '../../src/net/network-error.js';

describe('networkError', () => {
  it("a proxy's refused tunnel is a proxy failure with a hint, not an interruption", () => {
    const error = networkError(new errors.RequestAbortedError('Proxy response (407) !== 200 when HTTP Tunneling'), 'a/b', 'https://repo.example/a.zip');
    assert.equal(error.code, 'E_NETWORK');
    assert.equal(error.retryable, false);
    assert.match(error.message, /proxy answered HTTP 407/);
    assert.match(error.hint ?? '', /https_proxy=http:\/\/user:password@/);
    const bad = networkError(new errors.RequestAbortedError('Proxy response (502) !== 200 when HTTP Tunneling'), 'a/b', 'https://repo.example/a.zip');
    assert.equal(bad.retryable, true);
  });

  it('maps resets and stalls to retryable network errors, and an abort to E_ABORTED', () => {
    const reset = networkError(Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' }), 'a/b', 'u');
    assert.equal(reset.code, 'E_NETWORK');
    assert.equal(reset.retryable, true);
    assert.match(reset.message, /connection reset/);
    assert.match(networkError(Object.assign(new Error('x'), { code: 'UND_ERR_BODY_TIMEOUT' }), 'a/b', 'u').message, /transfer stalled/);
    assert.equal(networkError(new errors.RequestAbortedError(), 'a/b', 'u').code, 'E_ABORTED');
  });
});
