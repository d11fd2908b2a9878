import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { aria2FailureToError } from '../../src/backends/aria2-errors.js';
import { Aria2LogReader, type Aria2Exchange } from '../../src/backends/aria2-log.js';
import { HttpStatusError } from '../../src/errors.js';
import { failureCause } from '../../src/report/failure-cause.js';

/** aria2 1.36's info log for one redirected download that ends in a 429, as `--log=-` prints it. */
const LOG = `2026-12-02 11:27:17.564866 [NOTICE] [Context.cc:310] Downloading 1 item(s)
2026-12-02 11:27:17.614992 [INFO] [HttpConnection.cc:128] CUID#7 - Requesting:
GET /r HTTP/1.1
User-Agent: aria2/1.36.0
Host: 127.0.0.1:44841


2026-12-02 11:27:17.623174 [INFO] [HttpConnection.cc:163] CUID#7 - Response received:
HTTP/1.1 302 Found
location: http://localhost:44841/x
Transfer-Encoding: chunked


2026-12-02 11:27:17.623287 [NOTICE] [HttpResponse.cc:168] CUID#7 - Redirecting to http://localhost:44841/x
2026-12-02 11:27:17.626793 [INFO] [HttpConnection.cc:128] CUID#7 - Requesting:
GET /x?y=1 HTTP/1.1
Host: localhost:44841


2026-12-02 11:27:17.629154 [INFO] [HttpConnection.cc:163] CUID#7 - Response received:
HTTP/1.1 429 Too Many Requests
retry-after: 3
Retry-After: 9
content-length: 0


12/02 11:27:20 [ERROR] CUID#7 - Download aborted. URI=http://127.0.0.1:44841/r
Exception: [AbstractCommand.cc:351] errorCode=22 URI=http://localhost:44841/x
`;

function read(text: string, chunk = text.length): { exchanges: Aria2Exchange[]; other: string[] } {
  const exchanges: Aria2Exchange[] = [];
  const other: string[] = [];
  const reader = new Aria2LogReader({ response: (e) => exchanges.push(e), other: (l) => other.push(l) });
  for (let i = 0; i < text.length; i += chunk) reader.push(text.slice(i, i + chunk));
  return { exchanges, other };
}

describe("aria2's log: the HTTP exchanges it shows", () => {
  it('pairs each response head with its request: host, path, status, headers (first value)', () => {
    const { exchanges, other } = read(LOG);
    assert.deepEqual(
      exchanges.map((e) => [e.cuid, e.method, e.host, e.path, e.status]),
      [
        [7, 'GET', '127.0.0.1:44841', '/r', 302],
        [7, 'GET', 'localhost:44841', '/x?y=1', 429],
      ],
    );
    assert.equal(exchanges[0]!.headers['location'], 'http://localhost:44841/x');
    assert.equal(exchanges[1]!.headers['retry-after'], '3');
    assert.deepEqual(other, [
      '12/02 11:27:20 [ERROR] CUID#7 - Download aborted. URI=http://127.0.0.1:44841/r',
      'Exception: [AbstractCommand.cc:351] errorCode=22 URI=http://localhost:44841/x',
    ]);
  });

  it('tells of each request as it is sent, and of each finished download by its path', () => {
    const requests: string[] = [];
    const complete: string[] = [];
    const reader = new Aria2LogReader({
      request: (r) => requests.push(`${r.cuid} ${r.host}${r.path}`),
      response: () => undefined,
      complete: (p) => complete.push(p),
    });
    reader.push(`${LOG}2026-12-02 11:39:24.529829 [NOTICE] [RequestGroup.cc:1214] Download complete: /tmp/staging/p0-a1.part\n`);
    assert.deepEqual(requests, ['7 127.0.0.1:44841/r', '7 localhost:44841/x?y=1']);
    assert.deepEqual(complete, ['/tmp/staging/p0-a1.part']);
  });

  it('reads the same from chunks cut anywhere, CRLF or not', () => {
    for (const size of [1, 7, 64]) assert.deepEqual(read(LOG, size).exchanges, read(LOG).exchanges);
    assert.deepEqual(read(LOG.replaceAll('\n', '\r\n')).exchanges, read(LOG).exchanges);
  });

  it('through a proxy: the absolute request-target names the host; a CONNECT answer is no exchange', () => {
    const proxied = `2026-12-02 11:27:17.614992 [INFO] [HttpConnection.cc:128] CUID#8 - Requesting:
GET http://codeload.github.com/a/b/zip/r HTTP/1.1
Host: codeload.github.com


2026-12-02 11:27:17.623174 [INFO] [HttpConnection.cc:163] CUID#8 - Response received:
HTTP/1.1 400 Bad Request


2026-12-02 11:27:17.614992 [INFO] [HttpConnection.cc:128] CUID#9 - Requesting:
CONNECT example.org:443 HTTP/1.1
Host: example.org:443


2026-12-02 11:27:17.623174 [INFO] [HttpConnection.cc:163] CUID#9 - Response received:
HTTP/1.1 200 Connection Established


`;
    assert.deepEqual(
      read(proxied).exchanges.map((e) => [e.host, e.path, e.status]),
      [['codeload.github.com', '/a/b/zip/r', 400]],
    );
  });
});

describe('aria2FailureToError: HTTP statuses by the rules every transport uses', () => {
  const failure = (status: number) => ({ errorCode: '22', errorMessage: `The response status is not successful. status=${status}` });

  it("codeload's transient 400 is retryable when the log shows codeload answered (after a redirect from api.github.com)", () => {
    const answer = { status: 400, url: new URL('https://codeload.github.com/a/b/legacy.zip/r') };
    const error = aria2FailureToError(failure(400), { packageName: 'a/b', url: 'https://api.github.com/repos/a/b/zipball/r', answer });
    assert.ok(error instanceof HttpStatusError);
    assert.equal(error.retryable, true);
    assert.equal(aria2FailureToError(failure(400), { packageName: 'a/b', url: 'https://example.org/a.zip' }).retryable, false);
  });

  it("a 429's Retry-After from the log is the wait", () => {
    const answer = { status: 429, url: new URL('https://example.org/a.zip'), retryAfter: '3' };
    const error = aria2FailureToError(failure(429), { packageName: 'a/b', url: 'https://example.org/a.zip', answer });
    assert.ok(error instanceof HttpStatusError);
    assert.equal(error.retryAfterMs, 3000);
    assert.equal(error.retryable, true);
  });
});

describe('aria2FailureToError: network failures classified as the same failure from undici', () => {
  const cause = (errorCode: string, errorMessage: string) =>
    failureCause(aria2FailureToError({ errorCode, errorMessage }, { packageName: 'a/b', url: 'https://h/x.zip' }));
  it('by the socket code behind aria2 codes 2, 6 and 19', () => {
    assert.equal(cause('2', 'Timeout.'), 'timeout');
    assert.equal(cause('6', 'Failed to establish connection, cause: Connection refused'), 'connect');
    assert.equal(cause('6', 'Got EOF from the server.'), 'reset');
    assert.equal(cause('19', 'Name resolution for h failed'), 'connect');
    assert.equal(cause('28', 'reset in the words of an unrelated error'), 'other');
  });
});
