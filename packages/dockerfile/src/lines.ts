/**
 * Physical lines → logical lines (one per instruction), with BuildKit's rules
 * (moby/buildkit frontend/dockerfile/parser/parser.go `Parse`, `trimContinuationCharacter`, `setEscapeToken`):
 *
 * - Lines end at `\n`; trailing `\r`/`\n` are dropped; the first line of an instruction loses its leading space.
 * - A line continues when it ends with the escape character followed only by spaces and tabs, and that escape
 *   character is either alone on the line or follows a character that is not the escape character. The escape
 *   character and the blanks after it are removed; what precedes them (spaces too) is kept. So `a\\` (an escaped
 *   escape) ends the line, and — as in BuildKit — so does `a\\\`.
 * - Inside a continuation, comment lines are skipped, and so are empty (blank) lines, with a warning; the next lines
 *   keep their leading space. A continuation at the end of the file ends the instruction there.
 */

/** Go's `unicode.IsSpace` (what BuildKit trims and splits on). */
export const GO_SPACE = /[\t\n\v\f\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]/;
const LEADING_SPACE = new RegExp(`^${GO_SPACE.source}+`);
const ONLY_SPACE = new RegExp(`^${GO_SPACE.source}*$`);

export interface Segment {
  /** Offset of this piece in the logical line's text. */
  offset: number;
  /** 1-based line and column where the piece starts in the file. */
  line: number;
  column: number;
}

export interface LogicalLine {
  /** The instruction text, continuations joined. */
  text: string;
  segments: Segment[];
  startLine: number;
  /** Last physical line the instruction used (continuations, skipped comments and blank lines). */
  endLine: number;
  /** 1-based numbers of the empty lines skipped inside the continuation. */
  emptyLines: number[];
}

/** Split text into physical lines as BuildKit's scanner does (no extra empty line after a final `\n`). */
export function physicalLines(text: string): string[] {
  const lines = text.replace(/^\uFEFF/, '').split('\n');
  if (lines.length > 1 && lines[lines.length - 1] === '') lines.pop();
  return lines.map((l) => l.replace(/[\r\n]+$/, ''));
}

export const isComment = (line: string): boolean => line.replace(LEADING_SPACE, '').startsWith('#');

/** The line without its continuation (escape character and trailing blanks), or undefined if it does not continue. */
export function continued(line: string, esc: string): string | undefined {
  let end = line.length;
  while (end > 0 && (line[end - 1] === ' ' || line[end - 1] === '\t')) end--;
  if (end === 0 || line[end - 1] !== esc) return undefined;
  if (end >= 2 && line[end - 2] === esc) return undefined;
  return line.slice(0, end - 1);
}

/** Logical lines of `lines[from…]` (0-based `from`), comments and blank lines between instructions dropped. */
export function logicalLines(lines: readonly string[], from: number, esc: string): LogicalLine[] {
  const out: LogicalLine[] = [];
  let n = from;
  while (n < lines.length) {
    const raw = lines[n]!;
    n++;
    const first = raw.replace(LEADING_SPACE, '');
    if (first.startsWith('#')) continue;
    let more = continued(first, esc);
    if (more === undefined && first === '') continue;
    const startLine = n;
    const segments: Segment[] = [{ offset: 0, line: n, column: raw.length - first.length + 1 }];
    let text = more ?? first;
    const emptyLines: number[] = [];
    while (more !== undefined && n < lines.length) {
      const line = lines[n]!;
      n++;
      if (isComment(line)) continue;
      if (ONLY_SPACE.test(line)) {
        emptyLines.push(n);
        continue;
      }
      more = continued(line, esc);
      segments.push({ offset: text.length, line: n, column: 1 });
      text += more ?? line;
    }
    out.push({ text, segments, startLine, endLine: n, emptyLines });
  }
  return out;
}
