import { JsonInputError } from './errors.js';

/**
 * JSON.parse that reports the file and the line/column of a syntax error, so a user can jump
 * straight to it. V8 names a character offset in most messages ("… at position 17"); the end
 * of the text stands in when it does not ("Unexpected end of JSON input").
 */
export function parseJson(text: string, file: string): unknown {
  try {
    return JSON.parse(stripBom(text));
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    const match = /at position (\d+)/.exec(detail);
    const offset = match ? Number(match[1]) : /end of JSON input/i.test(detail) ? text.length : undefined;
    const { line, column } = offset === undefined ? { line: undefined, column: undefined } : lineColumn(text, offset);
    throw new JsonInputError({ file, line, column, detail: detail.replace(/\s*\(line \d+ column \d+\)$/, ''), cause: error });
  }
}

function stripBom(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/** 1-based line and column of a character offset. */
export function lineColumn(text: string, offset: number): { line: number; column: number } {
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
