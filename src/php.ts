/**
 * PHP's own semantics where Composer's behaviour depends on them: truthiness, casts, `trim`,
 * loose `==`, `parse_url`'s host, `preg_replace` replacements. Each mirrors the PHP function it is
 * named after, for the values Composer feeds it. Pure.
 */

/** PHP truthiness of a string: '' and '0' are false. */
export function phpTruthy(value: string | undefined): value is string {
  return value !== undefined && value !== '' && value !== '0';
}

/** PHP string numericness (PHP 8 `is_numeric`, leading whitespace allowed, trailing too). */
function isPhpNumeric(value: string): boolean {
  return /^[ \t\n\r\v\f]*[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?[ \t\n\r\v\f]*$/.test(value);
}

/** PHP 8 loose `==` between two strings (`in_array` without strict): numeric strings compare as numbers. */
export function phpLooseEqualStrings(a: string, b: string): boolean {
  if (a === b) return true;
  return isPhpNumeric(a) && isPhpNumeric(b) && Number(a.trim()) === Number(b.trim());
}

/**
 * The host as PHP `parse_url($url, PHP_URL_HOST)` reports it: case preserved, no IDN conversion,
 * userinfo and port removed. `undefined` where PHP has no host (no `//authority`) or rejects the URL
 * (non-numeric or out-of-range port).
 */
export function phpUrlHost(url: string): string | undefined {
  let rest: string;
  const scheme = /^[a-zA-Z][a-zA-Z0-9+.-]*:/.exec(url);
  if (scheme && url.startsWith('//', scheme[0].length)) rest = url.slice(scheme[0].length + 2);
  else if (!scheme && url.startsWith('//')) rest = url.slice(2);
  else return undefined;
  const end = rest.search(/[/?#]/);
  let authority = end === -1 ? rest : rest.slice(0, end);
  const at = authority.lastIndexOf('@');
  if (at !== -1) authority = authority.slice(at + 1);
  let host = authority;
  if (authority.startsWith('[')) {
    const close = authority.indexOf(']');
    if (close !== -1) {
      host = authority.slice(0, close + 1);
      const after = authority.slice(close + 1);
      if (after !== '' && !/^:\d{0,5}$/.test(after)) return undefined;
    }
  } else {
    const colon = authority.lastIndexOf(':');
    if (colon !== -1) {
      const port = authority.slice(colon + 1);
      if (!/^\d{0,5}$/.test(port) || (port !== '' && Number(port) > 65535)) return undefined;
      host = authority.slice(0, colon);
    }
  }
  return host === '' ? undefined : host;
}

/**
 * Expands a PHP `preg_replace` replacement string: `\\N`, `$N` and `${N}` (N up to two digits) are
 * groups (missing ones are ''), a backslash before `\\` or `$` escapes it, anything else is literal.
 * Composer builds the replacement by concatenating the reference, so a reference containing `$1`
 * is interpreted too (php_pcre.c `preg_get_backref`).
 */
export function phpPregReplacement(replacement: string, callbackArgs: readonly unknown[]): string {
  const groups: string[] = [];
  for (const arg of callbackArgs) {
    if (typeof arg !== 'string' && arg !== undefined) break; // offset argument ends the groups
    groups.push(typeof arg === 'string' ? arg : '');
  }
  let out = '';
  let lastCopied = '';
  let i = 0;
  while (i < replacement.length) {
    const ch = replacement.charAt(i);
    if (ch === '\\' || ch === '$') {
      if (lastCopied === '\\') {
        out = out.slice(0, -1) + ch;
        lastCopied = '';
        i++;
        continue;
      }
      const ref = /^(?:\\(\d\d?)|\$(\d\d?)|\$\{(\d\d?)\})/.exec(replacement.slice(i));
      if (ref) {
        const index = Number(ref[1] ?? ref[2] ?? ref[3]);
        out += groups[index] ?? '';
        i += ref[0].length; // PHP leaves its "last copied" marker as it was
        continue;
      }
    }
    out += ch;
    lastCopied = ch;
    i++;
  }
  return out;
}

/** PHP `trim()` with its default character list. */
export function phpTrim(value: string): string {
  return value.replace(/^[ \t\n\r\0\x0B]+|[ \t\n\r\0\x0B]+$/g, '');
}

/** PHP `empty()` for a preg match group: unset, '' and '0' are all empty. */
export function isEmptyGroup(group: string | undefined): boolean {
  return group === undefined || group === '' || group === '0';
}

/** PHP `(bool)` for JSON values. */
export function phpBool(value: unknown): boolean {
  if (typeof value === 'string') return value !== '' && value !== '0';
  if (typeof value === 'number') return value !== 0;
  if (Array.isArray(value)) return value.length > 0;
  if (typeof value === 'object' && value !== null) return Object.keys(value).length > 0;
  return value === true;
}

/** PHP `(float)` of a string or number: the leading numeric part, 0 when there is none. */
export function phpFloat(value: unknown): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (typeof value !== 'string') return 0;
  const match = /^[ \t\n\r\v\f]*[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?/.exec(value);
  return match ? Number(match[0].trim()) : 0;
}

/** PHP `(int)`: truncation towards zero of the float reading. */
export function phpInt(value: unknown): number {
  const n = Math.trunc(phpFloat(value));
  return Number.isFinite(n) ? n : 0;
}

/** PHP `(string)` for config values. */
export function phpToString(value: unknown): string {
  if (value === null || value === undefined || value === false) return '';
  if (value === true) return '1';
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return String(value);
  return 'Array';
}
