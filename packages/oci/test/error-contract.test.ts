/** Every error of @scratchpack/oci is a ScratchpackError: a code, a hint, `temporary`, and one --json shape. */
import { describe, expect, it } from 'vitest';
import {
  AbortedError,
  errorJson,
  ImageNotFoundError,
  InvalidArchiveError,
  InvalidDigestError,
  InvalidImageNameError,
  LockTimeoutError,
  OciError,
  ScratchpackError,
  StoreError,
} from '../src/index.ts';

describe('the error contract of @scratchpack/oci', () => {
  it('makes OciError, StoreError and AbortedError ScratchpackErrors with their codes', () => {
    const cases: [ScratchpackError, string][] = [
      [new InvalidDigestError('x'), 'OCI_INVALID_DIGEST'],
      [new LockTimeoutError('/l/index.json.lock', 42), 'OCI_LOCK_TIMEOUT'],
      [new ImageNotFoundError('hello', []), 'STORE_IMAGE_NOT_FOUND'],
      [new InvalidImageNameError('A', 'uppercase'), 'STORE_INVALID_NAME'],
      [new InvalidArchiveError('x.tar', 'no index.json'), 'STORE_INVALID_ARCHIVE'],
      [new AbortedError('push'), 'ABORTED'],
    ];
    for (const [e, code] of cases) {
      expect(e).toBeInstanceOf(ScratchpackError);
      expect(e).toBeInstanceOf(Error);
      expect(e.code).toBe(code);
      expect(e.name).toBe(e.constructor.name);
      expect(e.temporary).toBe(false);
    }
    expect(new InvalidDigestError('x')).toBeInstanceOf(OciError);
    expect(new ImageNotFoundError('hello', [])).toBeInstanceOf(StoreError);
  });

  it('keeps the store errors’ messages and hints', () => {
    const e = new LockTimeoutError('/l/index.json.lock', 42);
    expect(e.message).toBe('timed out waiting for /l/index.json.lock (held by process 42)');
    expect(e.hint).toBe(
      'another scratchpack is writing this layout; wait for process 42 or stop it (its lock is removed once it is gone)',
    );
    expect(errorJson(e)).toEqual({
      code: 'OCI_LOCK_TIMEOUT',
      message: e.message,
      hint: e.hint,
      temporary: false,
    });
  });

  it('gives --json the same four fields for every error, hint left out when there is none', () => {
    const e = new ScratchpackError('X_FAILED', 'x failed', { temporary: true, cause: new Error('inner') });
    expect(errorJson(e)).toEqual({ code: 'X_FAILED', message: 'x failed', temporary: true });
    expect(e.cause).toBeInstanceOf(Error);
  });
});
