import type { Dispatcher } from 'undici';

type Headers = Dispatcher.ResponseData['headers'];

/** One header value (the first, when a server repeated it). */
export function header(headers: Headers, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** A header holding a non-negative integer (Content-Length), else undefined. */
export function numberHeader(headers: Headers, name: string): number | undefined {
  const value = header(headers, name);
  if (value === undefined || !/^\d+$/.test(value)) return undefined;
  return Number(value);
}

/** `Content-Range: bytes a-b/total` (total may be `*`, then undefined). */
export function contentRange(headers: Headers): { start: number; total: number | undefined } | undefined {
  const match = /^bytes (\d+)-\d+\/(\d+|\*)$/.exec(header(headers, 'content-range') ?? '');
  if (!match) return undefined;
  return { start: Number(match[1]), total: match[2] === '*' ? undefined : Number(match[2]) };
}
