import { PrefetchError } from '../errors.js';
import { basicAuthorization } from './request-headers.js';
import type { RequestPolicy } from '../types.js';

/**
 * Names of query, fragment and `;` path parameters whose values are secrets in dist URLs (GitLab,
 * private repositories, signed S3/GCS/Azure URLs). Generous on purpose: hiding a harmless value
 * costs nothing, printing a token costs a rotation.
 */
const SECRET_PARAM = /^(?:sig|key|auth|pass|pwd|jwt|sas|authorization|x-amz-credential|x-goog-credential)$|token|secret|signature|passw|api[-_]?key|access[-_]?key|private/i;

/**
 * A URL as it may be shown to a person, in logs, reports and errors (`Url::sanitize`): userinfo
 * becomes `***`, secret parameter values become `***`. Works on the text alone, so a URL that no
 * parser accepts is redacted too. Userinfo may hold a raw `/`, `?`, `#` or `@` (base64 tokens,
 * hand-written locks), so it is taken to run from `scheme://` to the *last* `@`: in
 * `http://u:abc/def@host/x.zip` that hides `u:abc/def`, and an `@` later in a path or query hides
 * more than needed rather than less. Idempotent: `https://***@host/` stays as it is.
 */
export function redactUrl(url: string): string {
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(url);
  const start = scheme ? scheme[0].length : 0;
  let rest = url.slice(start);
  const at = rest.lastIndexOf('@');
  if (at >= 0 && (scheme !== null || /^[^/]*:/.test(rest.slice(0, at)))) rest = `***@${rest.slice(at + 1)}`;
  rest = rest.replace(/([?&;#])([^=&;#?/]+)=([^&;#]*)/g, (whole, sep: string, name: string) => {
    let decoded = name;
    try {
      decoded = decodeURIComponent(name);
    } catch {
      // Keep the name as written.
    }
    return SECRET_PARAM.test(decoded) ? `${sep}${name}=***` : whole;
  });
  return url.slice(0, start) + rest;
}

export interface RequestPolicyOptions {
  /** Composer's `secure-http` (default true): plain-http URLs are refused. */
  readonly secureHttp: boolean;
  /** Extra headers for a URL (auth.json credentials); decided per origin. */
  readonly credentialsFor?: (url: URL) => Record<string, string>;
  /** A final failure in this project's words (`explainAuthFailure` with its auth.json); as is by default. */
  readonly explainFailure?: (error: PrefetchError) => PrefetchError;
  /** Origins (`host[:port]`) that get a TLS client certificate. */
  readonly clientCertificateOrigins?: ReadonlySet<string>;
}

export function createRequestPolicy(options: RequestPolicyOptions): RequestPolicy {
  return {
    headersFor(url) {
      // Decided from this URL alone, at every hop: a credential never follows a redirect elsewhere.
      const headers = { ...(options.credentialsFor?.(url) ?? {}) };
      // Credentials written into the URL beat auth.json for that request: `HttpDownloader::addJob`
      // files them as the origin's IO auth, and `AuthHelper` then sends Basic user:pass.
      if (url.username !== '' || url.password !== '') {
        const user = decodeURIComponent(url.username);
        const pass = decodeURIComponent(url.password);
        delete headers['private-token'];
        headers['authorization'] = basicAuthorization(user, pass);
      }
      return headers;
    },
    redact: redactUrl,
    explainFailure: options.explainFailure ?? ((error) => error),
    presentsClientCertificate(url) {
      const origins = options.clientCertificateOrigins;
      return origins !== undefined && origins.size > 0 && origins.has(url.port === '' ? url.hostname : `${url.hostname}:${url.port}`);
    },
    assertAllowed(url) {
      if (url.protocol === 'https:') return;
      if (url.protocol === 'http:' && !options.secureHttp) return;
      const shown = redactUrl(url.href);
      if (url.protocol === 'http:') {
        // `Config::prohibitUrlByConfig`; the backend calls this for every redirect target too.
        throw new PrefetchError('E_INSECURE', `Refusing plain-http URL ${shown} (the dist URL, a mirror, or a redirect target): Composer's secure-http is on`, {
          url: shown,
          hint: 'Composer would refuse it too. Use https, or set "secure-http": false in the project\'s composer.json "config" if you trust this network.',
        });
      }
      throw new PrefetchError('E_INSECURE', `Unsupported URL scheme in ${shown}`, { url: shown });
    },
  };
}
