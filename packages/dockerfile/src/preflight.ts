/**
 * What scratchpack does not build, found before anything runs: a second FROM (multi-stage), COPY/ADD --from,
 * instructions a FROM scratch image cannot have (RUN, …) and unknown ones. The evaluator checks the whole file
 * first, so that such a Dockerfile fails at once, not after FROM has pulled a parent image from a registry.
 */
import { configHandlers } from './config-instructions.ts';
import type { Position } from './errors.ts';
import type { Dockerfile, Instruction } from './parser.ts';
import { type EvalState, fail } from './state.ts';

export const UNSUPPORTED: Record<string, [string, string]> = {
  RUN: [
    'RUN needs a shell and a base image with programs; a FROM scratch image has nothing to run',
    'build the program outside (scratchpack compiles with zig) and COPY the static binary in',
  ],
  HEALTHCHECK: [
    'HEALTHCHECK runs a program inside the container and is a Docker-only extension of the image config; a scratch image has no program to run it with',
    'check health from the orchestrator, or expose a health endpoint in your program',
  ],
  ONBUILD: [
    'ONBUILD records triggers for images built FROM this one; scratchpack builds final images and does not record triggers',
    'remove the ONBUILD line',
  ],
  SHELL: [
    'SHELL sets the shell for RUN and shell-form commands; a scratch image has no shell',
    'use exec-form CMD/ENTRYPOINT ["/prog", "arg"]',
  ],
  MAINTAINER: ['MAINTAINER is deprecated', 'use LABEL org.opencontainers.image.authors="…"'],
};

/** A second FROM: multi-stage builds are not supported. */
export function failMultiStage(st: EvalState, ins: Instruction): never {
  fail(
    st,
    ins,
    'DOCKERFILE_MULTI_STAGE',
    'a second FROM starts a multi-stage build, which scratchpack does not support',
    {
      hint: 'build with one FROM scratch stage; compile programs outside the Dockerfile',
    },
  );
}

/** COPY/ADD --from: a multi-stage feature, refused wherever it is met. */
export function failCopyFrom(st: EvalState, ins: Instruction, at: Position | undefined): never {
  fail(
    st,
    ins,
    'DOCKERFILE_MULTI_STAGE',
    '--from needs multi-stage builds, which scratchpack does not support',
    {
      ...(at && { at }),
      hint: 'build the file outside the Dockerfile and COPY it from the context',
    },
  );
}

/** Fail on the first instruction after the first FROM that can never be built (see the file comment). */
export function refuseUnsupported(st: EvalState, df: Dockerfile): void {
  let from = false;
  for (const ins of df.instructions) {
    const k = ins.keyword;
    if (k === 'FROM') {
      if (from) failMultiStage(st, ins);
      from = true;
      continue;
    }
    if (!from) continue;
    if (k === 'COPY' || k === 'ADD') {
      const f = ins.flags.find((x) => x.name === 'from');
      if (f) failCopyFrom(st, ins, f.position);
    } else if (UNSUPPORTED[k])
      fail(st, ins, 'DOCKERFILE_UNSUPPORTED', UNSUPPORTED[k][0], { hint: UNSUPPORTED[k][1] });
    else if (k !== 'ARG' && !configHandlers[k])
      fail(st, ins, 'DOCKERFILE_UNKNOWN_INSTRUCTION', `unknown instruction ${JSON.stringify(k)}`);
  }
}
