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
    const escape = text[i] === '\u001b' ? /^\u001b\[[0-9;?]*[A-Za-z]/.exec(text.slice(i)) : null;
    if (escape !== null) {
      out += escape[0];
      styled = true;
      i += escape[0].length;
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

/**
 * A URL of more than `max` columns shortened in its middle: the scheme and host stay (where the
 * failure happened), and so does the end (the file or commit), `…` stands for the rest. A URL
 * clipped at the terminal's edge would lose exactly that end.
 */
export function shortenUrl(url: string, max: number): string {
  if (displayWidth(url) <= max) return url;
  const origin = /^[a-z][a-z0-9+.-]*:\/\/[^/]*/i.exec(url)?.[0] ?? '';
  const room = Math.max(max - 1, 2);
  // Half for each side, but the origin whole when it fits with a little of the end.
  const head = Math.min(Math.max(Math.ceil(room / 2), origin.length + 1), room - Math.min(12, Math.floor(room / 3)));
  const tail = room - head;
  return `${url.slice(0, head)}…${url.slice(url.length - tail)}`;
}

/** Every URL in `text` longer than `max` columns shortened by `shortenUrl`. */
export function shortenUrls(text: string, max: number): string {
  return text.replace(URL_IN_TEXT, (url) => shortenUrl(url, max));
}

/**
 * `text` as lines of at most `width` columns: broken at spaces, a word longer than a line split,
 * lines after the first indented by `indent`. URLs longer than most of a line are shortened first
 * (`shortenUrls`), so a failure line ends with the URL's end, not with the terminal's edge.
 */
export function wrapToWidth(text: string, width: number, indent = '  '): string[] {
  const w = Math.max(width, indent.length + 10);
  const words = shortenUrls(text, Math.max(w - indent.length - 10, 20)).split(' ');
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
  return lines;
}
