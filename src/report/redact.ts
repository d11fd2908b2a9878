import { redactUrl } from '../net/request-policy.js';

/** Any URL inside free text (error messages quote them) goes through `redactUrl` too. */
export function redactText(text: string): string {
  return text.replace(/\b[a-z][a-z0-9+.-]*:\/\/[^\s'"<>()]+/gi, (url) => redactUrl(url));
}
