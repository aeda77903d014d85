/**
 * Dockerfile parser: parser directives (`# escape=`, `# syntax=`), comments, line continuations, and
 * instructions with 1-based positions for every argument. Exec (JSON) form is recognised for the
 * instructions that have one. No evaluation happens here.
 */
import { readDirectives } from './directives.ts';
import { DockerfileError, type Position, type Warning } from './errors.ts';
import { logicalLines, physicalLines } from './lines.ts';

export interface Flag {
  name: string;
  /** undefined for a bare `--link`. */
  value: string | undefined;
  position: Position;
}

export interface Instruction {
  /** Upper-case keyword, e.g. `COPY`. */
  keyword: string;
  /** Arguments after the keyword and flags, continuations joined (escape + newline removed). */
  args: string;
  /** Leading `--name[=value]` flags (only parsed for FROM, COPY, ADD). */
  flags: Flag[];
  /** The exec-form array, when the arguments are a JSON array of strings. */
  json: string[] | undefined;
  /** Position of the keyword. */
  position: Position;
  /** Last line of the instruction (continuations). */
  endLine: number;
  /** The instruction as written, continuations joined, for messages and history. */
  original: string;
  /** Position of `args[offset]` in the file. */
  positionAt(offset: number): Position;
}

export interface Dockerfile {
  file: string;
  escape: '\\' | '`';
  /** The `# syntax=` directive, if any (only docker/dockerfile is accepted). */
  syntax: string | undefined;
  instructions: Instruction[];
  warnings: Warning[];
}

export interface ParseOptions {
  /** Name used in messages, e.g. `packages/hello/Dockerfile`. Default `Dockerfile`. */
  file?: string;
}

const EXEC_FORM = new Set(['CMD', 'ENTRYPOINT', 'RUN', 'SHELL', 'HEALTHCHECK', 'COPY', 'ADD', 'VOLUME']);
const FLAGGED = new Set(['FROM', 'COPY', 'ADD', 'RUN', 'HEALTHCHECK']);

/** Go's encoding/json decodes a lone UTF-16 surrogate escape (`"\ud800"`) as U+FFFD. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
const NOT_STRINGS = 'not an array of strings';
/** BuildKit reads lines with a bufio.Scanner of 64 KiB: a longer line fails (parser_test.go TestParseReturnsScannerErrors). */
const MAX_LINE = 65535;

/**
 * BuildKit's exec-form decision (line_parsers.go `parseJSON`): arguments starting with `[` that are a JSON array
 * of strings are the exec form; an array holding anything but strings is an error; anything else (not JSON at
 * all, single quotes, a missing `]`) is the shell form. Returns the array, or why it is not JSON.
 */
function execForm(args: string): { json: string[] } | { problem: string } | undefined {
  if (!args.startsWith('[')) return undefined;
  let v: unknown;
  try {
    v = JSON.parse(args);
  } catch (e) {
    return { problem: (e as Error).message };
  }
  if (Array.isArray(v) && v.every((x) => typeof x === 'string'))
    return { json: v.map((x: string) => x.replace(LONE_SURROGATE, '\uFFFD')) };
  return { problem: NOT_STRINGS };
}

/** Parse Dockerfile text. Throws `DockerfileError` with file:line:col for syntax problems. */
export function parse(text: string, opts: ParseOptions = {}): Dockerfile {
  const file = opts.file ?? 'Dockerfile';
  const lines = physicalLines(text);
  const long = lines.findIndex((l) => l.length * 3 > MAX_LINE && Buffer.byteLength(l) > MAX_LINE);
  if (long >= 0) {
    throw new DockerfileError(
      'DOCKERFILE_SYNTAX',
      { file, line: long + 1, column: 1 },
      `line is ${Buffer.byteLength(lines[long]!)} bytes; docker build refuses lines over ${MAX_LINE} bytes`,
      { hint: 'split it with line continuations (end a line with \\ and go on on the next one)' },
    );
  }
  const warnings: Warning[] = [];
  const { escape: esc, syntax, next } = readDirectives(lines, file);
  const instructions: Instruction[] = [];
  for (const logical of logicalLines(lines, next, esc)) {
    const { text: line, segments } = logical;
    for (const empty of logical.emptyLines) {
      warnings.push({
        code: 'EMPTY_CONTINUATION',
        file,
        line: empty,
        column: 1,
        message: 'empty continuation line',
      });
    }
    const positionAt = (offset: number): Position => {
      let seg = segments[0]!;
      for (const s of segments) if (s.offset <= offset) seg = s;
      return { line: seg.line, column: seg.column + (offset - seg.offset) };
    };
    const m = /^(\s*)(\S+)(\s*)/.exec(line)!;
    const keyword = m[2]!;
    const position = positionAt(m[1]!.length);
    const upper = keyword.toUpperCase();
    const flags: Flag[] = [];
    let argStart = m[0].length;
    if (FLAGGED.has(upper)) {
      const re = /\s*--([A-Za-z][A-Za-z0-9-]*)(?:=(\S*))?(?=\s|$)/y;
      for (;;) {
        re.lastIndex = argStart;
        const f = re.exec(line);
        if (!f) break;
        flags.push({ name: f[1]!, value: f[2], position: positionAt(f.index + f[0].indexOf('--')) });
        argStart = re.lastIndex;
      }
    }
    const rest = line.slice(argStart);
    const base = argStart + (rest.length - rest.trimStart().length);
    const finalArgs = rest.trim();
    if (/<<-?["']?[A-Za-z_]/.test(finalArgs) && (upper === 'COPY' || upper === 'ADD' || upper === 'RUN')) {
      throw new DockerfileError(
        'DOCKERFILE_SYNTAX',
        { file, ...positionAt(base + finalArgs.search(/<</)) },
        'heredocs are not supported',
        {
          instruction: upper,
          hint: 'put the content in a file in the build context and COPY it',
        },
      );
    }
    const exec = EXEC_FORM.has(upper) ? execForm(finalArgs) : undefined;
    if (exec && 'problem' in exec) {
      if (exec.problem === NOT_STRINGS) {
        throw new DockerfileError(
          'DOCKERFILE_SYNTAX',
          { file, ...positionAt(base) },
          'when using JSON array syntax, arrays must be comprised of strings only',
          { instruction: upper, hint: `quote every element, e.g. ${upper} ["/prog", "1"]` },
        );
      }
      warnings.push({
        code: 'JSON_ARGS_INVALID',
        file,
        ...position,
        message: `${upper} ${finalArgs} looks like JSON but is not a JSON array of strings (${exec.problem}); it is run as a shell command, /bin/sh -c …`,
      });
    }
    instructions.push({
      keyword: upper,
      args: finalArgs,
      flags,
      json: exec && 'json' in exec ? exec.json : undefined,
      position,
      endLine: logical.endLine,
      original: `${keyword} ${line.slice(m[0].length).trim()}`.trim(),
      positionAt: (o) => positionAt(base + o),
    });
  }
  return { file, escape: esc, syntax, instructions, warnings };
}
