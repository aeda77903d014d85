// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these strings are Dockerfile text, where ${VAR} is the syntax under test
/**
 * ENV/LABEL/ARG values and CMD/ENTRYPOINT/VOLUME/COPY exec-form decisions, case by case, with the value `docker
 * build` (BuildKit) gives. `testfiles/X` is moby/buildkit frontend/dockerfile/parser/testfiles/X (its `result` is
 * the parsed words; the values here are those words after BuildKit's shell/lex.go word processing).
 */
import { scratch } from '@scratchpack/oci';
import { tempDir } from '@scratchpack/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyConfigInstructions, DockerfileError, evaluate, parse } from '../src/index.ts';
import { layerListing, makeTree } from './helpers.ts';

let ctx: string;
let cleanup: () => Promise<void>;
beforeAll(async () => {
  ({ path: ctx, cleanup } = await tempDir('dockerfile-buildkit-'));
  await makeTree(ctx, { a: 'a\n', b: 'b\n', 'a b': 'a b\n' });
});
afterAll(() => cleanup());

async function config(text: string, directives = '') {
  const img = await evaluate(`${directives}FROM scratch\n${text}`, { context: ctx, platform: 'linux/amd64' });
  return (await img.configFile()).config ?? {};
}

async function envOf(text: string, directives = ''): Promise<Record<string, string>> {
  const env = (await config(text, directives)).Env ?? [];
  return Object.fromEntries(
    env
      .filter((e) => !e.startsWith('PATH='))
      .map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]),
  );
}

describe('the issue: an escaped backslash at the end of a line ends the line (testfiles/trailing-backslash)', () => {
  it('gives C=trailing\\backslash\\ and D as docker build does', async () => {
    const text = 'ENV C trailing\\\\backslash\\\\\nENV D This should not be appended to C\n';
    expect(await envOf(text)).toEqual({ C: 'trailing\\backslash\\', D: 'This should not be appended to C' });
  });

  it('and the rest of that test file', async () => {
    const text = [
      'ENV A path',
      'ENV B another\\\\path',
      'ENV E hello\\',
      '\\',
      'world',
      'ENV F hello\\',
      ' \\',
      'world',
      'ENV G hello \\',
      '\\',
      'world',
      '',
    ].join('\n');
    expect(await envOf(text)).toEqual({
      A: 'path',
      B: 'another\\path',
      E: 'helloworld',
      F: 'hello world',
      G: 'hello world',
    });
  });
});

describe('ENV / LABEL / ARG values', () => {
  it.each([
    // testfiles/env
    ['ENV name value', 'value'],
    ['ENV name=value', 'value'],
    ['ENV name="value value1"', 'value value1'],
    ['ENV name=value\\ value2', 'value value2'],
    [`ENV name="value'quote space'value2"`, "value'quote space'value2"],
    [`ENV name='value"double quote"value2'`, 'value"double quote"value2'],
    ['ENV name="a\\"b"', 'a"b'],
    [`ENV name="a\\'b"`, "a\\'b"],
    [`ENV name='a\\'b''`, 'a\\b'],
    [`ENV name='a\\"b'`, 'a\\"b'],
    [`ENV name="''"`, "''"],
    // testfiles/lk4d4-the-edge-case-generator: the legacy form takes the rest of the line.
    ['ENV name 1 DUBA 3', '1 DUBA 3'],
    ['ENV name "1 DUBA 3"', '1 DUBA 3'],
    // line_parsers.go parseNameVal: the legacy form splits at the first blank, quoted or not.
    ['ENV name   a   b  ', 'a   b'],
    // shell/lex.go: a trailing escape is dropped; `\\\` at the end does not continue (parser.go setEscapeToken).
    ['ENV name x\\\\\\', 'x\\'],
  ])('%s → %j', async (line, want) => {
    expect((await envOf(`${line}\n`)).name).toBe(want);
  });

  it('with # escape=` the backtick escapes and backslashes are plain (testfiles/escape)', async () => {
    const env = await envOf('ENV GOPATH `\n\\go\nENV name C:\\dir\\ `$HOME\n', '# escape=`\n');
    expect(env).toEqual({ GOPATH: '\\go', name: 'C:\\dir\\ $HOME' });
  });

  it('joins a multi-line ENV that ends at EOF with a continuation (testfiles/env, last instruction)', async () => {
    const text = [
      'ENV name=value \\',
      '    name1=value1 \\',
      '    name2="value2a \\',
      '           value2b" \\',
      '    name3="value3a\\n\\"value3b\\"" \\',
      '\tname4="value4a\\\\nvalue4b" \\',
      '',
    ].join('\n');
    expect(await envOf(text)).toEqual({
      name: 'value',
      name1: 'value1',
      name2: `value2a${' '.repeat(12)}value2b`,
      name3: 'value3a\\n"value3b"',
      name4: 'value4a\\nvalue4b',
    });
  });

  it('an unterminated single quote is an error (testfiles/env: `\\` does not escape inside single quotes)', async () => {
    await expect(config("ENV name='a\\'b'\n")).rejects.toThrow(DockerfileError);
  });

  it('LABEL values (testfiles/kartar-entrypoint-oddities, testfiles/escapes)', async () => {
    const labels = (
      await config(
        'LABEL maintainer James Turnbull "james@example.com"\nLABEL escaped Erik \\\\Hollensbe <erik@hollensbe.org>\\"\n',
      )
    ).Labels;
    expect(labels).toEqual({
      maintainer: 'James Turnbull james@example.com',
      escaped: 'Erik \\Hollensbe <erik@hollensbe.org>"',
    });
  });

  it('ARG words (testfiles/args)', async () => {
    expect(await envOf('ARG abc="123 456" def\nENV A=$abc B=x${def}x\n')).toEqual({ A: '123 456', B: 'xx' });
  });
});

describe('exec form or shell form (line_parsers.go parseMaybeJSON / parseJSON)', () => {
  it.each([
    // testfiles/json
    ['CMD []', []],
    ['CMD [""]', ['']],
    ['CMD ["a"]', ['a']],
    ['CMD ["a","b"]', ['a', 'b']],
    ['CMD [ "a", "b" ]', ['a', 'b']],
    ['CMD [\t"a",\t"b"\t]', ['a', 'b']],
    ['CMD\t[\t"a",\t"b"\t]\t', ['a', 'b']],
    [
      'CMD ["abc 123", "♥", "☃", "\\" \\\\ \\/ \\b \\f \\n \\r \\t \\u0000"]',
      ['abc 123', '♥', '☃', '" \\ / \b \f \n \r \t \u0000'],
    ],
    // testfiles/escapes
    ['CMD [ "\\/usr\\\\\\"/bin/znc", "-f", "-r" ]', ['/usr\\"/bin/znc', '-f', '-r']],
    // Go's encoding/json turns a lone surrogate escape into U+FFFD.
    ['CMD ["\\ud800x"]', ['\uFFFDx']],
    // testfiles/jeztah-invalid-json-*: not a JSON array of strings → shell form.
    ['CMD "[\\"echo\\", \\"Phew, I just managed to escaped those double quotes\\"]"', 'shell'],
    [`CMD '["echo", "Well, JSON in a string is JSON too?"]'`, 'shell'],
    [`CMD ['echo','single quotes are invalid JSON']`, 'shell'],
    [`CMD ["echo", "Please, close the brackets when you're done"`, 'shell'],
    ['CMD ["echo", "look ma, no quote!]', 'shell'],
  ])('%s', async (line, want) => {
    const { image } = await applyConfigInstructions(scratch, line);
    const cmd = (await image.configFile()).config?.Cmd;
    const args = line.replace(/^CMD\s+/, '').trim();
    expect(cmd).toEqual(want === 'shell' ? ['/bin/sh', '-c', args] : want);
  });

  it('ENTRYPOINT and VOLUME exec forms (testfiles/kartar-entrypoint-oddities, lk4d4-the-edge-case-generator)', async () => {
    const { image } = await applyConfigInstructions(scratch, [
      'ENTRYPOINT [ "/usr/bin/redis-server" ]',
      'VOLUME ["/test", "/test2"]',
      'VOLUME /test3',
    ]);
    const cf = (await image.configFile()).config;
    expect(cf?.Entrypoint).toEqual(['/usr/bin/redis-server']);
    expect(Object.keys(cf?.Volumes ?? {})).toEqual(['/test', '/test2', '/test3']);
  });

  it('COPY/ADD with tabs and JSON (testfiles/ADD-COPY-with-JSON)', () => {
    const df = parse('ADD\t\t[ "vimrc", "/tmp" ]\nCOPY\t[ "test file", "/tmp" ]\nADD\t\tnull /\n');
    expect(df.instructions.map((i) => i.json ?? i.args)).toEqual([
      ['vimrc', '/tmp'],
      ['test file', '/tmp'],
      'null /',
    ]);
  });

  it.each([
    // testfiles-negative/shykes-nested-json
    'CMD [ "echo", [ "nested json" ] ]',
    'ENTRYPOINT ["/prog", 1]',
    'COPY ["a", null]',
  ])('%s is an error: arrays must be comprised of strings only', (line) => {
    expect(() => parse(line)).toThrow(
      expect.objectContaining({
        code: 'DOCKERFILE_SYNTAX',
        line: 1,
        message: expect.stringContaining('strings only'),
      }),
    );
  });
});

describe('arguments split at blanks, quotes or not (line_parsers.go parseStringsWhitespaceDelimited, parseString)', () => {
  const copied = async (line: string) =>
    layerListing(await evaluate(`FROM scratch\n${line}\n`, { context: ctx, platform: 'linux/amd64' }));

  it('COPY ["a b", "/x/"] copies the file with a space (testfiles/ADD-COPY-with-JSON)', async () => {
    expect(await copied('COPY ["a b", "/x/"]')).toEqual([['dir x 755 0:0', 'file x/a b 644 0:0 a b']]);
  });

  it('COPY a\\ b /x/ copies a and b: the escape before the blank ends the first word and is dropped', async () => {
    expect(await copied('COPY a\\ b /x/')).toEqual([
      ['dir x 755 0:0', 'file x/a 644 0:0 a', 'file x/b 644 0:0 b'],
    ]);
  });

  it('COPY "a b" /x/ is an unterminated quote, as with docker build (testfiles/escapes: ADD \\conf\\\\" /.znc)', async () => {
    await expect(copied('COPY "a b" /x/')).rejects.toMatchObject({
      code: 'DOCKERFILE_VARIABLE',
      line: 2,
      column: 6,
      hint: expect.stringContaining('COPY ["a b", "/dst/"]'),
    });
  });

  it('WORKDIR takes the rest of the line', async () => {
    expect((await config('WORKDIR /my dir\n')).WorkingDir).toBe('/my dir');
  });
});
