/** Typed errors of @scratchpack/attest: a stable `code` and a `hint`, printed once by the CLI. */
export type AttestErrorCode = 'ATTEST_BAD_KEY' | 'ATTEST_VERIFY_FAILED' | 'ATTEST_NOT_FOUND';

export class AttestError extends Error {
  readonly code: AttestErrorCode;
  readonly hint: string | undefined;
  constructor(code: AttestErrorCode, message: string, hint?: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = new.target.name;
    this.code = code;
    this.hint = hint;
  }
}
