import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports.ts';
import { startTokenServer, type TokenServer, type TokenServerOptions } from './token-server.ts';

/**
 * A real registry for integration tests: Debian's `docker-registry` (distribution 2.8) on 127.0.0.1, filesystem
 * storage in a temp dir, deletes enabled, no debug listener, optional htpasswd (bcrypt via `htpasswd -Bbn`) or
 * token auth (an in-process token server, see token-server.ts). Killed by `stop()` and when the test process exits.
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
}

export interface RunningRegistry {
  /** `http://127.0.0.1:<port>` */
  url: string;
  /** `127.0.0.1:<port>`, what goes in an image reference. */
  host: string;
  port: number;
  /** Temp dir holding config.yml, storage and the htpasswd file. */
  dir: string;
  users: Record<string, string>;
  tokenServer: TokenServer | undefined;
  /** What the registry wrote to stdout/stderr so far. */
  logs(): string;
  stop(): Promise<void>;
}

const running = new Set<ChildProcess>();
let exitHookInstalled = false;

function killAllOnExit(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const child of running) child.kill('SIGKILL');
  });
}

export const DEFAULT_USERS: Record<string, string> = { tester: 'secret-pass-1' };

export async function startRegistry(options: StartRegistryOptions = {}): Promise<RunningRegistry> {
  const dir = await mkdtemp(join(tmpdir(), 'scratchpack-registry-'));
  const users = options.users ?? DEFAULT_USERS;
  let tokenServer: TokenServer | undefined;
  let authYaml = '';
  if (options.auth === 'htpasswd') {
    const lines = Object.entries(users).map(([u, p]) =>
      execFileSync('htpasswd', ['-Bbn', u, p], { encoding: 'utf8' }).trim(),
    );
    await writeFile(join(dir, 'htpasswd'), `${lines.join('\n')}\n`);
    authYaml = `auth:\n  htpasswd:\n    realm: scratchpack-test\n    path: ${join(dir, 'htpasswd')}\n`;
  } else if (options.auth === 'token') {
    tokenServer = await startTokenServer({
      service: 'scratchpack-test-registry',
      issuer: 'scratchpack-test-issuer',
      users,
      ...(options.anonymousPull !== undefined && { anonymousPull: options.anonymousPull }),
      ...(options.tokenLifetimeS !== undefined && { lifetimeS: options.tokenLifetimeS }),
      ...(options.tokenField !== undefined && { field: options.tokenField }),
    });
    await writeFile(join(dir, 'token-root.crt'), tokenServer.certPem);
    authYaml = [
      'auth:',
      '  token:',
      `    realm: ${tokenServer.realm}`,
      `    service: ${tokenServer.service}`,
      `    issuer: ${tokenServer.issuer}`,
      `    rootcertbundle: ${join(dir, 'token-root.crt')}`,
      '',
    ].join('\n');
  }
  await mkdir(join(dir, 'data'));

  let lastError: Error | undefined;
  for (let tries = 0; tries < 3; tries++) {
    const port = await freePort();
    const config = [
      'version: 0.1',
      'log:',
      `  level: ${options.logLevel ?? 'warn'}`,
      '  accesslog:',
      '    disabled: true',
      'storage:',
      '  filesystem:',
      `    rootdirectory: ${join(dir, 'data')}`,
      '  delete:',
      '    enabled: true',
      '  maintenance:',
      '    uploadpurging:',
      '      enabled: false',
      'http:',
      `  addr: 127.0.0.1:${port}`,
      `  secret: ${randomBytes(16).toString('hex')}`,
      authYaml,
    ].join('\n');
    await writeFile(join(dir, 'config.yml'), config);
    // The registry logs to a file, not a pipe: a test that blocks its event loop (spawnSync of the CLI)
    // would otherwise stop draining the pipe, and a chatty registry would stall on a full pipe.
    const logFile = join(dir, `registry-${port}.log`);
    const log = openSync(logFile, 'a');
    const child = spawn('docker-registry', ['serve', join(dir, 'config.yml')], {
      stdio: ['ignore', log, log],
    });
    closeSync(log);
    running.add(child);
    killAllOnExit();
    const readLog = () => {
      try {
        return readFileSync(logFile, 'utf8');
      } catch {
        return '';
      }
    };
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const url = `http://127.0.0.1:${port}`;
    const ready = await waitReady(url, exited);
    if (ready) {
      const stop = async () => {
        if (child.exitCode === null && child.signalCode === null) {
          child.kill('SIGTERM');
          const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
          await exited;
          clearTimeout(timer);
        }
        running.delete(child);
        await tokenServer?.stop();
        await rm(dir, { recursive: true, force: true });
      };
      return { url, host: `127.0.0.1:${port}`, port, dir, users, tokenServer, logs: readLog, stop };
    }
    child.kill('SIGKILL');
    running.delete(child);
    lastError = new Error(`docker-registry did not come up on ${url}:\n${readLog().slice(-2000)}`);
  }
  await tokenServer?.stop();
  await rm(dir, { recursive: true, force: true });
  throw lastError;
}

async function waitReady(url: string, exited: Promise<number | null>): Promise<boolean> {
  let gone = false;
  void exited.then(() => {
    gone = true;
  });
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline && !gone) {
    try {
      const res = await fetch(`${url}/v2/`);
      await res.body?.cancel();
      if (res.status === 200 || res.status === 401) return true;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}
