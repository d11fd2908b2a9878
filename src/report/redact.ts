import { redactUrl } from '../net/redact-url.js';

/**
 * Any URL inside free text (error messages quote them) goes through `redactUrl` too. A URL runs
 * to the next whitespace: a password may hold quotes or brackets, and `redactUrl` leaves what
 * follows the host as it was, so trailing punctuation of the sentence is kept.
 */
export function redactText(text: string): string {
  return text.replace(/\b[a-z][a-z0-9+.-]*:\/\/\S+/gi, (url) => redactUrl(url));
}
