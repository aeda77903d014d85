/**
 * Dockerfile parser: parser directives (`# escape=`, `# syntax=`), comments, line continuations, and
 * instructions with 1-based positions for every argument. Exec (JSON) form is recognised for the
 * instructions that have one. No evaluation happens here.
 */
import { DockerfileError, type Position, type Warning } from './errors.ts';

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
const DIRECTIVE = /^#\s*([a-zA-Z][a-zA-Z0-9_-]*)\s*=\s*(.*?)\s*$/;
const SYNTAX_OK = /^(docker\.io\/)?docker\/dockerfile(-upstream)?(:[\w.-]+)?(@sha256:[0-9a-f]{64})?$/;

interface Segment {
  offset: number;
  line: number;
  column: number;
}

function parseExecForm(args: string): string[] | undefined {
  const t = args.trim();
  if (!t.startsWith('[')) return undefined;
  try {
    const v: unknown = JSON.parse(t);
    if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v as string[];
  } catch {
    // not JSON: shell form, as Docker does
  }
  return undefined;
}

/** Why exec-form arguments are not a JSON array of strings, in a few words. */
function jsonProblem(args: string): string {
  try {
    const v: unknown = JSON.parse(args.trim());
    return Array.isArray(v) ? 'not every element is a string' : 'not an array';
  } catch (e) {
    return (e as Error).message;
  }
}

/** Parse Dockerfile text. Throws `DockerfileError` with file:line:col for syntax problems. */
export function parse(text: string, opts: ParseOptions = {}): Dockerfile {
  const file = opts.file ?? 'Dockerfile';
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  const warnings: Warning[] = [];
  let esc: '\\' | '`' = '\\';
  let syntax: string | undefined;
  let n = 0;
  // Parser directives: only at the very top, before any comment, blank line or instruction.
  const seen = new Set<string>();
  for (; n < lines.length; n++) {
    const m = DIRECTIVE.exec(lines[n]!);
    if (!m) break;
    const name = m[1]!.toLowerCase();
    const value = m[2]!;
    const at = { file, line: n + 1, column: lines[n]!.indexOf(m[1]!) + 1 };
    if (seen.has(name))
      throw new DockerfileError('DOCKERFILE_DIRECTIVE', at, `parser directive ${name} appears twice`);
    seen.add(name);
    if (name === 'escape') {
      if (value !== '\\' && value !== '`') {
        throw new DockerfileError(
          'DOCKERFILE_DIRECTIVE',
          at,
          `invalid escape character ${JSON.stringify(value)}: use \\ or \``,
        );
      }
      esc = value;
    } else if (name === 'syntax') {
      if (!SYNTAX_OK.test(value)) {
        throw new DockerfileError(
          'DOCKERFILE_DIRECTIVE',
          at,
          `unsupported syntax ${JSON.stringify(value)}: scratchpack evaluates Dockerfiles itself and only accepts docker/dockerfile`,
          {
            hint: 'remove the # syntax= line or use docker/dockerfile:1',
          },
        );
      }
      syntax = value;
    } else {
      throw new DockerfileError(
        'DOCKERFILE_DIRECTIVE',
        at,
        `unsupported parser directive ${JSON.stringify(name)}: only escape and syntax are supported`,
        {
          hint: 'if this is a comment, add a space or text that is not name=value',
        },
      );
    }
  }

  const instructions: Instruction[] = [];
  const isComment = (l: string) => /^\s*#/.test(l);
  const continues = (l: string) => l.replace(/\s+$/, '').endsWith(esc);
  while (n < lines.length) {
    const line = lines[n]!;
    if (line.trim() === '' || isComment(line)) {
      n++;
      continue;
    }
    const startLine = n + 1;
    const m = /^(\s*)(\S+)(\s*)/.exec(line)!;
    const keyword = m[2]!;
    const position = { line: startLine, column: m[1]!.length + 1 };
    // Join continuation lines, remembering where each piece of the args came from.
    const segments: Segment[] = [];
    let args = '';
    let piece = line.slice(m[0].length);
    let pieceCol = m[0].length + 1;
    let cur = n;
    for (;;) {
      const more = continues(piece);
      const text = more ? piece.replace(/\s+$/, '').slice(0, -1) : piece;
      segments.push({ offset: args.length, line: cur + 1, column: pieceCol });
      args += text;
      if (!more) break;
      cur++;
      // Comment lines and (with a warning) empty lines inside a continuation are skipped.
      while (cur < lines.length && (isComment(lines[cur]!) || lines[cur]!.trim() === '')) {
        if (lines[cur]!.trim() === '') {
          warnings.push({
            code: 'EMPTY_CONTINUATION',
            file,
            line: cur + 1,
            column: 1,
            message: 'empty continuation line',
          });
        }
        cur++;
      }
      if (cur >= lines.length) break;
      piece = lines[cur]!;
      pieceCol = 1;
    }
    const positionAt = (offset: number): Position => {
      let seg = segments[0]!;
      for (const s of segments) if (s.offset <= offset) seg = s;
      return { line: seg.line, column: seg.column + (offset - seg.offset) };
    };
    const upper = keyword.toUpperCase();
    const flags: Flag[] = [];
    let argStart = 0;
    if (FLAGGED.has(upper)) {
      const re = /\s*--([A-Za-z][A-Za-z0-9-]*)(?:=(\S*))?(?=\s|$)/y;
      for (;;) {
        re.lastIndex = argStart;
        const f = re.exec(args);
        if (!f) break;
        flags.push({ name: f[1]!, value: f[2], position: positionAt(f.index + f[0].indexOf('--')) });
        argStart = re.lastIndex;
      }
    }
    const rest = args.slice(argStart);
    const lead = rest.length - rest.trimStart().length;
    const finalArgs = rest.trim();
    const base = argStart + lead;
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
    const json = EXEC_FORM.has(upper) ? parseExecForm(finalArgs) : undefined;
    if (EXEC_FORM.has(upper) && !json && finalArgs.startsWith('[')) {
      warnings.push({
        code: 'JSON_ARGS_INVALID',
        file,
        ...position,
        message: `${upper} ${finalArgs.trim()} looks like JSON but is not a JSON array of strings (${jsonProblem(finalArgs)}); it is run as a shell command, /bin/sh -c …`,
      });
    }
    instructions.push({
      keyword: upper,
      args: finalArgs,
      flags,
      json,
      position,
      endLine: Math.min(cur + 1, lines.length),
      original: `${keyword} ${args.trim()}`.trim(),
      positionAt: (o) => positionAt(base + o),
    });
    n = cur + 1;
  }
  return { file, escape: esc, syntax, instructions, warnings };
}
