/**
 * Wrong forms answered with the right one: registry outputs (-o type=registry,name=…), `--push` where outputs
 * are pushed by name, and a Dockerfile scratchpack cannot build refused before FROM pulls anything.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tempDir } from '@scratchpack/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseOutput } from '../src/output-spec.ts';
import { cli } from './helpers.ts';

describe('the registry output and --push are pointed to', () => {
  it.each([
    ['type=registry', /has no name=: type=registry pushes/, 'type=registry,name=ghcr.io/me/app:1.0'],
    ['type=registry,dest=127.0.0.1:5000/a:1', /has no name=/, 'type=registry,name=127.0.0.1:5000/a:1'],
    [
      'type=oci,name=127.0.0.1:5000/a:1',
      /name= goes with type=registry/,
      'type=registry,name=127.0.0.1:5000/a:1',
    ],
    ['type=oci,dest=x.tar,push=true', /push=true goes with type=registry/, 'type=registry,name='],
    ['dest=127.0.0.1:5000/a:1', /looks like a registry reference/, 'type=registry,name=127.0.0.1:5000/a:1'],
  ])('-o %s', (spec, message, hint) => {
    let err: { code?: string; message: string; hint?: string } | undefined;
    try {
      parseOutput(spec);
    } catch (e) {
      err = e as typeof err;
    }
    expect(err?.code).toBe('USAGE');
    expect(err?.message).toMatch(message);
    expect(err?.hint).toContain(hint);
  });

  it('the right forms still parse', () => {
    expect(parseOutput('type=registry,name=127.0.0.1:5000/a:1')).toEqual({
      kind: 'registry',
      dest: '127.0.0.1:5000/a:1',
    });
    expect(parseOutput('type=oci,dest=out.tar')).toEqual({ kind: 'archive', dest: 'out.tar' });
  });

  it('--push on a command without it: how pushing is spelled, not "Did you mean --pull?"', async () => {
    for (const args of [
      ['base', 'static', '--push'],
      ['pull', 'x', '--push'],
    ]) {
      const r = await cli(args);
      expect(r.status).not.toBe(0);
      expect(r.stderr).toContain("unknown option '--push'");
      expect(r.stderr).not.toContain('Did you mean');
      expect(r.stderr).toMatch(/hint: outputs are pushed by their name: .*type=registry,name=REF/);
    }
  });
});

describe('a Dockerfile scratchpack cannot build is refused before anything is pulled', () => {
  let work: Awaited<ReturnType<typeof tempDir>>;
  beforeAll(async () => {
    work = await tempDir('cli-early-');
    await mkdir(join(work.path, 'ctx'));
    await writeFile(join(work.path, 'ctx', 'f'), 'x');
  });
  afterAll(() => work?.cleanup());

  // Port 9 on 127.0.0.1: nothing listens, any pull would fail with a network error.
  it.each([
    [
      'multi-stage',
      'FROM 127.0.0.1:9/alpine:3 AS b\nFROM scratch\nCOPY f /\n',
      'DOCKERFILE_MULTI_STAGE',
      ':2:1: FROM: a second FROM starts a multi-stage build',
    ],
    [
      'COPY --from',
      'FROM 127.0.0.1:9/alpine:3\nCOPY --from=b f /\n',
      'DOCKERFILE_MULTI_STAGE',
      '--from needs multi-stage builds',
    ],
    [
      'RUN',
      'FROM 127.0.0.1:9/alpine:3\nENV A=1\nRUN make\n',
      'DOCKERFILE_UNSUPPORTED',
      ':3:1: RUN: RUN needs a shell',
    ],
    [
      'an unknown instruction',
      'FROM 127.0.0.1:9/alpine:3\nFROBNICATE\n',
      'DOCKERFILE_UNKNOWN_INSTRUCTION',
      'FROBNICATE',
    ],
  ])(
    '%s',
    async (_what, dockerfile, code, message) => {
      await writeFile(join(work.path, 'ctx', 'Dockerfile'), dockerfile);
      const r = await cli(['build', join(work.path, 'ctx'), '-o', join(work.path, 'out')]);
      expect(r.status).toBe(1);
      expect(r.stderr).toContain(`error [${code}]: `);
      expect(r.stderr).toContain(message);
      expect(r.stderr).not.toMatch(/127\.0\.0\.1:9|CONNECTION|network|pull/i);
    },
    60_000,
  );
});
