/**
 * Parser directives (`# escape=`, `# syntax=`) as BuildKit reads them (moby/buildkit
 * frontend/dockerfile/parser/directives.go `DirectiveParser.ParseLine`, parser.go `setEscapeToken`):
 * only the first lines of the file, each `#` (after optional leading space) `name = value` with a name of
 * letters and digits and a non-empty value. The first line that is not one — an instruction, a blank line, a plain
 * comment, or a directive name BuildKit does not know (`# foo=bar` is a comment) — ends the directives.
 */
import { DockerfileError } from './errors.ts';
import { GO_SPACE } from './lines.ts';

/** After `#` and leading space; `\s` here is RE2's (ASCII) `\s`. */
const DIRECTIVE = /^([a-zA-Z][a-zA-Z0-9]*)[\t\n\f\r ]*=[\t\n\f\r ]*(.+?)[\t\n\f\r ]*$/;
const KNOWN = new Set(['syntax', 'escape', 'check']);
const SYNTAX_OK = /^(docker\.io\/)?docker\/dockerfile(-upstream)?(:[\w.-]+)?(@sha256:[0-9a-f]{64})?$/;
const LEADING_SPACE = new RegExp(`^${GO_SPACE.source}+`);

export interface Directives {
  escape: '\\' | '`';
  /** The frontend reference of `# syntax=` (its first word), if any. */
  syntax: string | undefined;
  /** Index of the first line after the directives. */
  next: number;
}

/** Read the directives at the top of `lines`. Throws `DOCKERFILE_DIRECTIVE` for a bad or repeated one. */
export function readDirectives(lines: readonly string[], file: string): Directives {
  let esc: '\\' | '`' = '\\';
  let syntax: string | undefined;
  const seen = new Set<string>();
  let n = 0;
  for (; n < lines.length; n++) {
    const line = lines[n]!.replace(LEADING_SPACE, '');
    if (!line.startsWith('#')) break;
    const m = DIRECTIVE.exec(line.slice(1).replace(LEADING_SPACE, ''));
    const name = m?.[1]?.toLowerCase();
    if (!m || !name || !KNOWN.has(name)) break;
    const value = m[2]!;
    const at = { file, line: n + 1, column: lines[n]!.indexOf(m[1]!) + 1 };
    if (seen.has(name))
      throw new DockerfileError('DOCKERFILE_DIRECTIVE', at, `parser directive ${name} appears twice`, {
        hint: 'keep one',
      });
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
      // BuildKit takes the first word as the frontend reference (`# syntax=docker/dockerfile:1 // opts`).
      const ref = value.split(' ')[0]!;
      if (!SYNTAX_OK.test(ref)) {
        throw new DockerfileError(
          'DOCKERFILE_DIRECTIVE',
          at,
          `unsupported syntax ${JSON.stringify(value)}: scratchpack evaluates Dockerfiles itself and only accepts docker/dockerfile`,
          { hint: 'remove the # syntax= line or use docker/dockerfile:1' },
        );
      }
      syntax = ref;
    } else {
      throw new DockerfileError(
        'DOCKERFILE_DIRECTIVE',
        at,
        `unsupported parser directive ${JSON.stringify(name)}: only escape and syntax are supported`,
        { hint: 'remove the line; scratchpack does not run build checks' },
      );
    }
  }
  return { escape: esc, syntax, next: n };
}
