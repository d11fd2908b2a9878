import { JsonInputError } from './errors.js';

/**
 * JSON.parse that reports the file and the line/column of a syntax error, so a user can jump
 * straight to it, and never quotes the text: V8's "Unexpected token" messages show the text around
 * the error, and a lock's dist URLs can carry credentials too.
 */
export function parseJson(text: string, file: string): unknown {
  return parseWithPosition(text, file, undefined);
}

/**
 * `parseJson` for files that hold credentials by design (auth.json, composer.json, config.json,
 * COMPOSER_AUTH): same position-only error, with a hint that fits them (not "regenerate the lock").
 */
export function parseSecretJson(text: string, label: string): unknown {
  return parseWithPosition(text, label, 'Fix the JSON at that position (it may hold credentials, so its content is not shown).');
}

function stripBom(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/** 1-based line and column of a character offset. */
function lineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: offset - lineStart + 1 };
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Parses, or throws a `JsonInputError` with the position and a structural phrase only ("expected
 * ':' after property name"). Without a position in V8's message, the error is found by probing
 * prefixes: the longest prefix that fails only for being incomplete ends where it is.
 */
function parseWithPosition(text: string, label: string, hint: string | undefined): unknown {
  const body = stripBom(text);
  try {
    return JSON.parse(body);
  } catch (error) {
    const failure = secretSafeFailure(error);
    let offset = failure.offset;
    if (offset === undefined) {
      let lo = 0;
      let hi = body.length;
      while (lo < hi) {
        const mid = Math.ceil((lo + hi) / 2);
        if (isIncomplete(body.slice(0, mid))) lo = mid;
        else hi = mid - 1;
      }
      offset = lo;
    }
    const { line, column } = lineColumn(body, offset);
    throw new JsonInputError({
      file: label,
      line,
      column,
      detail: failure.detail ?? (offset >= body.length ? 'unexpected end of input' : 'unexpected character'),
      // No `cause`: the original error quotes the text.
      hint,
    });
  }
}

/** V8's message reduced to what never quotes the input: a structural phrase and a position. */
function secretSafeFailure(error: unknown): { detail: string | undefined; offset: number | undefined } {
  const message = error instanceof Error ? error.message : '';
  if (/end of JSON input/i.test(message)) return { detail: 'unexpected end of input', offset: undefined };
  const match = /^(.{1,80}?) in JSON at position (\d+)/.exec(message);
  if (!match || /unexpected token|"/i.test(match[1]!)) return { detail: undefined, offset: match ? Number(match[2]) : undefined };
  return { detail: match[1]!.charAt(0).toLowerCase() + match[1]!.slice(1), offset: Number(match[2]) };
}

/** Whether `prefix` fails only because it stops early (a longer text could still be valid JSON). */
function isIncomplete(prefix: string): boolean {
  try {
    JSON.parse(prefix);
    return true;
  } catch (error) {
    const message = error instanceof Error ? error.message : '';
    if (/end of JSON input/i.test(message)) return true;
    const position = /at position (\d+)/.exec(message);
    return position !== null && Number(position[1]) >= prefix.length;
  }
}
