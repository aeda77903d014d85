/** AttestError is a ScratchpackError: code, hint and cause as given. */
import { ScratchpackError } from '@scratchpack/oci';
import { describe, expect, it } from 'vitest';
import { AttestError } from '../src/index.ts';

describe('the error contract of @scratchpack/attest', () => {
  it('makes AttestError a ScratchpackError with its code, hint and cause', () => {
    const cause = new Error('bad PEM');
    const e = new AttestError('ATTEST_BAD_KEY', 'key.pem is not a key', 'pass a PEM key', cause);
    expect(e).toBeInstanceOf(ScratchpackError);
    expect(e).toMatchObject({
      code: 'ATTEST_BAD_KEY',
      message: 'key.pem is not a key',
      hint: 'pass a PEM key',
    });
    expect(e.name).toBe('AttestError');
    expect(e.cause).toBe(cause);
    expect(new AttestError('ATTEST_NOT_FOUND', 'none').hint).toBeUndefined();
  });
});
