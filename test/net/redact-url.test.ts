import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { redactUrl } from '../../src/net/request-policy.js';
import { redactText } from '../../src/report/redact.js';
import { validateMirrorTemplate } from '../../src/plan/mirror-urls.js';

/** [input, expected]: every `SECRET…` must disappear, everything else stays readable. */
const TABLE: readonly (readonly [string, string])[] = [
  ['https://me:SECRET1@a.example/x.zip?access_token=SECRET2&v=1', 'https://***@a.example/x.zip?access_token=***&v=1'],
  // A base64 token with `/` in the password: no parser accepts it, the text rule still does.
  ['http://u:abc/SECRET3@host/x.zip', 'http://***@host/x.zip'],
  // Parses (host "u", port 123), but the author meant a password: the generous reading wins.
  ['http://u:123/SECRET4@host/x.zip', 'http://***@host/x.zip'],
  ['https://u:pa?SECRET5@host/x.zip', 'https://***@host/x.zip'],
  ['https://u:pa#SECRET6@host/x.zip', 'https://***@host/x.zip'],
  ['https://u:pa@SECRET7@host/x.zip', 'https://***@host/x.zip'],
  ['https://SECRET8@host/x.zip', 'https://***@host/x.zip'],
  ['https://u:p%40SECRET9@host/x.zip', 'https://***@host/x.zip'],
  ['https://[::1:SECRET10@host/x.zip', 'https://***@host/x.zip'],
  ['HTTPS://U:SECRET11@HOST/x.zip', 'HTTPS://***@HOST/x.zip'],
  ['https://host/x.zip;token=SECRET12', 'https://host/x.zip;token=***'],
  // A value runs to the next `&`, `;` or `#`: a base64 value may hold `/` and `?`.
  ['https://host/dl;private_token=SECRET13/x.zip?v=1', 'https://host/dl;private_token=***'],
  ['https://host/dl;private_token=SECRET13/x.zip;v=1', 'https://host/dl;private_token=***;v=1'],
  ['https://host/x.zip?X-Amz-Signature=SECRET14&X-Amz-Credential=SECRET15&v=2', 'https://host/x.zip?X-Amz-Signature=***&X-Amz-Credential=***&v=2'],
  ['https://host/x.zip?%74oken=SECRET16', 'https://host/x.zip?%74oken=***'],
  ['https://host/x.zip#access_token=SECRET17', 'https://host/x.zip#access_token=***'],
  ['https://host/x.zip?sig=SECRET18&api-key=SECRET19&client_secret=SECRET20', 'https://host/x.zip?sig=***&api-key=***&client_secret=***'],
  ['not a url u:SECRET21@host', '***@host'],
  ['u:SECRET22@proxy.example:3128', '***@proxy.example:3128'],
  // Nothing secret: unchanged.
  ['https://repo.example/dists/acme/alpha/1.0.0.zip?v=3', 'https://repo.example/dists/acme/alpha/1.0.0.zip?v=3'],
  ['https://***@host/x.zip', 'https://***@host/x.zip'],
];

describe('redactUrl: text-level, never depends on a URL parser', () => {
  for (const [input, expected] of TABLE) {
    it(JSON.stringify(input), () => {
      const shown = redactUrl(input);
      assert.doesNotMatch(shown, /SECRET/);
      assert.equal(shown, expected);
      assert.equal(redactUrl(shown), shown, 'idempotent');
    });
  }

  it('an @ later in the path hides more, never less', () => {
    assert.equal(redactUrl('https://host/pkg@1.2/x.zip'), 'https://***@1.2/x.zip');
  });

  it('redactText finds URLs in sentences, whatever the password holds', () => {
    const text = redactText(`HTTP 404 from http://u:a(b"c'SECRET1/x@host/x.zip: not found; also 'https://u:SECRET2@h/y' (and https://h/z;token=SECRET3)`);
    assert.doesNotMatch(text, /SECRET/);
    assert.equal(text, "HTTP 404 from http://***@host/x.zip: not found; also 'https://***@h/y' (and https://h/z;token=***");
  });

  it('a --mirror template that is not a URL is named redacted in its usage error', () => {
    assert.throws(
      () => validateMirrorTemplate('https://u:abc/SECRET@mirror.example/%package%'),
      (error: Error) => {
        assert.doesNotMatch(error.message, /SECRET/);
        assert.match(error.message, /mirror\.example/);
        return true;
      },
    );
  });
});
