import { ScratchpackError, type ScratchpackErrorOptions } from '@scratchpack/oci';

export type TransportErrorCode =
  | 'TRANSPORT_INVALID_REFERENCE'
  | 'TRANSPORT_NOT_FOUND'
  | 'TRANSPORT_UNSUPPORTED'
  | 'TRANSPORT_CORRUPT_IMAGE'
  | 'TRANSPORT_LOGIN_FAILED';

/** A reference that names nothing usable, an operation a place cannot do, or an image whose bytes do not match. */
export class TransportError extends ScratchpackError {
  declare readonly code: TransportErrorCode;
  constructor(code: TransportErrorCode, message: string, options: ScratchpackErrorOptions = {}) {
    super(code, message, options);
  }
}
