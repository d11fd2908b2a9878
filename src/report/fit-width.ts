/**
 * Lines fitted to a terminal's width. While the progress bar is drawn, cli-progress turns the
 * terminal's autowrap off (`linewrap: false`, DECAWM `ESC[?7l`) so a redraw never scrolls; any
 * longer line printed above the bar is then clipped by the terminal, its last column overwritten.
 * So the bar reporter wraps what it logs and cuts its own lines here, by display width.
 */

/** SGR and other CSI sequences our own `Paint` adds: they take no column. */
const CSI = /\u001b\[[0-9;?]*[A-Za-z]/g;

/** Columns one code point takes: 0 for combining marks, 2 for East Asian wide and emoji, else 1. */
function codePointWidth(cp: number): number {
  if ((cp >= 0x0300 && cp <= 0x036f) || (cp >= 0x200b && cp <= 0x200f) || cp === 0xfe0f) return 0;
  if (
    (cp >= 0x1100 && cp <= 0x115f) ||
    (cp >= 0x2e80 && cp <= 0x303e) ||
    (cp >= 0x3041 && cp <= 0x33ff) ||
    (cp >= 0x3400 && cp <= 0x4dbf) ||
    (cp >= 0x4e00 && cp <= 0x9fff) ||
    (cp >= 0xa000 && cp <= 0xa4cf) ||
    (cp >= 0xac00 && cp <= 0xd7a3) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0xfe30 && cp <= 0xfe4f) ||
    (cp >= 0xff00 && cp <= 0xff60) ||
    (cp >= 0xffe0 && cp <= 0xffe6) ||
    (cp >= 0x1f300 && cp <= 0x1faff) ||
    (cp >= 0x20000 && cp <= 0x3fffd)
  ) {
    return 2;
  }
  return 1;
}

/** Columns `text` takes on a terminal, escape sequences not counted. */
export function displayWidth(text: string): number {
  let width = 0;
  for (const char of text.replace(CSI, '')) width += codePointWidth(char.codePointAt(0)!);
  return width;
}

/**
 * `text` cut to `width` columns, ending in `…` when cut. Escape sequences are kept (they take no
 * column) and, when cut, closed with a reset so a colour does not run on.
 */
export function truncateToWidth(text: string, width: number): string {
  if (displayWidth(text) <= width) return text;
  let out = '';
  let used = 0;
  let styled = false;
  for (let i = 0; i < text.length; ) {
    const sequence = text[i] === '\u001b' ? /^\u001b\[[0-9;?]*[A-Za-z]/.exec(text.slice(i)) : null;
    if (sequence !== null) {
      out += sequence[0];
      styled = true;
      i += sequence[0].length;
      continue;
    }
    const char = String.fromCodePoint(text.codePointAt(i)!);
    const w = codePointWidth(char.codePointAt(0)!);
    if (used + w > width - 1) break;
    out += char;
    used += w;
    i += char.length;
  }
  return `${out}…${styled ? '\u001b[0m' : ''}`;
}

const URL_IN_TEXT = /\b[a-z][a-z0-9+.-]*:\/\/[^\s'"<>()]+/gi;

/** `text` cut in its middle to `max` columns: the beginning a little longer than the end. */
function cutMiddle(text: string, max: number, keepHead = 0): string {
  const room = Math.max(max - 1, 2);
  // Half for each side, but `keepHead` characters whole when they fit with a little of the end.
  const head = Math.min(Math.max(Math.ceil(room / 2), keepHead), room - Math.min(12, Math.floor(room / 3)));
  return `${text.slice(0, head)}…${text.slice(text.length - (room - head))}`;
}

/** A path segment longer than this (a 40-hex reference, a long organisation name) is cut first. */
const LONG_SEGMENT = 24;

/**
 * A URL of more than `max` columns shortened where it says least: first each very long path
 * segment (a commit hash) is cut to its beginning and end, then whole segments next to the host
 * give way to one `…`. The scheme and host stay (where it failed), and so do the last segments,
 * whole (the package and file asked for: what is wrong in a 404). Cutting the URL's own middle
 * kept only the hash and dropped the package's name.
 */
export function shortenUrl(url: string, max: number): string {
  if (displayWidth(url) <= max) return url;
  const parts = /^([a-z][a-z0-9+.-]*:\/\/[^/?#]*)(\/.*)$/is.exec(url);
  if (parts === null) return cutMiddle(url, max, (/^[a-z][a-z0-9+.-]*:\/\/[^/]*/i.exec(url)?.[0].length ?? 0) + 1);
  const origin = parts[1]!;
  const segments = parts[2]!.slice(1).split('/');
  let dropped = 0;
  const text = (): string => `${origin}${dropped > 0 ? '/…' : ''}/${segments.slice(dropped).join('/')}`;
  for (;;) {
    if (displayWidth(text()) <= max) return text();
    let longest = -1;
    for (let i = dropped; i < segments.length; i++)
      if (displayWidth(segments[i]!) > LONG_SEGMENT && (longest < 0 || segments[i]!.length > segments[longest]!.length)) longest = i;
    if (longest < 0) break;
    const segment = segments[longest]!;
    segments[longest] = `${segment.slice(0, 8)}…${segment.slice(-4)}`;
  }
  while (displayWidth(text()) > max && dropped < segments.length - 1) dropped++;
  const short = text();
  return displayWidth(short) <= max ? short : cutMiddle(short, max, origin.length + 1);
}

/** Every URL in `text` longer than `max` columns shortened by `shortenUrl`. */
export function shortenUrls(text: string, max: number): string {
  return text.replace(URL_IN_TEXT, (url) => shortenUrl(url, max));
}

/** A count and the word it counts (`13 failed`, `5.4 MiB`, `(2 cached`) are one word for wrapping: `13` alone at a line's end reads as nothing. */
const NUMBER = /^[(]?[\d][\d.,]*$/;

/** Stands for a space that must not break; never in displayed text (control characters are escaped there), one column wide. */
const GLUE = '\u0000';

function glueNumbers(words: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < words.length; i++) {
    let word = words[i]!;
    while (NUMBER.test(word) && i + 1 < words.length) word = `${word}${GLUE}${words[++i]!}`;
    out.push(word);
  }
  return out;
}

/**
 * `text` as lines of at most `width` columns: broken at spaces, a word longer than a line split,
 * lines after the first indented by `indent`. URLs longer than most of a line are shortened first
 * (`shortenUrls`), so a failure line ends with the URL's end, not with the terminal's edge.
 */
export function wrapToWidth(text: string, width: number, indent = '  '): string[] {
  const w = Math.max(width, indent.length + 10);
  const words = glueNumbers(shortenUrls(text, Math.max(w - indent.length - 10, 20)).split(' '));
  const lines: string[] = [];
  let line = '';
  let lineWidth = 0;
  const push = (): void => {
    lines.push(line);
    line = indent;
    lineWidth = indent.length;
  };
  for (const word of words) {
    let rest = word;
    const sep = lineWidth === 0 || line === indent ? '' : ' ';
    if (lineWidth + sep.length + displayWidth(rest) <= w) {
      line += sep + rest;
      lineWidth += sep.length + displayWidth(rest);
      continue;
    }
    if (line !== indent && lineWidth > 0) push();
    // A word longer than a whole line: split it by columns.
    while (lineWidth + displayWidth(rest) > w) {
      let cut = 0;
      let taken = 0;
      for (const char of rest) {
        const cw = codePointWidth(char.codePointAt(0)!);
        if (lineWidth + taken + cw > w) break;
        taken += cw;
        cut += char.length;
      }
      if (cut === 0) break;
      line += rest.slice(0, cut);
      rest = rest.slice(cut);
      push();
    }
    line += rest;
    lineWidth += displayWidth(rest);
  }
  if (line !== indent || lines.length === 0) lines.push(line);
  return lines.map((l) => l.replaceAll(GLUE, ' '));
}
