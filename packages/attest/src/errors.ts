/** Typed errors of @scratchpack/attest: a stable `code` and a `hint`, printed once by the CLI. */
import { ScratchpackError } from '@scratchpack/oci';

export type AttestErrorCode = 'ATTEST_BAD_KEY' | 'ATTEST_VERIFY_FAILED' | 'ATTEST_NOT_FOUND';

export class AttestError extends ScratchpackError {
  declare readonly code: AttestErrorCode;
  constructor(code: AttestErrorCode, message: string, hint?: string, cause?: unknown) {
    super(code, message, { hint, cause });
  }
}
