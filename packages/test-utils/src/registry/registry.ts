import { execFileSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type LocalRegistry, startLocalRegistry } from '@scratchpack/local-registry';
import { startTokenServer, type TokenServer, type TokenServerOptions } from './token-server.ts';

/**
 * A real registry for integration tests: Debian's `docker-registry` on 127.0.0.1 (@scratchpack/local-registry:
 * filesystem storage in a temp dir, deletes enabled, killed by `stop()` and when the test process exits), with
 * optional htpasswd (bcrypt via `htpasswd -Bbn`) or token auth (an in-process token server, see token-server.ts).
 */
export interface StartRegistryOptions {
  auth?: 'htpasswd' | 'token';
  /** user → password for either auth mode (default `{ tester: 'secret-pass-1' }`). */
  users?: Record<string, string>;
  /** Token mode: let anonymous requests pull. */
  anonymousPull?: boolean;
  /** Token mode: token lifetime in seconds. */
  tokenLifetimeS?: number;
  /** Token mode: which field the token comes in. */
  tokenField?: TokenServerOptions['field'];
  /** Log level of the registry (default `warn`). */
  logLevel?: 'error' | 'warn' | 'info' | 'debug';
  /** Serve HTTPS with this certificate and key (PEM files). */
  tls?: { certificate: string; key: string };
}

export interface RunningRegistry extends LocalRegistry {
  /** Temp dir holding config.yml, storage and the htpasswd file. */
  dir: string;
  users: Record<string, string>;
  tokenServer: TokenServer | undefined;
}

export const DEFAULT_USERS: Record<string, string> = { tester: 'secret-pass-1' };

export async function startRegistry(options: StartRegistryOptions = {}): Promise<RunningRegistry> {
  const users = options.users ?? DEFAULT_USERS;
  let tokenServer: TokenServer | undefined;
  const auth = async (dir: string): Promise<string> => {
    if (options.auth === 'htpasswd') {
      const lines = Object.entries(users).map(([u, p]) =>
        execFileSync('htpasswd', ['-Bbn', u, p], { encoding: 'utf8' }).trim(),
      );
      await writeFile(join(dir, 'htpasswd'), `${lines.join('\n')}\n`);
      return `auth:\n  htpasswd:\n    realm: scratchpack-test\n    path: ${join(dir, 'htpasswd')}\n`;
    }
    if (options.auth === 'token') {
      tokenServer = await startTokenServer({
        service: 'scratchpack-test-registry',
        issuer: 'scratchpack-test-issuer',
        users,
        ...(options.anonymousPull !== undefined && { anonymousPull: options.anonymousPull }),
        ...(options.tokenLifetimeS !== undefined && { lifetimeS: options.tokenLifetimeS }),
        ...(options.tokenField !== undefined && { field: options.tokenField }),
      });
      await writeFile(join(dir, 'token-root.crt'), tokenServer.certPem);
      return [
        'auth:',
        '  token:',
        `    realm: ${tokenServer.realm}`,
        `    service: ${tokenServer.service}`,
        `    issuer: ${tokenServer.issuer}`,
        `    rootcertbundle: ${join(dir, 'token-root.crt')}`,
        '',
      ].join('\n');
    }
    return '';
  };
  const registry = await startLocalRegistry({
    auth,
    onStop: async () => {
      await tokenServer?.stop();
    },
    ...(options.logLevel && { logLevel: options.logLevel }),
    ...(options.tls && { tls: options.tls }),
  });
  return { ...registry, users, tokenServer };
}
