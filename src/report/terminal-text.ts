import { redactUrl } from '../net/redact-url.js';
import { redactText } from './redact.js';

/**
 * Characters a terminal acts on instead of showing: C0 controls (ESC starts colour, title and
 * clear-screen sequences; CR and LF forge whole lines such as a fake `Done: 0 failed`), DEL, C1
 * controls (0x9B is a one-byte CSI on some terminals), the Unicode line/paragraph separators, and
 * the bidirectional overrides and isolates that reorder what is shown (CVE-2021-42574).
 */
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/** One unsafe character as visible text: `\n`, `\r`, `\t`, else `\x1b` / `\u202e`. */
function visible(char: string): string {
  if (char === '\n') return '\\n';
  if (char === '\r') return '\\r';
  if (char === '\t') return '\\t';
  const code = char.charCodeAt(0);
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

/**
 * Control and bidi characters made visible; everything else unchanged. `keepLineBreaks` leaves CR
 * and LF for a caller that encodes them itself (GitHub workflow commands: `%0A`).
 */
export function escapeControlChars(text: string, options: { keepLineBreaks?: boolean } = {}): string {
  return text.replace(UNSAFE, (char) => (options.keepLineBreaks === true && (char === '\n' || char === '\r') ? char : visible(char)));
}

/**
 * Text from outside (package names and versions from a lock, URLs, paths, server and error
 * messages) as it may be printed for a person: URLs redacted, control characters made visible,
 * so it stays on its own line and cannot restyle, retitle or clear the terminal. Every human
 * reporter passes such text through here; JSON output does not (JSON.stringify escapes it).
 */
export function displayText(text: string, options: { keepLineBreaks?: boolean } = {}): string {
  return escapeControlChars(redactText(text), options);
}

/** A URL for a person: redacted by `redactUrl`, control characters made visible. */
export function displayUrl(url: string): string {
  return escapeControlChars(redactUrl(url));
}
