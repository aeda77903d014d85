// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${X:?…} is Dockerfile text, the syntax under test
/** Every error of @scratchpack/dockerfile is a ScratchpackError with a code, the internal ones too. */
import { ScratchpackError } from '@scratchpack/oci';
import { describe, expect, it } from 'vitest';
import { SourceError } from '../src/context.ts';
import { IgnorePatternError, IgnoreRules } from '../src/ignore.ts';
import { DockerfileError } from '../src/index.ts';
import { ExpansionError, expand, splitWords } from '../src/words.ts';

const thrown = (f: () => unknown): unknown => {
  try {
    f();
  } catch (e) {
    return e;
  }
  throw new Error('expected a throw');
};

describe('the error contract of @scratchpack/dockerfile', () => {
  it('makes DockerfileError a ScratchpackError with its code, position and hint', () => {
    const e = new DockerfileError('DOCKERFILE_SYNTAX', { file: 'Dockerfile', line: 3, column: 1 }, 'bad', {
      instruction: 'RUN',
      hint: 'h',
    });
    expect(e).toBeInstanceOf(ScratchpackError);
    expect(e).toMatchObject({ code: 'DOCKERFILE_SYNTAX', message: 'Dockerfile:3:1: RUN: bad', hint: 'h' });
    expect(e.name).toBe('DockerfileError');
  });

  it('gives the internal errors the codes their callers turn them into', () => {
    const source = new SourceError('DOCKERFILE_SOURCE_NOT_FOUND', 'no such file', 'check the path');
    expect(source).toBeInstanceOf(ScratchpackError);
    expect(source).toMatchObject({ code: 'DOCKERFILE_SOURCE_NOT_FOUND', hint: 'check the path' });

    const quote = thrown(() => splitWords('"open'));
    expect(quote).toBeInstanceOf(ExpansionError);
    expect(quote).toBeInstanceOf(ScratchpackError);
    expect(quote).toMatchObject({ code: 'DOCKERFILE_SYNTAX', message: 'unterminated " quote' });

    const variable = thrown(() => expand('${X:?is required}', () => undefined));
    expect(variable).toBeInstanceOf(ExpansionError);
    expect(variable).toMatchObject({ code: 'DOCKERFILE_VARIABLE', message: 'X: is required' });

    const pattern = thrown(() => IgnoreRules.parse('[a\n', '.dockerignore'));
    expect(pattern).toBeInstanceOf(IgnorePatternError);
    expect(pattern).toBeInstanceOf(ScratchpackError);
    expect(pattern).toMatchObject({ code: 'DOCKERFILE_IGNORE_PATTERN', line: 1 });
    expect((pattern as Error).message).toMatch(/^\.dockerignore:1: invalid pattern "\[a": /);
  });
});
