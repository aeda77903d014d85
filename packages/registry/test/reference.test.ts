import { describe, expect, it } from 'vitest';
import {
  apiHost,
  formatReference,
  InvalidReferenceError,
  isLoopbackHost,
  manifestReference,
  parseReference,
} from '../src/index.ts';

const D = `sha256:${'a'.repeat(64)}`;

describe('parseReference', () => {
  it.each([
    ['alpine', 'docker.io', 'library/alpine', undefined, undefined],
    ['alpine:3.20', 'docker.io', 'library/alpine', '3.20', undefined],
    ['docker.io/alpine', 'docker.io', 'library/alpine', undefined, undefined],
    ['index.docker.io/library/alpine', 'docker.io', 'library/alpine', undefined, undefined],
    ['registry-1.docker.io/me/app:v1', 'docker.io', 'me/app', 'v1', undefined],
    ['me/app', 'docker.io', 'me/app', undefined, undefined],
    ['ghcr.io/org/team/app:1.0.0', 'ghcr.io', 'org/team/app', '1.0.0', undefined],
    ['localhost/app', 'localhost', 'app', undefined, undefined],
    ['localhost:5000/app:latest', 'localhost:5000', 'app', 'latest', undefined],
    ['127.0.0.1:5000/x', '127.0.0.1:5000', 'x', undefined, undefined],
    ['[::1]:5000/x:t', '[::1]:5000', 'x', 't', undefined],
    [`ghcr.io/org/app@${D}`, 'ghcr.io', 'org/app', undefined, D],
    [`ghcr.io/org/app:1@${D}`, 'ghcr.io', 'org/app', '1', D],
    [
      'my-registry.example.com:443/a_b/c__d/e-f.g:_T.1-x',
      'my-registry.example.com:443',
      'a_b/c__d/e-f.g',
      '_T.1-x',
      undefined,
    ],
    ['localhost:5000', 'docker.io', 'library/localhost', '5000', undefined],
  ])('%s', (input, registry, repository, tag, digest) => {
    const ref = parseReference(input);
    expect(ref).toEqual({
      registry,
      repository,
      ...(tag !== undefined && { tag }),
      ...(digest !== undefined && { digest }),
    });
  });

  it.each([
    ['', /empty/],
    ['ghcr.io/', /missing repository/],
    ['ghcr.io/Org/App', /lowercase/],
    ['app:', /invalid tag/],
    ['app:-bad', /invalid tag/],
    [`app:${'x'.repeat(129)}`, /invalid tag/],
    ['app@sha256:abc', /invalid digest/],
    [`app@sha256:${'A'.repeat(64)}`, /invalid digest/],
    ['a..b', /component/],
    ['a..b/c', /registry host/],
    ['app/', /component/],
    ['-app', /component/],
    ['https://ghcr.io/x', /URL scheme/],
    ['ghcr.io/x y', /whitespace/],
    ['foo:bar/baz', /registry host/],
    ['127.0.0.1:99999/x', /port 99999 of registry host "127.0.0.1:99999" is out of range/],
    ['localhost:0/x', /port 0 of registry host/],
    ['[::1]:70000/x:1', /port 70000/],
  ])('rejects %j', (input, why) => {
    let err: unknown;
    try {
      parseReference(input);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InvalidReferenceError);
    const e = err as InvalidReferenceError;
    expect(e.code).toBe('REFERENCE_INVALID');
    expect(e.message).toMatch(why);
    expect(e.hint.length).toBeGreaterThan(5);
  });

  it('accepts the ports at both ends of the range, and says how to write one that is not', () => {
    expect(parseReference('localhost:1/x').registry).toBe('localhost:1');
    expect(parseReference('localhost:65535/x').registry).toBe('localhost:65535');
    expect(() => parseReference('localhost:99999/x')).toThrow(
      expect.objectContaining({ hint: 'a port is 1 to 65535, e.g. localhost:5000' }),
    );
  });

  it('suggests the lowercase spelling', () => {
    expect(() => parseReference('ghcr.io/MyOrg/App:v1')).toThrow(
      expect.objectContaining({ hint: 'use ghcr.io/myorg/app:v1' }),
    );
  });
});

describe('formatting and hosts', () => {
  it('round-trips canonical forms', () => {
    for (const s of ['docker.io/library/alpine:3', 'localhost:5000/x@' + D, 'ghcr.io/a/b:c@' + D]) {
      expect(formatReference(parseReference(s))).toBe(s);
    }
  });

  it('picks the manifest reference: digest, then tag, then latest', () => {
    expect(manifestReference(parseReference(`x:1@${D}`))).toBe(D);
    expect(manifestReference(parseReference('x:1'))).toBe('1');
    expect(manifestReference(parseReference('x'))).toBe('latest');
  });

  it('maps Docker Hub to its API host', () => {
    expect(apiHost('docker.io')).toBe('registry-1.docker.io');
    expect(apiHost('ghcr.io')).toBe('ghcr.io');
  });

  it.each([
    ['localhost', true],
    ['localhost:5000', true],
    ['127.0.0.1:5000', true],
    ['127.255.3.4', true],
    ['[::1]:5000', true],
    ['127.0.0.256', false],
    ['128.0.0.1', false],
    ['localhost.example.com', false],
    ['ghcr.io', false],
    ['[::2]:5000', false],
  ])('isLoopbackHost(%s) = %s', (host, loopback) => {
    expect(isLoopbackHost(host)).toBe(loopback);
  });
});
