import { PrefetchError } from '../errors.js';
import type { RequestPolicy } from '../backends/types.js';

/** Query parameters that carry secrets in dist URLs (GitLab, private repositories, signed URLs). */
const SECRET_PARAMS = /^(access_token|private_token|token|auth|signature|sig|x-amz-signature|x-amz-credential|x-amz-security-token|key|api_key|apikey|password|secret)$/i;

/** A URL as it may be shown to a person, in logs, reports and errors (`Url::sanitize`). */
export function redactUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    // Not a URL we can parse: still hide anything that looks like userinfo.
    return url.replace(/\/\/[^/@\s]*@/, '//***@');
  }
  if (parsed.username !== '' || parsed.password !== '') {
    parsed.username = '***';
    parsed.password = '';
  }
  for (const key of [...parsed.searchParams.keys()]) {
    if (SECRET_PARAMS.test(key)) parsed.searchParams.set(key, '***');
  }
  return parsed.href;
}

export interface RequestPolicyOptions {
  /** Composer's `secure-http` (default true): plain-http URLs are refused. */
  readonly secureHttp: boolean;
  /** Extra headers for a URL (auth.json credentials); decided per origin. */
  readonly credentialsFor?: (url: URL) => Record<string, string>;
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
        headers['authorization'] = `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
      }
      return headers;
    },
    redact: redactUrl,
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
