import { BuildInputError } from '@scratchpack/builder';
import { ScratchpackError } from '@scratchpack/oci';
import { BwrapMissingError, SandboxUnavailableError } from '@scratchpack/runtime';
import { describe, expect, it } from 'vitest';
import { platformsOption } from '../src/commands/build.ts';
import { commandLine, programEnv } from '../src/commands/run.ts';
import { ExitError, errorJsonFor, exitCodeFor, formatError, UsageError } from '../src/errors.ts';
import { parseOutput, parsePairs } from '../src/output-spec.ts';

describe('--output specs', () => {
  it('reads bare paths and buildx-style specs', () => {
    expect(parseOutput('dist/oci')).toEqual({ kind: 'layout', dest: 'dist/oci' });
    expect(parseOutput('dist/hello.oci.tar')).toEqual({ kind: 'archive', dest: 'dist/hello.oci.tar' });
    expect(parseOutput('type=oci,dest=x.tar')).toEqual({ kind: 'archive', dest: 'x.tar' });
    expect(parseOutput('type=oci,dest=dir,tar=false')).toEqual({ kind: 'layout', dest: 'dir' });
    expect(parseOutput('type=oci-layout,dest=dir')).toEqual({ kind: 'layout', dest: 'dir' });
  });
  it('pushes what names a registry, and reads prefixes as everywhere', () => {
    expect(parseOutput('127.0.0.1:5000/me/app:1')).toEqual({
      kind: 'registry',
      dest: '127.0.0.1:5000/me/app:1',
    });
    expect(parseOutput('docker://me/app:1')).toEqual({ kind: 'registry', dest: 'me/app:1' });
    expect(parseOutput('type=registry,name=ghcr.io/me/app')).toEqual({
      kind: 'registry',
      dest: 'ghcr.io/me/app',
    });
    expect(parseOutput('type=image,name=ghcr.io/me/app,push=true')).toEqual({
      kind: 'registry',
      dest: 'ghcr.io/me/app',
    });
    expect(parseOutput('oci:/tmp/x')).toEqual({ kind: 'layout', dest: '/tmp/x' });
    expect(parseOutput('oci-archive:/tmp/x')).toEqual({ kind: 'archive', dest: '/tmp/x' });
  });
  it('refuses what it cannot write, saying what to use', () => {
    expect(() => parseOutput('type=registry,dest=x')).toThrowError(/has no name=/);
    expect(() => parseOutput('type=image,name=x')).toThrowError(/would need a Docker engine/);
    expect(() => parseOutput('type=docker,dest=x')).toThrowError(/type=docker is not supported/);
    expect(() => parseOutput('dist/oci:v1')).toThrowError(/name tags with -t/);
    expect(() => parseOutput('store:app')).toThrowError(/the local store is not an --output/);
    expect(() => parseOutput('type=oci')).toThrowError(/no dest=/);
    expect(() => parseOutput('type=oci,dest=x,compression=zstd')).toThrowError(
      /unsupported field "compression"/,
    );
  });
});

describe('KEY=VALUE flags', () => {
  it('keeps the last value and allows = in values', () => {
    expect(parsePairs('--build-arg', ['A=1', 'B=x=y', 'A=2'])).toEqual({ A: '2', B: 'x=y' });
    expect(() => parsePairs('--label', ['nokey'])).toThrowError(/--label "nokey": expected KEY=VALUE/);
  });
});

describe('--platform', () => {
  it('splits, normalises, dedupes and expands all', () => {
    expect(platformsOption(['linux/amd64,linux/arm64', 'linux/amd64'])).toEqual([
      { os: 'linux', architecture: 'amd64' },
      { os: 'linux', architecture: 'arm64', variant: 'v8' },
    ]);
    expect(platformsOption(['all'])).toHaveLength(15);
  });
});

describe('run: command line and environment', () => {
  it('combines Entrypoint and Cmd as Docker does', () => {
    const config = { Entrypoint: ['/app'], Cmd: ['--help'] };
    expect(commandLine(config, [])).toEqual(['/app', '--help']);
    expect(commandLine(config, ['serve'])).toEqual(['/app', 'serve']);
    expect(commandLine({ Cmd: ['/hello'] }, [])).toEqual(['/hello']);
    expect(commandLine(config, [], '/other')).toEqual(['/other']);
    expect(commandLine(config, ['x'], '')).toEqual(['x']);
  });
  it('uses the image env with a default PATH, then -e overrides', () => {
    expect(programEnv({ Env: ['A=1', 'B=2'] }, ['B=3'])).toEqual({
      A: '1',
      B: '3',
      PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    });
    expect(programEnv({ Env: ['PATH=/bin'] }, []).PATH).toBe('/bin');
    expect(() => programEnv({ Env: ['bad'] }, [])).toThrowError(/invalid environment entry "bad"/);
  });
});

describe('errors at the CLI edge', () => {
  it('prints code, message and hint of a ScratchpackError on their own lines', () => {
    const err = new ScratchpackError('BLOB_UNKNOWN', 'blob sha256:ab is missing', { hint: 'push again' });
    expect(formatError(err)).toBe('error [BLOB_UNKNOWN]: blob sha256:ab is missing\nhint: push again');
    expect(formatError(new UsageError('bad flag', 'see --help'))).toBe('error: bad flag\nhint: see --help');
    expect(formatError(new ExitError(127, 'x: not found', { code: 'RUN_NOT_FOUND', hint: 'check' }))).toBe(
      'error [RUN_NOT_FOUND]: x: not found\nhint: check',
    );
    expect(formatError(new BuildInputError('no Dockerfile at x', 'pass --file PATH'))).toBe(
      'error: no Dockerfile at x\nhint: pass --file PATH',
    );
  });
  it("prints a foreign error's code (Node's, a library's) but none of its other fields, and no stack", () => {
    const err = Object.assign(new Error('bad argument'), { code: 'ERR_INVALID_ARG_TYPE', hint: 'not ours' });
    expect(formatError(err)).toBe('error [ERR_INVALID_ARG_TYPE]: bad argument');
    expect(formatError({ code: 'UND_ERR_SOCKET', message: 'other side closed' })).toBe(
      'error [UND_ERR_SOCKET]: other side closed',
    );
    expect(formatError(new Error('boom'))).toMatch(/^error: boom\n\s+at /);
  });
  it('makes every CLI error a ScratchpackError with its code', () => {
    const cases: [ScratchpackError, string][] = [
      [new UsageError('bad flag'), 'USAGE'],
      [new ExitError(3), 'EXIT'],
      [new BwrapMissingError(), 'BWRAP_MISSING'],
      [new SandboxUnavailableError('no user namespaces', 'enable them'), 'SANDBOX_UNAVAILABLE'],
    ];
    for (const [e, code] of cases) {
      expect(e).toBeInstanceOf(ScratchpackError);
      expect(e.code).toBe(code);
    }
    expect(formatError(cases[3]![0])).toBe(
      'error [SANDBOX_UNAVAILABLE]: no user namespaces\nhint: enable them',
    );
    expect(formatError(cases[2]![0])).toMatch(
      /^error \[BWRAP_MISSING\]: .*\nhint: install Debian's bubblewrap/,
    );
  });
  it('names the call and path of a system error', () => {
    const err = Object.assign(new Error("ENOENT: no such file or directory, open 'x'"), {
      code: 'ENOENT',
      syscall: 'open',
      path: 'x',
    });
    expect(formatError(err)).toBe('error [ENOENT]: open x: no such file or directory');
  });
  it('gives every error one --json shape: code, message, hint when there is one, temporary', () => {
    const err = new ScratchpackError('BLOB_UNKNOWN', 'blob sha256:ab is missing', {
      hint: 'push again',
      temporary: true,
    });
    expect(errorJsonFor(err)).toEqual({
      code: 'BLOB_UNKNOWN',
      message: 'blob sha256:ab is missing',
      hint: 'push again',
      temporary: true,
    });
    expect(errorJsonFor(new UsageError('bad flag'))).toEqual({
      code: 'USAGE',
      message: 'bad flag',
      temporary: false,
    });
    const sys = Object.assign(new Error("ENOENT: no such file or directory, open 'x'"), {
      code: 'ENOENT',
      syscall: 'open',
      path: 'x',
    });
    expect(errorJsonFor(sys)).toEqual({
      code: 'ENOENT',
      message: 'open x: no such file or directory',
      temporary: false,
    });
    const foreign = Object.assign(new Error('other side closed'), {
      code: 'UND_ERR_SOCKET',
      hint: 'not ours',
    });
    expect(errorJsonFor(foreign)).toEqual({
      code: 'UND_ERR_SOCKET',
      message: 'other side closed',
      temporary: false,
    });
    expect(errorJsonFor(new Error('boom'))).toEqual({ code: 'ERROR', message: 'boom', temporary: false });
  });
  it('maps usage errors to 2, program exits to their status, the rest to 1', () => {
    expect(exitCodeFor(new UsageError('x'))).toBe(2);
    expect(exitCodeFor(new BuildInputError('x'))).toBe(2);
    expect(exitCodeFor(new ExitError(42))).toBe(42);
    expect(exitCodeFor(new Error('x'))).toBe(1);
  });
});
