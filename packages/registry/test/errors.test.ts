import { describe, expect, it } from 'vitest';
import { ConnectionError, RegistryError, redactText, redactUrl } from '../src/index.ts';

describe('redaction', () => {
  it('strips user-info and secret query values from URLs, keeps protocol parameters', () => {
    const u = redactUrl(
      `https://user:pw@reg.example/v2/a/blobs/uploads/u?_state=SECRETSTATE&digest=sha256:${'c'.repeat(64)}&X-Amz-Signature=sig`,
    );
    expect(u).not.toMatch(/user|pw@|SECRETSTATE|sig$/);
    expect(u).toContain(`digest=sha256:${'c'.repeat(64)}`);
    expect(u).toContain('_state=REDACTED');
    expect(redactUrl('https://auth.example/token?service=s&scope=repository:a:pull&access_token=abc')).toBe(
      'https://auth.example/token?service=s&scope=repository:a:pull&access_token=REDACTED',
    );
  });

  it('removes tokens, Basic/Bearer values, password pairs and known secrets from text', () => {
    const jwt = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln';
    const out = redactText(
      `Authorization: Bearer ${jwt} Basic dXNlcjpwYXNz password=hunter2 {"token":"t0k3n"} https://a:b@h/x my-secret-value`,
      ['my-secret-value'],
    );
    for (const s of [jwt, 'dXNlcjpwYXNz', 'hunter2', 't0k3n', 'a:b@', 'my-secret-value'])
      expect(out).not.toContain(s);
  });
});

describe('RegistryError', () => {
  it('takes the spec code, message and a hint; temporary from status or code', () => {
    const e = new RegistryError({
      status: 401,
      method: 'HEAD',
      url: 'https://u:p@r.example/v2/x/blobs/sha256:1?_state=s',
      errors: [{ code: 'UNAUTHORIZED', message: 'authentication required', detail: [] }],
    });
    expect(e.code).toBe('UNAUTHORIZED');
    expect(e.hint).toMatch(/scratchpack login.*--password-stdin.*REGISTRY_USERNAME/);
    expect(e.temporary).toBe(false);
    expect(e.message).toBe(
      'HEAD https://r.example/v2/x/blobs/sha256:1?_state=REDACTED: 401 UNAUTHORIZED: authentication required',
    );
    expect(new RegistryError({ status: 503, method: 'GET', url: 'http://h/' }).temporary).toBe(true);
    expect(new RegistryError({ status: 503, method: 'GET', url: 'http://h/' }).code).toBe('UNAVAILABLE');
    expect(new RegistryError({ status: 429, method: 'GET', url: 'http://h/' }).code).toBe('TOOMANYREQUESTS');
    expect(new RegistryError({ status: 403, method: 'GET', url: 'http://h/' }).code).toBe('DENIED');
    const unknown = new RegistryError({
      status: 400,
      method: 'GET',
      url: 'http://h/',
      errors: [{ code: 'WHATEVER' }],
    });
    expect(unknown.code).toBe('UNKNOWN');
  });

  it('scrubs secrets echoed by the registry', () => {
    const e = new RegistryError({
      status: 400,
      method: 'PUT',
      url: 'http://h/',
      errors: [{ code: 'MANIFEST_INVALID', message: 'bad manifest from tok-123456' }],
      secrets: ['tok-123456'],
    });
    expect(e.message).not.toContain('tok-123456');
  });
});

describe('ConnectionError', () => {
  it('names refused connections and asks whether the registry runs', () => {
    const cause = new TypeError('fetch failed', {
      cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }),
    });
    const e = new ConnectionError('GET', 'http://127.0.0.1:5999/v2/', cause);
    expect(e.code).toBe('CONNECTION_REFUSED');
    expect(e.hint).toBe('is the registry running at http://127.0.0.1:5999?');
    expect(e.temporary).toBe(true);
  });

  it('classifies resets, DNS and TLS failures', () => {
    const mk = (code: string) =>
      new ConnectionError('GET', 'https://h/', Object.assign(new Error(code), { code }));
    expect(mk('ECONNRESET').code).toBe('CONNECTION_RESET');
    expect(mk('UND_ERR_SOCKET').code).toBe('CONNECTION_RESET');
    expect(mk('ENOTFOUND').code).toBe('HOST_NOT_FOUND');
    expect(mk('ENOTFOUND').temporary).toBe(false);
    expect(mk('UNABLE_TO_VERIFY_LEAF_SIGNATURE').code).toBe('TLS_ERROR');
  });
});
