import { ScratchpackError } from '@scratchpack/oci';

/**
 * Typed errors of @scratchpack/base: each names the Debian package (or file) concerned and says what to do.
 * The CLI prints them as one line plus the hint.
 */
export type BaseErrorCode =
  | 'BASE_LOCK_INVALID'
  | 'BASE_NO_MIRROR'
  | 'BASE_FETCH_FAILED'
  | 'BASE_DEB_MISMATCH'
  | 'BASE_DEB_INVALID'
  | 'BASE_PACKAGE_NOT_FOUND';

export class BaseError extends ScratchpackError {
  declare readonly code: BaseErrorCode;

  constructor(
    code: BaseErrorCode,
    message: string,
    options: { hint?: string; temporary?: boolean; cause?: unknown } = {},
  ) {
    super(code, message, options);
  }
}
