/**
 * Line continuation and parser directives, case by case, with the result BuildKit's parser gives. Each case names
 * where it comes from in moby/buildkit: `testfiles/X` is frontend/dockerfile/parser/testfiles/X (Dockerfile +
 * result), `parser_test.go`/`directives_test.go` are in frontend/dockerfile/parser, and `setEscapeToken` is the
 * continuation rule in parser.go.
 */
import { describe, expect, it } from 'vitest';
import { DockerfileError, parse } from '../src/index.ts';

const argsOf = (text: string) => parse(text).instructions.map((i) => i.args);

describe('line continuation as BuildKit joins it', () => {
  it.each([
    // testfiles/trailing-backslash (docker/for-win#5254): an escaped escape at the end ends the line.
    [
      'ENV C trailing\\\\backslash\\\\\nENV D This should not be appended to C\n',
      ['C trailing\\\\backslash\\\\', 'D This should not be appended to C'],
    ],
    ['ENV B another\\\\path\n', ['B another\\\\path']],
    ['ENV E hello\\\n\\\nworld\n', ['E helloworld']],
    ['ENV F hello\\\n \\\nworld\n', ['F hello world']],
    ['ENV G hello \\\n\\\nworld\n', ['G hello world']],
    // testfiles/continueIndent: the space before the escape is kept, continuation lines keep their indentation,
    // blanks after the escape are dropped.
    [
      'RUN echo hello\\\n  world\\\n  goodnight  \\\n  moon\\\n  light\\\nning\n',
      ['echo hello  world  goodnight    moon  lightning'],
    ],
    ['RUN echo hello  \\\n  world\n', ['echo hello    world']],
    ['RUN echo hello  \\\nworld\n', ['echo hello  world']],
    ['RUN echo hello \\\ngoodbye\\\nfrog\n', ['echo hello goodbyefrog']],
    ['RUN echo hello  \\  \nworld\n', ['echo hello  world']],
    ['RUN echo hello  \\\t\nworld\n', ['echo hello  world']],
    ['RUN echo hi \\\n \\\n world \\\n\\\n good\\\n\\\nnight\n', ['echo hi   world  goodnight']],
    ['RUN echo good\\\nbye\\\nfrog\n', ['echo goodbyefrog']],
    [
      'RUN echo hello \\\n# this is a comment\n\n# this is a comment with a blank line surrounding it\n\nthis is some more useful stuff\n',
      ['echo hello this is some more useful stuff'],
    ],
    // testfiles/continue-at-eof: a continuation at the end of the file ends the instruction.
    ['FROM alpine:3.5\n\nRUN something \\', ['alpine:3.5', 'something']],
    // testfiles/escapes
    [
      'RUN apt-get \\update && \\\n  apt-get \\"install znc -y\n',
      ['apt-get \\update &&   apt-get \\"install znc -y'],
    ],
    ['RUN foo \\\n\nbar \\\n\nbaz\n', ['foo bar baz']],
    // testfiles/lk4d4-the-edge-case-generator: a comment ending in the escape does not continue.
    ['# RUN Commands \\\n# linebreak in comment \\\nRUN ["ls", "-la"]\n', ['["ls", "-la"]']],
    [
      "RUN    sh -c 'echo root:testpass \\\n        > /tmp/passwd'\n",
      ["sh -c 'echo root:testpass         > /tmp/passwd'"],
    ],
    // parser_test.go TestParseWarnsOnEmptyContinutationLine: comment lines (indented or not) are skipped.
    ['RUN non-indented \\\n# this is a comment\n   after-comment\n', ['non-indented    after-comment']],
    ['RUN indented \\\n    # this is an indented comment\n    comment\n', ['indented     comment']],
    // setEscapeToken: a third escape after an escaped one is not a continuation either (`foo \\\`).
    ['ENV X a\\\\\\\nENV Y b\n', ['X a\\\\\\', 'Y b']],
    // testfiles/escape-with-syntax: with `# escape=`, the backtick continues and a backslash is plain text.
    ['# syntax = docker/dockerfile\n# escape = `\n\nFROM `\n    image\n', ['image']],
    ['# escape=`\nENV P C:\\dir\\\nENV Q 1\n', ['P C:\\dir\\', 'Q 1']],
    ['# escape=`\nENV P a``\nENV Q 1\n', ['P a``', 'Q 1']],
    // CRLF line ends, as scanLines + trimNewline read them.
    ['ENV A 1 \\\r\n  2\r\nENV B 3\r\n', ['A 1   2', 'B 3']],
  ])('%j', (text, want) => {
    expect(argsOf(text)).toEqual(want);
  });

  it('warns once per empty continuation line, at that line (parser_test.go TestParseWarnsOnEmptyContinutationLine)', () => {
    const df = parse(
      'FROM alpine:3.6\nRUN something \\\n\n    following \\\n\n    more\nRUN valid \\\n    continuation\n',
    );
    expect(df.instructions.map((i) => i.args)).toEqual([
      'alpine:3.6',
      'something     following     more',
      'valid     continuation',
    ]);
    expect(df.warnings.map((w) => [w.code, w.line])).toEqual([
      ['EMPTY_CONTINUATION', 3],
      ['EMPTY_CONTINUATION', 5],
    ]);
  });

  it('keeps positions and line ranges across continuations (parser_test.go TestParseIncludesLineNumbers)', () => {
    const df = parse('# escape=\\\n\nFROM x\n\nENV GOPATH \\\n/go\n\nRUN a \\\n\t&& b \\\n\n# c\n    && c\n');
    expect(df.instructions.map((i) => [i.position.line, i.endLine])).toEqual([
      [3, 3],
      [5, 6],
      [8, 12],
    ]);
    const run = df.instructions[2]!;
    expect(run.args).toBe('a \t&& b     && c');
    expect(run.positionAt(run.args.indexOf('b'))).toEqual({ line: 9, column: 5 });
    expect(run.positionAt(run.args.indexOf('c'))).toEqual({ line: 12, column: 8 });
  });
});

describe('parser directives as BuildKit reads them', () => {
  it.each([
    // testfiles/escape: no space after #, spaces around =.
    ['#escape = `\n\nFROM image\n', '`'],
    // directives_test.go TestDirectives: names are case-insensitive.
    ['# EScape=`\n# KEY = FOO bar\n\n# smth\nFROM x\n', '`'],
    // testfiles/escape-nonewline: comments may follow the directives directly.
    ['# escape = `\n# There is no white space line after the directives.\nFROM image\n', '`'],
    // testfiles/escape-after-comment: after a comment, a directive is a comment.
    ['# Comment here.\n# escape = `\n\nFROM image\n', '\\'],
    // A blank line ends the directives (directives.go ParseLine: no `#` prefix).
    ['\n# escape=`\nFROM x\n', '\\'],
    // An unknown directive name is a comment and ends the directives.
    ['# foo=bar\n# escape=`\nFROM x\n', '\\'],
    ['# my-thing=1\n# escape=`\nFROM x\n', '\\'],
    // An empty value is no directive (the value is `.+?`).
    ['# escape=\nFROM x\n', '\\'],
    // The first line loses its leading space before the directive check (parser.go processLine).
    ['  # escape=`\nFROM x\n', '`'],
  ])('%j → escape %s', (text, esc) => {
    expect(parse(text).escape).toBe(esc);
  });

  it('takes the first word of # syntax= (directives.go detectDirectiveFromParser)', () => {
    expect(parse('# syntax = docker/dockerfile:1 // opts\nFROM x\n').syntax).toBe('docker/dockerfile:1');
  });

  it.each([
    ['# escape=`\n# ESCAPE=\\\nFROM x\n', 'Dockerfile:2:3: parser directive escape appears twice'],
    ['# escape=x\nFROM x\n', 'Dockerfile:1:3: invalid escape character "x"'],
  ])('refuses %j', (text, message) => {
    expect(() => parse(text)).toThrow(DockerfileError);
    expect(() => parse(text)).toThrow(message);
  });
});

describe('line length', () => {
  it('refuses a line over 65535 bytes, as BuildKit does (parser_test.go TestParseReturnsScannerErrors)', () => {
    const ok = `FROM x\nLABEL test=${'a'.repeat(65535 - 11)}\n`;
    expect(parse(ok).instructions[1]!.args).toHaveLength(65535 - 6);
    expect(() => parse(`FROM x\nLABEL test=${'é'.repeat(40000)}\n`)).toThrow(
      expect.objectContaining({
        code: 'DOCKERFILE_SYNTAX',
        line: 2,
        message: expect.stringContaining('over 65535 bytes'),
      }),
    );
  });
});
