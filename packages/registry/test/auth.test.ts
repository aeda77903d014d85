import { describe, expect, it } from 'vitest';
import { parseWwwAuthenticate, pushScopes } from '../src/index.ts';

describe('parseWwwAuthenticate', () => {
  it('parses a Bearer challenge with a comma inside a quoted scope', () => {
    expect(
      parseWwwAuthenticate(
        'Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull,push"',
      ),
    ).toEqual([
      {
        scheme: 'bearer',
        params: {
          realm: 'https://auth.example/token',
          service: 'registry.example',
          scope: 'repository:a/b:pull,push',
        },
      },
    ]);
  });

  it('parses Basic, spaces around "=", unquoted values and escapes', () => {
    expect(parseWwwAuthenticate('Basic realm = "Registry \\"x\\" Realm"')).toEqual([
      { scheme: 'basic', params: { realm: 'Registry "x" Realm' } },
    ]);
    expect(parseWwwAuthenticate('bearer Realm=https://a/t , service=svc')).toEqual([
      { scheme: 'bearer', params: { realm: 'https://a/t', service: 'svc' } },
    ]);
  });

  it('splits several challenges in one header', () => {
    const got = parseWwwAuthenticate(
      'Basic realm="a, b", Bearer realm="https://t",service="s",error="invalid_token"',
    );
    expect(got).toEqual([
      { scheme: 'basic', params: { realm: 'a, b' } },
      { scheme: 'bearer', params: { realm: 'https://t', service: 's', error: 'invalid_token' } },
    ]);
  });

  it('survives a token68 and garbage', () => {
    expect(parseWwwAuthenticate('Negotiate abc==, Basic realm="r"')).toEqual([
      { scheme: 'negotiate', params: {} },
      { scheme: 'basic', params: { realm: 'r' } },
    ]);
    expect(parseWwwAuthenticate('')).toEqual([]);
  });
});

describe('scopes', () => {
  it('asks pull,push on the target and pull on the mount source', () => {
    expect(pushScopes('org/app')).toEqual(['repository:org/app:pull,push']);
    expect(pushScopes('org/app', 'org/base')).toEqual([
      'repository:org/app:pull,push',
      'repository:org/base:pull',
    ]);
    expect(pushScopes('org/app', 'org/app')).toEqual(['repository:org/app:pull,push']);
  });
});
