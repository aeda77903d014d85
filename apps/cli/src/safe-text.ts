/**
 * Terminal safety: text that came from outside (registry error bodies and headers, tar entry names, image config
 * fields, annotations, file names) is escaped before it is printed, so it cannot move the cursor, recolour or clear
 * the terminal, set its title (ANSI/OSC escapes), or reorder what is shown (bidi overrides such as U+202E).
 *
 * Escaped: every control character (C0, DEL, C1: Unicode category Cc), every format character (Cf: bidi
 * embeddings, overrides and isolates, zero-width characters, the BOM, soft hyphen…), the line and paragraph
 * separators U+2028/U+2029, and lone surrogates. `\n` is kept in multi-line text (an error's hint line is ours).
 */

// Cc, Cf, Zl, Zp and lone surrogates. A (rare) emoji ZWJ sequence is escaped too: safety first.
const UNSAFE =
  /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/gu;
const UNSAFE_KEEP_NEWLINE =
  /(?!\n)[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/gu;

function escapeChar(c: string): string {
  const code = c.codePointAt(0) ?? 0;
  if (c === '\n') return '\\n';
  if (c === '\r') return '\\r';
  if (c === '\t') return '\\t';
  if (code < 0x100) return `\\x${code.toString(16).padStart(2, '0')}`;
  if (code < 0x10000) return `\\u${code.toString(16).padStart(4, '0')}`;
  return `\\u{${code.toString(16)}}`;
}

/**
 * `text` with every unsafe character written as a visible escape (`\x1b`, `\u202e`). With `multiline`, `\n`
 * stays a line break (for the CLI's own multi-line messages); `\r` is always escaped.
 */
export function safeText(text: string, opts: { multiline?: boolean } = {}): string {
  return text.replace(opts.multiline ? UNSAFE_KEEP_NEWLINE : UNSAFE, escapeChar);
}

/** What `JSON.stringify` leaves raw that a terminal acts on: DEL, C1, Cf, U+2028/9 (it escapes C0 itself). */
const JSON_UNSAFE = /[\u007f-\u009f\p{Cf}\p{Zl}\p{Zp}]/gu;

/**
 * `JSON.stringify(value, null, indent)` with every control and format character inside strings as a `\u`
 * escape. Still valid JSON that parses to the same value: outside strings, JSON text holds none of them.
 */
export function safeJson(value: unknown, indent?: number): string {
  const text = JSON.stringify(value, null, indent) ?? 'null';
  return text.replace(JSON_UNSAFE, (c) =>
    // A Cf character outside the BMP (tag characters) as its surrogate pair.
    [...c.split('')].map((u) => `\\u${u.charCodeAt(0).toString(16).padStart(4, '0')}`).join(''),
  );
}

// As console.log: a failed write to stdout is not thrown from an event. A reader that went away (`images | head
// -1`) ends the output, not the command; a stream piped into stdout that fails (`save NAME > file` of a damaged
// blob) destroys stdout with its error, which the command's own await reports once, as one line.
process.stdout.on('error', () => {});

/** Print one line (or several, joined by spaces like `console.log`) of text that may hold outside text. */
export function say(...parts: unknown[]): void {
  process.stdout.write(`${safeText(parts.map(String).join(' '), { multiline: true })}\n`);
}

/** Print a value as indented JSON, control and format characters escaped. */
export function sayJson(value: unknown): void {
  process.stdout.write(`${safeJson(value, 2)}\n`);
}

/** Write to stderr, outside text escaped (notices, warnings). `text` ends with its own newline, if any. */
export function warn(text: string): void {
  process.stderr.write(safeText(text, { multiline: true }));
}
