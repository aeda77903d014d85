/**
 * Typed errors of @scratchpack/dockerfile. Every error names the file, line and column, the instruction,
 * and why — `Dockerfile:3:1: RUN: …` — plus a hint. The library never prints or exits.
 */

import { ScratchpackError } from '@scratchpack/oci';

export type DockerfileErrorCode =
  | 'DOCKERFILE_SYNTAX'
  | 'DOCKERFILE_DIRECTIVE'
  | 'DOCKERFILE_UNKNOWN_INSTRUCTION'
  | 'DOCKERFILE_UNSUPPORTED'
  | 'DOCKERFILE_NO_FROM'
  | 'DOCKERFILE_MULTI_STAGE'
  | 'DOCKERFILE_BASE_IMAGE'
  | 'DOCKERFILE_BAD_ARGUMENT'
  | 'DOCKERFILE_BAD_FLAG'
  | 'DOCKERFILE_VARIABLE'
  | 'DOCKERFILE_CONTEXT_ESCAPE'
  | 'DOCKERFILE_SOURCE_NOT_FOUND'
  | 'DOCKERFILE_SYMLINK_LOOP'
  | 'DOCKERFILE_TOO_MANY_LAYERS'
  | 'DOCKERFILE_IGNORE_PATTERN';

export interface Position {
  /** 1-based line. */
  line: number;
  /** 1-based column. */
  column: number;
}

export class DockerfileError extends ScratchpackError {
  declare readonly code: DockerfileErrorCode;
  readonly file: string;
  readonly line: number;
  readonly column: number;
  /** The instruction keyword (`COPY`), when the error is about one. */
  readonly instruction: string | undefined;
  /** The reason alone, without the `file:line:col: INSTRUCTION:` prefix. */
  readonly reason: string;

  constructor(
    code: DockerfileErrorCode,
    at: { file: string } & Position,
    reason: string,
    opts: { instruction?: string; hint?: string; cause?: unknown } = {},
  ) {
    super(
      code,
      `${at.file}:${at.line}:${at.column}: ${opts.instruction ? `${opts.instruction}: ` : ''}${reason}`,
      { hint: opts.hint, cause: opts.cause },
    );
    this.name = 'DockerfileError';
    this.file = at.file;
    this.line = at.line;
    this.column = at.column;
    this.instruction = opts.instruction;
    this.reason = reason;
  }
}

/** Something worth telling the user that does not stop the build (returned, never printed). */
export interface Warning extends Position {
  code: string;
  file: string;
  message: string;
}
