import { describe, expect, it } from 'vitest';
import { CredentialsError, type CredentialsHost, dockerConfigKey, resolveCredentials } from '../src/index.ts';

const b64 = (s: string) => Buffer.from(s).toString('base64');

function fakeHost(opts: {
  env?: Record<string, string>;
  config?: unknown;
  helpers?: Record<string, (input: string) => { code: number | null; stdout: string; stderr?: string }>;
}) {
  const calls: { program: string; input: string }[] = [];
  const reads: string[] = [];
  const host: Partial<CredentialsHost> = {
    env: opts.env ?? {},
    homedir: () => '/home/u',
    readFile: async (path) => {
      reads.push(path);
      return opts.config === undefined ? undefined : JSON.stringify(opts.config);
    },
    runHelper: async (program, input) => {
      calls.push({ program, input });
      const h = opts.helpers?.[program];
      if (!h) return { code: null, stdout: '', stderr: 'ENOENT' };
      const r = h(input);
      return { code: r.code, stdout: r.stdout, stderr: r.stderr ?? '' };
    },
  };
  return { host, calls, reads };
}

describe('resolveCredentials', () => {
  it('explicit username/password win over everything', async () => {
    const { host, reads } = fakeHost({
      env: { REGISTRY_USERNAME: 'env', REGISTRY_PASSWORD: 'envpw' },
      config: { auths: { 'ghcr.io': { auth: b64('cfg:cfgpw') } } },
    });
    const c = await resolveCredentials('ghcr.io', { username: 'me', password: 'pw', host });
    expect(c).toEqual({ username: 'me', password: 'pw', source: '--username/--password' });
    expect(reads).toEqual([]);
  });

  it('reads $DOCKER_CONFIG/config.json auths (base64 user:pass, colons in the password)', async () => {
    const { host, reads } = fakeHost({
      env: { DOCKER_CONFIG: '/cfg', REGISTRY_USERNAME: 'env', REGISTRY_PASSWORD: 'envpw' },
      config: { auths: { 'https://ghcr.io/v1/': { auth: b64('cfg:pa:ss') } } },
    });
    const c = await resolveCredentials('ghcr.io', { host });
    expect(c).toMatchObject({ username: 'cfg', password: 'pa:ss' });
    expect(reads).toEqual(['/cfg/config.json']);
  });

  it('defaults to ~/.docker/config.json and supports username/password and identitytoken entries', async () => {
    const a = fakeHost({ config: { auths: { 'localhost:5000': { username: 'u', password: 'p' } } } });
    expect(await resolveCredentials('localhost:5000', { host: a.host })).toMatchObject({
      username: 'u',
      password: 'p',
    });
    expect(a.reads).toEqual(['/home/u/.docker/config.json']);
    const b = fakeHost({ config: { auths: { 'quay.io': { identitytoken: 'refresh-me' } } } });
    expect(await resolveCredentials('quay.io', { host: b.host })).toMatchObject({
      identityToken: 'refresh-me',
    });
  });

  it('finds Docker Hub under https://index.docker.io/v1/', async () => {
    const { host } = fakeHost({
      config: { auths: { 'https://index.docker.io/v1/': { auth: b64('hub:pw') } } },
    });
    expect(await resolveCredentials('docker.io', { host })).toMatchObject({
      username: 'hub',
      password: 'pw',
    });
    expect(dockerConfigKey('docker.io')).toBe('https://index.docker.io/v1/');
  });

  it('asks credHelpers[registry] first, then credsStore, then auths', async () => {
    const { host, calls } = fakeHost({
      config: {
        credHelpers: { 'ghcr.io': 'gh' },
        credsStore: 'desktop',
        auths: { 'ghcr.io': { auth: b64('file:pw') } },
      },
      helpers: {
        'docker-credential-gh': () => ({ code: 1, stdout: 'credentials not found in native keychain' }),
        'docker-credential-desktop': (input) => ({
          code: 0,
          stdout: JSON.stringify({ ServerURL: input, Username: 'store', Secret: 's3cret' }),
        }),
      },
    });
    const c = await resolveCredentials('ghcr.io', { host });
    expect(c).toEqual({ username: 'store', password: 's3cret', source: 'docker-credential-desktop' });
    expect(calls).toEqual([
      { program: 'docker-credential-gh', input: 'ghcr.io' },
      { program: 'docker-credential-desktop', input: 'ghcr.io' },
    ]);
  });

  it('passes the Docker Hub server URL to helpers and maps <token> to an identity token', async () => {
    const { host, calls } = fakeHost({
      config: { credsStore: 'pass' },
      helpers: {
        'docker-credential-pass': () => ({
          code: 0,
          stdout: JSON.stringify({ Username: '<token>', Secret: 'idt' }),
        }),
      },
    });
    expect(await resolveCredentials('docker.io', { host })).toMatchObject({ identityToken: 'idt' });
    expect(calls[0]?.input).toBe('https://index.docker.io/v1/');
  });

  it('skips a helper that is not installed, and reports one that fails', async () => {
    const missing = fakeHost({
      config: { credsStore: 'nope', auths: { 'ghcr.io': { auth: b64('a:b') } } },
    });
    expect(await resolveCredentials('ghcr.io', { host: missing.host })).toMatchObject({ username: 'a' });
    const broken = fakeHost({
      config: { credsStore: 'broken' },
      helpers: { 'docker-credential-broken': () => ({ code: 2, stdout: '', stderr: 'keychain locked' }) },
    });
    await expect(resolveCredentials('ghcr.io', { host: broken.host })).rejects.toBeInstanceOf(
      CredentialsError,
    );
  });

  it('falls back to REGISTRY_USERNAME/REGISTRY_PASSWORD, then GITHUB_TOKEN for ghcr.io only', async () => {
    const env = fakeHost({
      env: { REGISTRY_USERNAME: 'ci', REGISTRY_PASSWORD: 'pw' },
      config: { auths: {} },
    });
    expect(await resolveCredentials('ghcr.io', { host: env.host })).toMatchObject({
      username: 'ci',
      password: 'pw',
    });
    const gh = fakeHost({ env: { GITHUB_TOKEN: 'ghs_x', GITHUB_ACTOR: 'octo' } });
    expect(await resolveCredentials('ghcr.io', { host: gh.host })).toEqual({
      username: 'octo',
      password: 'ghs_x',
      source: 'GITHUB_TOKEN',
    });
    expect(await resolveCredentials('quay.io', { host: gh.host })).toBeUndefined();
  });

  it('refuses half-set credentials with a hint, and never echoes the secret', async () => {
    const { host } = fakeHost({ env: { REGISTRY_PASSWORD: 'hunter2' } });
    const err = await resolveCredentials('ghcr.io', { host }).catch((e) => e);
    expect(err).toBeInstanceOf(CredentialsError);
    expect(err.message).toMatch(/REGISTRY_USERNAME/);
    expect(err.message).not.toContain('hunter2');
    await expect(resolveCredentials('ghcr.io', { username: 'x', host })).rejects.toThrow(/password/);
  });

  it('anonymous when nothing matches', async () => {
    const { host } = fakeHost({ config: { auths: { 'other.io': { auth: b64('a:b') } } } });
    expect(await resolveCredentials('ghcr.io', { host })).toBeUndefined();
  });
});
