import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import { BodyBatches, batchBytes } from '../../src/backends/body-batches.js';

const text = (batch: Buffer[] | undefined): string | undefined => (batch === undefined ? undefined : Buffer.concat(batch).toString());

describe('BodyBatches', () => {
  it('hands over everything that arrived meanwhile as one batch, then undefined at the end', async () => {
    const body = new PassThrough();
    const batches = new BodyBatches(body);
    body.write('ab');
    body.write('cd');
    await new Promise((resolve) => setImmediate(resolve));
    const first = await batches.next();
    assert.deepEqual([first?.length, text(first), batchBytes(first!)], [2, 'abcd', 4]);
    const pending = batches.next();
    body.end('ef');
    assert.equal(text(await pending), 'ef');
    assert.equal(await batches.next(), undefined);
  });

  it('keeps the chunks that arrived before an error and throws after the last of them', async () => {
    const body = new PassThrough();
    const batches = new BodyBatches(body);
    body.write('kept');
    await new Promise((resolve) => setImmediate(resolve));
    body.destroy(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }));
    assert.equal(text(await batches.next()), 'kept');
    await assert.rejects(batches.next(), { code: 'ECONNRESET' });
  });

  it('a body closed without its end fails as a socket error', async () => {
    const body = new PassThrough();
    const batches = new BodyBatches(body);
    body.destroy();
    await assert.rejects(batches.next(), { code: 'UND_ERR_SOCKET' });
    await assert.rejects(new BodyBatches(body).next(), { code: 'UND_ERR_SOCKET' }, 'already destroyed when handed over');
  });

  it('pauses the body past its limit and resumes it when the batch is taken', async () => {
    const body = new PassThrough();
    const batches = new BodyBatches(body, 4);
    body.write('12345');
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(body.isPaused(), true);
    assert.equal(text(await batches.next()), '12345');
    assert.equal(body.isPaused(), false);
    body.end();
    assert.equal(await batches.next(), undefined);
  });

  it('after dispose a late error of the body is swallowed', async () => {
    const body = new PassThrough();
    const batches = new BodyBatches(body);
    batches.dispose();
    body.destroy(new Error('late'));
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(body.listenerCount('error') > 0, true);
  });
});
