/** Every error of @scratchpack/registry is a ScratchpackError, its code still each subclass's own. */
import { errorJson, ScratchpackError } from '@scratchpack/oci';
import { describe, expect, it } from 'vitest';
import {
  ConnectionError,
  CredentialsError,
  ImageError,
  InvalidReferenceError,
  ProtocolError,
  RegistryClientError,
  RegistryError,
  TimeoutError,
} from '../src/index.ts';

describe('the error contract of @scratchpack/registry', () => {
  const cases: [RegistryClientError, string, string][] = [
    [
      new InvalidReferenceError('A:b', 'uppercase', 'lowercase it'),
      'REFERENCE_INVALID',
      'InvalidReferenceError',
    ],
    [new RegistryError({ status: 503, method: 'GET', url: 'http://h/v2/' }), 'UNAVAILABLE', 'RegistryError'],
    [
      new ConnectionError('GET', 'http://h/v2/', Object.assign(new Error('x'), { code: 'ECONNRESET' })),
      'CONNECTION_RESET',
      'ConnectionError',
    ],
    [new ProtocolError('PROTOCOL_VIOLATION', 'no Location', 'retry'), 'PROTOCOL_VIOLATION', 'ProtocolError'],
    [new CredentialsError('bad config', 'fix it'), 'CREDENTIALS_ERROR', 'CredentialsError'],
    [new ImageError('PLATFORM_NOT_FOUND', 'no linux/s390x', 'pick one'), 'PLATFORM_NOT_FOUND', 'ImageError'],
    [new TimeoutError('GET', 'http://h/v2/', 'the headers', 1000), 'REGISTRY_TIMEOUT', 'TimeoutError'],
  ];

  it('makes each error class a ScratchpackError and a RegistryClientError with its code and name', () => {
    for (const [e, code, name] of cases) {
      expect(e).toBeInstanceOf(ScratchpackError);
      expect(e).toBeInstanceOf(RegistryClientError);
      expect(e.code).toBe(code);
      expect(e.name).toBe(name);
      expect(typeof e.hint).toBe('string');
    }
  });

  it('gives --json code, message, hint and temporary', () => {
    const [e] = cases[1]!;
    expect(errorJson(e)).toEqual({
      code: 'UNAVAILABLE',
      message: 'GET http://h/v2/: 503 UNAVAILABLE',
      hint: 'the registry is temporarily unavailable: retry later',
      temporary: true,
    });
    expect(errorJson(cases[2]![0]).temporary).toBe(true);
    expect(errorJson(cases[0]![0])).toMatchObject({
      code: 'REFERENCE_INVALID',
      hint: 'lowercase it',
      temporary: false,
    });
  });
});
