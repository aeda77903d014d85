// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these strings are Dockerfile text, where ${VAR} is the syntax under test
import { tempDir } from '@scratchpack/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { evalError, makeTree } from './helpers.ts';

let ctx: string;
let outside: { path: string; cleanup: () => Promise<void> };
let cleanup: () => Promise<void>;
beforeAll(async () => {
  outside = await tempDir('dockerfile-outside-');
  await makeTree(outside.path, { secret: 'top secret' });
  ({ path: ctx, cleanup } = await tempDir('dockerfile-ctx-'));
  await makeTree(ctx, {
    hello: { content: '#!hello\n', mode: 0o755 },
    leak: { symlink: `${outside.path}/secret` },
    dirleak: { symlink: outside.path },
    loopa: { symlink: 'loopb' },
    loopb: { symlink: 'loopa' },
    'archive.tar.xz': Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0, 1, 2]),
  });
});
afterAll(async () => {
  await cleanup();
  await outside.cleanup();
});

// [Dockerfile text, code, exact message prefix "Dockerfile:line:col: …"]
const CASES: [string, string, string, string][] = [
  [
    'RUN',
    'FROM scratch\nRUN echo hi\n',
    'DOCKERFILE_UNSUPPORTED',
    'Dockerfile:2:1: RUN: RUN needs a shell and a base image with programs; a FROM scratch image has nothing to run',
  ],
  [
    'indented RUN',
    'FROM scratch\n\n   run make\n',
    'DOCKERFILE_UNSUPPORTED',
    'Dockerfile:3:4: RUN: RUN needs a shell',
  ],
  [
    'HEALTHCHECK',
    'FROM scratch\nHEALTHCHECK CMD ["/hello", "-h"]\n',
    'DOCKERFILE_UNSUPPORTED',
    'Dockerfile:2:1: HEALTHCHECK: HEALTHCHECK runs a program',
  ],
  [
    'SHELL',
    'FROM scratch\nSHELL ["/bin/sh", "-c"]\n',
    'DOCKERFILE_UNSUPPORTED',
    'Dockerfile:2:1: SHELL: SHELL sets the shell',
  ],
  [
    'ONBUILD',
    'FROM scratch\nONBUILD COPY . /\n',
    'DOCKERFILE_UNSUPPORTED',
    'Dockerfile:2:1: ONBUILD: ONBUILD records triggers',
  ],
  [
    'MAINTAINER',
    'FROM scratch\nMAINTAINER me\n',
    'DOCKERFILE_UNSUPPORTED',
    'Dockerfile:2:1: MAINTAINER: MAINTAINER is deprecated',
  ],
  [
    'unknown instruction',
    'FROM scratch\nCOPPY hello /\n',
    'DOCKERFILE_UNKNOWN_INSTRUCTION',
    'Dockerfile:2:1: COPPY: unknown instruction "COPPY"',
  ],
  [
    'instruction before FROM',
    'COPY hello /\nFROM scratch\n',
    'DOCKERFILE_NO_FROM',
    'Dockerfile:1:1: COPY: COPY before FROM',
  ],
  [
    'no FROM at all',
    '# just a comment\nARG X=1\n',
    'DOCKERFILE_NO_FROM',
    'Dockerfile:1:1: no FROM instruction',
  ],
  [
    'second FROM',
    'FROM scratch AS a\nCOPY hello /\nFROM scratch\n',
    'DOCKERFILE_MULTI_STAGE',
    'Dockerfile:3:1: FROM: a second FROM starts a multi-stage build',
  ],
  [
    'COPY --from',
    'FROM scratch\nCOPY --from=build /x /\n',
    'DOCKERFILE_MULTI_STAGE',
    'Dockerfile:2:6: COPY: --from needs multi-stage builds',
  ],
  [
    'parent image',
    'FROM scratch\n'.replace('scratch', 'alpine:3.20'),
    'DOCKERFILE_BASE_IMAGE',
    'Dockerfile:1:6: FROM: FROM alpine:3.20: only FROM scratch is built in',
  ],
  [
    'FROM --platform mismatch',
    'FROM --platform=linux/arm64 scratch\n',
    'DOCKERFILE_UNSUPPORTED',
    'Dockerfile:1:6: FROM: --platform=linux/arm64 differs from the target linux/amd64',
  ],
  [
    'context escape with ..',
    'FROM scratch\nCOPY hello ../secret /\n',
    'DOCKERFILE_CONTEXT_ESCAPE',
    'Dockerfile:2:12: COPY: "../secret" is outside the build context',
  ],
  [
    'absolute path escaping',
    'FROM scratch\nCOPY /../../etc/passwd /\n',
    'DOCKERFILE_CONTEXT_ESCAPE',
    'Dockerfile:2:6: COPY: "/../../etc/passwd" is outside the build context',
  ],
  [
    'symlink to a file outside',
    'FROM scratch\nCOPY leak /\n',
    'DOCKERFILE_CONTEXT_ESCAPE',
    'Dockerfile:2:6: COPY: "leak" resolves to',
  ],
  [
    'path through a symlinked dir outside',
    'FROM scratch\nCOPY dirleak/secret /\n',
    'DOCKERFILE_CONTEXT_ESCAPE',
    'Dockerfile:2:6: COPY: "dirleak/secret" resolves to',
  ],
  [
    'missing source',
    'FROM scratch\nCOPY \\\n   nope /\n',
    'DOCKERFILE_SOURCE_NOT_FOUND',
    'Dockerfile:3:4: COPY: "nope" not found in the build context',
  ],
  [
    'glob without matches',
    'FROM scratch\nCOPY *.exe /bin/\n',
    'DOCKERFILE_SOURCE_NOT_FOUND',
    'Dockerfile:2:6: COPY: no source files match "*.exe"',
  ],
  [
    'named --chown',
    'FROM scratch\nCOPY --chown=root:root hello /\n',
    'DOCKERFILE_BAD_FLAG',
    'Dockerfile:2:6: COPY: --chown=root:root: only numeric uid[:gid] is supported',
  ],
  [
    'symbolic --chmod',
    'FROM scratch\nCOPY --chmod=u+x hello /\n',
    'DOCKERFILE_BAD_FLAG',
    'Dockerfile:2:6: COPY: --chmod=u+x: only octal modes like 0755 are supported',
  ],
  [
    'unknown COPY flag',
    'FROM scratch\nCOPY --link --parents hello /\n',
    'DOCKERFILE_BAD_FLAG',
    'Dockerfile:2:13: COPY: --parents is not supported',
  ],
  [
    'several sources, file dest',
    'FROM scratch\nCOPY hello hello /x\n',
    'DOCKERFILE_BAD_ARGUMENT',
    'Dockerfile:2:18: COPY: with more than one source file the destination must be a directory ending in /',
  ],
  [
    'COPY with no dest',
    'FROM scratch\nCOPY hello\n',
    'DOCKERFILE_BAD_ARGUMENT',
    'Dockerfile:2:1: COPY: COPY needs at least one source and a destination',
  ],
  [
    'remote ADD',
    'FROM scratch\nADD https://example.com/x.tar.gz /\n',
    'DOCKERFILE_UNSUPPORTED',
    'Dockerfile:2:5: ADD: remote sources (https://example.com/x.tar.gz) are not supported',
  ],
  [
    'ADD of xz',
    'FROM scratch\nADD archive.tar.xz /\n',
    'DOCKERFILE_UNSUPPORTED',
    'Dockerfile:2:5: ADD: "archive.tar.xz" is a bzip2/xz archive',
  ],
  [
    'bad port',
    'FROM scratch\nEXPOSE 80 70000/tcp\n',
    'DOCKERFILE_BAD_ARGUMENT',
    'Dockerfile:2:11: EXPOSE: invalid port "70000/tcp"',
  ],
  [
    'unterminated quote',
    'FROM scratch\nENV A="open\n',
    'DOCKERFILE_SYNTAX',
    'Dockerfile:2:7: ENV: unterminated " quote',
  ],
  [
    'required variable',
    'FROM scratch\nLABEL v=${VERSION:?required}\n',
    'DOCKERFILE_VARIABLE',
    'Dockerfile:2:9: LABEL: VERSION: required',
  ],
  [
    'bad substitution',
    'FROM scratch\nWORKDIR ${}\n',
    'DOCKERFILE_VARIABLE',
    'Dockerfile:2:9: WORKDIR: bad substitution',
  ],
  [
    'ENV without value',
    'FROM scratch\nENV ONLYNAME\n',
    'DOCKERFILE_BAD_ARGUMENT',
    'Dockerfile:2:5: ENV: ENV expects key=value, got "ONLYNAME"',
  ],
  [
    'LABEL pair without =',
    'FROM scratch\nLABEL a=b c\n',
    'DOCKERFILE_BAD_ARGUMENT',
    'Dockerfile:2:11: LABEL: LABEL expects key=value, got "c"',
  ],
  [
    'bad ARG name',
    'FROM scratch\nARG 1x=2\n',
    'DOCKERFILE_BAD_ARGUMENT',
    'Dockerfile:2:5: ARG: invalid ARG name "1x"',
  ],
  [
    'USER with two words',
    'FROM scratch\nUSER a b\n',
    'DOCKERFILE_BAD_ARGUMENT',
    'Dockerfile:2:8: USER: USER takes exactly one argument',
  ],
  [
    'bad STOPSIGNAL',
    'FROM scratch\nSTOPSIGNAL sig term\n',
    'DOCKERFILE_BAD_ARGUMENT',
    'Dockerfile:2:16: STOPSIGNAL: STOPSIGNAL takes exactly one argument',
  ],
  [
    'COPY of a symlink loop (a → b → a)',
    'FROM scratch\nCOPY loopa /x\n',
    'DOCKERFILE_SYMLINK_LOOP',
    `Dockerfile:2:6: COPY: "loopa" in the build context`,
  ],
  [
    'a COPY past 127 layers',
    `FROM scratch\n${'COPY hello /\n'.repeat(128)}`,
    'DOCKERFILE_TOO_MANY_LAYERS',
    "Dockerfile:129:1: COPY: COPY would make layer 128: an image has at most 127 layers (docker's overlay2 limit; 0 from the base, 127 added so far)",
  ],
];

describe('evaluate refuses with file:line:col, the instruction and why', () => {
  it.each(CASES)('%s', async (_name, text, code, prefix) => {
    const e = await evalError(text, { context: ctx, platform: 'linux/amd64', file: 'Dockerfile' });
    expect(e.code).toBe(code);
    expect(e.message.slice(0, prefix.length)).toBe(prefix);
    const m = /^Dockerfile:(\d+):(\d+):/.exec(prefix)!;
    expect([e.file, e.line, e.column]).toEqual(['Dockerfile', Number(m[1]), Number(m[2])]);
  });

  it('a symlink loop says so (not "not found"), with a hint', async () => {
    const e = await evalError('FROM scratch\nCOPY loopa /x\n', { context: ctx, platform: 'linux/amd64' });
    expect(e.reason).toMatch(/is a symlink loop \(too many levels of symbolic links\)$/);
    expect(e.hint).toMatch(/point the symlink at a real file/);
  });

  it('127 layers are fine', async () => {
    const { evaluate } = await import('../src/index.ts');
    const r = await evaluate(`FROM scratch\n${'COPY hello /\n'.repeat(127)}`, {
      context: ctx,
      platform: 'linux/amd64',
    });
    expect((await r.manifest()).layers).toHaveLength(127);
  });

  it('gives hints for the common refusals', async () => {
    const e = await evalError('FROM scratch\nRUN make\n', { context: ctx, platform: 'linux/amd64' });
    expect(e.hint).toMatch(/COPY the static binary/);
    expect(e.instruction).toBe('RUN');
    expect(e.reason).toMatch(/^RUN needs a shell/);
  });
});
