import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  describeWithTools,
  type RunningRegistry,
  startFaultProxy,
  startRegistry,
  tempDir,
} from '@scratchpack/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pull, push, RegistryError } from '../src/index.ts';
import { blobCount, testIndex } from './images.ts';

const fast = { retry: { baseDelayMs: 1, sleep: async () => {} } };

describeWithTools(['docker-registry', 'skopeo', 'htpasswd'], 'authentication against docker-registry', () => {
  let tmp: { path: string; cleanup: () => Promise<void> };
  beforeAll(async () => {
    tmp = await tempDir('scratchpack-registry-auth-');
  });
  afterAll(async () => {
    await tmp?.cleanup();
  });

  describe('htpasswd (Basic)', () => {
    let registry: RunningRegistry;
    beforeAll(async () => {
      registry = await startRegistry({ auth: 'htpasswd' });
    });
    afterAll(async () => {
      await registry?.stop();
    });

    it('pushes with the right credentials', async () => {
      const index = await testIndex({ salt: 'basic' });
      const result = await push(index, `${registry.host}/auth/basic:latest`, {
        ...fast,
        username: 'tester',
        password: registry.users.tester!,
      });
      expect(result.uploaded).toBe(await blobCount(index));
    });

    it('finds credentials in $DOCKER_CONFIG/config.json', async () => {
      const dir = join(tmp.path, 'docker-config');
      await mkdir(dir, { recursive: true });
      const auth = Buffer.from(`tester:${registry.users.tester}`).toString('base64');
      await writeFile(join(dir, 'config.json'), JSON.stringify({ auths: { [registry.host]: { auth } } }));
      const result = await pull(`${registry.host}/auth/basic:latest`, join(tmp.path, 'basic-pull'), {
        ...fast,
        credentialsHost: { env: { DOCKER_CONFIG: dir } },
      });
      expect(result.digest).toBe((await (await testIndex({ salt: 'basic' })).digest()).toString());
    });

    it('wrong or missing credentials: UNAUTHORIZED with a hint, the password nowhere in the error', async () => {
      const index = await testIndex({ salt: 'basic' });
      const err = await push(index, `${registry.host}/auth/basic:latest`, {
        ...fast,
        username: 'tester',
        password: 'not-the-password',
      }).catch((e) => e);
      expect(err).toBeInstanceOf(RegistryError);
      expect(err).toMatchObject({ code: 'UNAUTHORIZED', status: 401, temporary: false });
      // Refused credentials and missing ones are told apart, each with what to do.
      expect(err.hint).toMatch(/refused the credentials from --username\/--password.*scratchpack login/);
      expect(JSON.stringify({ m: err.message, h: err.hint, e: err.errors })).not.toContain(
        'not-the-password',
      );

      const anonymous = await push(index, `${registry.host}/auth/basic:latest`, {
        ...fast,
        credential: null,
      }).catch((e) => e);
      expect(anonymous).toMatchObject({ code: 'UNAUTHORIZED' });
      expect(anonymous.hint).toMatch(
        /no credentials for .*scratchpack login .*--password-stdin.*REGISTRY_USERNAME/,
      );
    });
  });

  describe('token (Bearer)', () => {
    let registry: RunningRegistry;
    beforeAll(async () => {
      registry = await startRegistry({ auth: 'token', anonymousPull: true, tokenField: 'access_token' });
    });
    afterAll(async () => {
      await registry?.stop();
    });

    it('pushes with a token for repository:<name>:pull,push, fetched once and reused', async () => {
      const token = registry.tokenServer!;
      token.requests.length = 0;
      const index = await testIndex({ salt: 'token' });
      const result = await push(index, `${registry.host}/auth/token:latest`, {
        ...fast,
        username: 'tester',
        password: registry.users.tester!,
      });
      expect(result.uploaded).toBe(await blobCount(index));
      expect(token.requests).toEqual([
        { user: 'tester', scopes: ['repository:auth/token:pull,push'], status: 200 },
      ]);
    });

    it('asks pull on the mount source too, and mounts', async () => {
      const token = registry.tokenServer!;
      token.requests.length = 0;
      const index = await testIndex({ salt: 'token' });
      const result = await push(index, `${registry.host}/auth/mounted:latest`, {
        ...fast,
        from: 'auth/token',
        username: 'tester',
        password: registry.users.tester!,
      });
      expect(result.mounted).toBe(await blobCount(index));
      expect(token.requests[0]?.scopes).toEqual([
        'repository:auth/mounted:pull,push',
        'repository:auth/token:pull',
      ]);
    });

    it('pulls anonymously when the token server allows it', async () => {
      const result = await pull(`${registry.host}/auth/token:latest`, join(tmp.path, 'token-pull'), {
        ...fast,
        credential: null,
      });
      expect(result.digest).toBe((await (await testIndex({ salt: 'token' })).digest()).toString());
    });

    it('gets a fresh token once when the registry rejects the current one mid-push', async () => {
      const proxy = await startFaultProxy(registry.url, [
        {
          method: 'PUT',
          path: '/manifests/',
          action: {
            status: 401,
            headers: {
              'www-authenticate': `Bearer realm="${registry.tokenServer!.realm}",service="${registry.tokenServer!.service}",error="invalid_token"`,
            },
            body: JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'token expired' }] }),
          },
        },
      ]);
      try {
        const token = registry.tokenServer!;
        token.requests.length = 0;
        const index = await testIndex({ salt: 'token-expiry' });
        const result = await push(index, `${proxy.host}/auth/expiry:latest`, {
          ...fast,
          username: 'tester',
          password: registry.users.tester!,
        });
        expect(result.tags).toEqual(['latest']);
        expect(proxy.faults()).toHaveLength(1);
        expect(token.requests).toHaveLength(2);
      } finally {
        await proxy.stop();
      }
    });

    it('wrong credentials at the token server: UNAUTHORIZED', async () => {
      const err = await push(await testIndex({ salt: 'token' }), `${registry.host}/auth/token:latest`, {
        ...fast,
        username: 'tester',
        password: 'nope-nope',
      }).catch((e) => e);
      expect(err).toMatchObject({ code: 'UNAUTHORIZED' });
      expect(err.message).not.toContain('nope-nope');
    });

    it('anonymous push is refused with UNAUTHORIZED or DENIED', async () => {
      const err = await push(await testIndex({ salt: 'anon' }), `${registry.host}/auth/anon:latest`, {
        ...fast,
        credential: null,
      }).catch((e) => e);
      expect(['UNAUTHORIZED', 'DENIED']).toContain(err.code);
    });
  });
});
