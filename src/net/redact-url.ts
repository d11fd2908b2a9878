/** A leaf module: reporters and planning redact URLs without loading the request rules. */

/**
 * Names of query, fragment and `;` path parameters whose values are secrets in dist URLs (GitLab,
 * private repositories, signed S3/GCS/Azure URLs). Generous on purpose: hiding a harmless value
 * costs nothing, printing a token costs a rotation.
 */
const SECRET_PARAM =
  /^(?:sig|key|auth|pass|pwd|jwt|sas|authorization|x-amz-credential|x-goog-credential)$|token|secret|signature|passw|api[-_]?key|access[-_]?key|private/i;

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
