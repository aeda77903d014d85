import { describe, expect, it } from 'vitest';
import { contentRange, parseUploadRange, resolveLocation, withDigestParam } from '../src/index.ts';

const D = `sha256:${'b'.repeat(64)}`;

describe('upload locations', () => {
  const req = new URL('https://ghcr.io/v2/org/app/blobs/uploads/');

  it('resolves a relative Location against the request URL', () => {
    expect(resolveLocation('/v2/org/app/blobs/uploads/abc', req, 'POST').href).toBe(
      'https://ghcr.io/v2/org/app/blobs/uploads/abc',
    );
    expect(resolveLocation('abc?x=1', req, 'POST').href).toBe(
      'https://ghcr.io/v2/org/app/blobs/uploads/abc?x=1',
    );
  });

  it('keeps an absolute Location (another host)', () => {
    expect(resolveLocation('https://upload.example/u/1', req, 'POST').href).toBe(
      'https://upload.example/u/1',
    );
  });

  it('fails clearly without a Location', () => {
    expect(() => resolveLocation(null, req, 'POST')).toThrow(/without a Location/);
  });

  it('appends digest= with ? or &', () => {
    expect(withDigestParam(new URL('http://h/v2/a/blobs/uploads/u1'), D).href).toBe(
      `http://h/v2/a/blobs/uploads/u1?digest=${encodeURIComponent(D)}`,
    );
    const withState = withDigestParam(new URL('http://h/v2/a/blobs/uploads/u1?_state=abc%3D&x=1'), D);
    expect(withState.search).toBe(`?_state=abc%3D&x=1&digest=${encodeURIComponent(D)}`);
    expect(withState.searchParams.get('digest')).toBe(D);
  });
});

describe('ranges', () => {
  it('formats Content-Range inclusive without bytes=', () => {
    expect(contentRange(0, 1024)).toBe('0-1023');
    expect(contentRange(1024, 1)).toBe('1024-1024');
  });

  it('parses the session Range (both spellings) into the next offset', () => {
    expect(parseUploadRange('0-1023')).toBe(1024);
    expect(parseUploadRange('bytes=0-1023')).toBe(1024);
    expect(parseUploadRange('0-0')).toBe(0);
    expect(parseUploadRange(null)).toBeUndefined();
    expect(parseUploadRange('garbage')).toBeUndefined();
  });
});
