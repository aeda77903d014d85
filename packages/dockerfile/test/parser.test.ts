import { describe, expect, it } from 'vitest';
import { DockerfileError, parse } from '../src/index.ts';

function parseError(text: string): DockerfileError {
  try {
    parse(text, { file: 'Dockerfile' });
  } catch (e) {
    expect(e).toBeInstanceOf(DockerfileError);
    return e as DockerfileError;
  }
  throw new Error('expected a DockerfileError');
}

describe('parse: good input', () => {
  it('parses the flagship Dockerfile with positions and exec form', () => {
    const df = parse('FROM scratch\nCOPY hello /\nCMD ["/hello"]\n', { file: 'packages/hello/Dockerfile' });
    expect(df.file).toBe('packages/hello/Dockerfile');
    expect(df.instructions.map((i) => [i.keyword, i.args, i.position.line, i.position.column])).toEqual([
      ['FROM', 'scratch', 1, 1],
      ['COPY', 'hello /', 2, 1],
      ['CMD', '["/hello"]', 3, 1],
    ]);
    expect(df.instructions[2]!.json).toEqual(['/hello']);
    expect(df.instructions[1]!.json).toBeUndefined();
    expect(df.warnings).toEqual([]);
  });

  it('joins continuation lines, skips comments inside them, and maps argument positions back', () => {
    const df = parse('FROM scratch\nCOPY a \\\n  # a comment\n     b /\nENV A=1\n');
    const copy = df.instructions[1]!;
    expect(copy.args).toBe('a      b /');
    expect(copy.endLine).toBe(4);
    expect(copy.positionAt(copy.args.indexOf('b'))).toEqual({ line: 4, column: 6 });
    expect(copy.positionAt(0)).toEqual({ line: 2, column: 6 });
    expect(df.instructions[2]!.position).toEqual({ line: 5, column: 1 });
  });

  it('honours # escape=` (backslashes become literal)', () => {
    const df = parse('# escape=`\nFROM scratch\nCOPY C:\\src `\n  /dst/\n');
    expect(df.escape).toBe('`');
    expect(df.instructions[1]!.args).toBe('C:\\src   /dst/');
  });

  it('accepts and records the docker/dockerfile syntax directive', () => {
    for (const s of [
      'docker/dockerfile:1',
      'docker/dockerfile:1.7-labs',
      `docker.io/docker/dockerfile:1@sha256:${'a'.repeat(64)}`,
    ]) {
      expect(parse(`# syntax=${s}\nFROM scratch\n`).syntax).toBe(s);
    }
  });

  it('treats a directive-looking line after a comment as a comment, as Docker does', () => {
    const df = parse('# hello\n# escape=`\nFROM scratch\n');
    expect(df.escape).toBe('\\');
  });

  it('accepts lower-case keywords and indentation; parses leading flags with positions', () => {
    const df = parse('from scratch\n  copy --chmod=0755 --link --chown=1:2 a /\n');
    const copy = df.instructions[1]!;
    expect(copy.keyword).toBe('COPY');
    expect(copy.position).toEqual({ line: 2, column: 3 });
    expect(copy.args).toBe('a /');
    expect(copy.flags).toEqual([
      { name: 'chmod', value: '0755', position: { line: 2, column: 8 } },
      { name: 'link', value: undefined, position: { line: 2, column: 21 } },
      { name: 'chown', value: '1:2', position: { line: 2, column: 28 } },
    ]);
  });

  it('treats invalid JSON as shell form with a warning', () => {
    const df = parse("FROM scratch\nCMD ['/hello']\n");
    expect(df.instructions[1]!.json).toBeUndefined();
    expect(df.warnings).toEqual([expect.objectContaining({ code: 'JSON_ARGS_INVALID', line: 2, column: 1 })]);
  });

  it('warns about empty continuation lines', () => {
    const df = parse('FROM scratch\nCOPY a \\\n\n b /\n');
    expect(df.instructions[1]!.args).toBe('a  b /');
    expect(df.warnings).toEqual([expect.objectContaining({ code: 'EMPTY_CONTINUATION', line: 3 })]);
  });

  it('handles CRLF and a BOM', () => {
    const df = parse('\uFEFFFROM scratch\r\nCMD ["/x"]\r\n');
    expect(df.instructions.map((i) => i.args)).toEqual(['scratch', '["/x"]']);
  });
});

describe('parse: bad input (message and line:col)', () => {
  it.each([
    [
      '# syntax=example.com/frontend:1\nFROM scratch\n',
      'DOCKERFILE_DIRECTIVE',
      'Dockerfile:1:3: unsupported syntax "example.com/frontend:1"',
    ],
    [
      '# check=skip=all\nFROM scratch\n',
      'DOCKERFILE_DIRECTIVE',
      'Dockerfile:1:3: unsupported parser directive "check"',
    ],
    ['#escape=x\nFROM scratch\n', 'DOCKERFILE_DIRECTIVE', 'Dockerfile:1:2: invalid escape character "x"'],
    [
      '# escape=`\n# escape=\\\nFROM scratch\n',
      'DOCKERFILE_DIRECTIVE',
      'Dockerfile:2:3: parser directive escape appears twice',
    ],
    [
      'FROM scratch\nCOPY <<EOF /hello\nhi\nEOF\n',
      'DOCKERFILE_SYNTAX',
      'Dockerfile:2:6: COPY: heredocs are not supported',
    ],
    [
      'FROM scratch\nCOPY --chmod=0755 \\\n  <<-"EOF" /x\n',
      'DOCKERFILE_SYNTAX',
      'Dockerfile:3:3: COPY: heredocs are not supported',
    ],
  ])('%j', (text, code, message) => {
    const e = parseError(text);
    expect(e.code).toBe(code);
    expect(e.message.startsWith(message)).toBe(true);
  });
});
