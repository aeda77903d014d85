/**
 * Debian's `docker-registry` (distribution 2.8) on 127.0.0.1: a free port, filesystem storage in a temp dir,
 * deletes enabled, no debug listener, no access log. Killed by `stop()` and when this process exits.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports.ts';

export interface LocalRegistryOptions {
  /** Log level of the registry (default `warn`). */
  logLevel?: 'error' | 'warn' | 'info' | 'debug';
  /**
   * The config's `auth:` section (YAML, ending in a newline), made once the registry's temp dir exists so it
   * can put files there (an htpasswd file, a token root certificate). Default: no auth.
   */
  auth?: (dir: string) => Promise<string>;
  /** Run by `stop()` after the registry is gone, and when it never came up (e.g. stop a token server). */
  onStop?: () => Promise<void>;
  /** Serve HTTPS with this certificate and key (PEM files); `url` is then `https://127.0.0.1:<port>`. */
  tls?: { certificate: string; key: string };
}

export interface LocalRegistry {
  /** `http://127.0.0.1:<port>` (`https://` with `tls`) */
  url: string;
  /** `127.0.0.1:<port>`, what goes in an image reference. */
  host: string;
  port: number;
  /** Temp dir holding config.yml, storage and the registry's log. */
  dir: string;
  /** What the registry wrote to stdout/stderr so far. */
  logs(): string;
  /**
   * CPU time the registry process has used so far (user + system, seconds, from `/proc/PID/stat`): what the
   * requests sent to it cost on the registry's side of a benchmark.
   */
  cpuSeconds(): number;
  /** Stop the registry and remove its temp dir. */
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

/** The registry's config.yml for `port`, storing under `dir`/data. */
export function registryConfig(o: {
  dir: string;
  port: number;
  logLevel?: LocalRegistryOptions['logLevel'];
  auth?: string;
  secret?: string;
  tls?: LocalRegistryOptions['tls'];
}): string {
  return [
    'version: 0.1',
    'log:',
    `  level: ${o.logLevel ?? 'warn'}`,
    '  accesslog:',
    '    disabled: true',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${join(o.dir, 'data')}`,
    '  delete:',
    '    enabled: true',
    '  maintenance:',
    '    uploadpurging:',
    '      enabled: false',
    'http:',
    `  addr: 127.0.0.1:${o.port}`,
    `  secret: ${o.secret ?? randomBytes(16).toString('hex')}`,
    ...(o.tls ? ['  tls:', `    certificate: ${o.tls.certificate}`, `    key: ${o.tls.key}`] : []),
    o.auth ?? '',
  ].join('\n');
}

/** Start `docker-registry` on a free loopback port (three tries); throws with its log when it does not come up. */
export async function startLocalRegistry(options: LocalRegistryOptions = {}): Promise<LocalRegistry> {
  const dir = await mkdtemp(join(tmpdir(), 'scratchpack-registry-'));
  const auth = options.auth ? await options.auth(dir) : '';
  await mkdir(join(dir, 'data'));

  let lastError: Error | undefined;
  for (let tries = 0; tries < 3; tries++) {
    const port = await freePort();
    const config = registryConfig({
      dir,
      port,
      auth,
      ...(options.logLevel && { logLevel: options.logLevel }),
      ...(options.tls && { tls: options.tls }),
    });
    await writeFile(join(dir, 'config.yml'), config);
    // The registry logs to a file, not a pipe: a caller that blocks its event loop (spawnSync of the CLI)
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
    const url = `${options.tls ? 'https' : 'http'}://127.0.0.1:${port}`;
    const ready = await waitReady(url, exited, options.tls && readFileSync(options.tls.certificate));
    if (ready) {
      const stop = async () => {
        if (child.exitCode === null && child.signalCode === null) {
          child.kill('SIGTERM');
          const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
          await exited;
          clearTimeout(timer);
        }
        running.delete(child);
        await options.onStop?.();
        await rm(dir, { recursive: true, force: true });
      };
      const cpuSeconds = () => processCpuSeconds(child.pid);
      return { url, host: `127.0.0.1:${port}`, port, dir, logs: readLog, cpuSeconds, stop };
    }
    child.kill('SIGKILL');
    running.delete(child);
    lastError = new Error(`docker-registry did not come up on ${url}:\n${readLog().slice(-2000)}`);
  }
  await options.onStop?.();
  await rm(dir, { recursive: true, force: true });
  throw lastError;
}

/** Clock ticks per second of `/proc/PID/stat` times (`getconf CLK_TCK`: 100 on every Linux architecture). */
const CLOCK_TICKS = 100;

/** utime + stime of a running process, in seconds. */
function processCpuSeconds(pid: number | undefined): number {
  if (pid === undefined) throw new Error('docker-registry has no process id');
  // The fields after the command name, which is in parentheses and may hold spaces: utime and stime are
  // the 14th and 15th fields of the line, the 12th and 13th after `) `.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(') ') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}

/** The status of `GET <url>/v2/`, trusting `ca` for an https URL. */
async function probe(url: string, ca: Buffer | undefined): Promise<number> {
  if (!ca) {
    const res = await fetch(`${url}/v2/`);
    await res.body?.cancel();
    return res.status;
  }
  return new Promise((resolve, reject) => {
    const req = httpsRequest(`${url}/v2/`, { ca }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}

async function waitReady(url: string, exited: Promise<number | null>, ca?: Buffer): Promise<boolean> {
  let gone = false;
  void exited.then(() => {
    gone = true;
  });
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline && !gone) {
    try {
      const status = await probe(url, ca);
      if (status === 200 || status === 401) return true;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}
