import { PrefetchError } from '../errors.js';
import { basicAuthorization, originKey } from './request-headers.js';
import type { RequestPolicy } from '../types.js';
import { redactUrl } from './redact-url.js';

export { redactUrl };

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
      return origins !== undefined && origins.size > 0 && origins.has(originKey(url));
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
