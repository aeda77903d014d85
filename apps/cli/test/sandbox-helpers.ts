/** Running the CLI as root or as an unprivileged user (uid 65534 through setpriv), for the sandbox tests. */
import { spawn } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { chmod, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type CliResult, cliBin, repoRoot } from './helpers.ts';

export type As = 'root' | 'nobody';
export const NOBODY = 65534;

/** Only root can switch to another user; everyone else runs as themselves. */
export const canSwitchUser = process.getuid?.() === 0;

const made: string[] = [];

/** A home and TMPDIR the unprivileged user can write (tsx's cache and the private rootfs go there). */
export async function userDirs(as: As): Promise<{ home: string; tmp: string }> {
  const home = await mkdtemp(join(tmpdir(), `sandbox-${as}-`));
  made.push(home);
  const tmp = join(home, 'tmp');
  await mkdir(tmp);
  if (as === 'nobody') {
    const { chown } = await import('node:fs/promises');
    await chown(home, NOBODY, NOBODY);
    await chown(tmp, NOBODY, NOBODY);
  }
  await chmod(home, 0o755);
  return { home, tmp };
}

/** Remove every directory `userDirs` made (call in afterAll). */
export async function removeUserDirs(): Promise<void> {
  for (const d of made.splice(0)) await rm(d, { recursive: true, force: true });
}

export interface RunOpts {
  as?: As;
  dirs?: { home: string; tmp: string };
  env?: NodeJS.ProcessEnv;
  input?: string;
  /** A file streamed to the CLI's standard input (instead of `input`). */
  stdinFile?: string;
  timeout?: number;
  /** Wrap the command (e.g. `unshare … sh -c`): gets the argv, returns the argv to spawn. */
  wrap?: (argv: string[]) => string[];
  onSpawn?: (child: ReturnType<typeof spawn>) => void;
}

/** The real CLI (`bin/scratchpack.js`), optionally as uid/gid 65534 with no supplementary groups. */
export function cliAs(args: string[], o: RunOpts = {}): Promise<CliResult> {
  let argv = [process.execPath, cliBin, ...args];
  if (o.wrap) argv = o.wrap(argv);
  if (o.as === 'nobody')
    argv = ['setpriv', `--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', ...argv];
  const env = { ...process.env, ...(o.dirs ? { HOME: o.dirs.home, TMPDIR: o.dirs.tmp } : {}), ...o.env };
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { cwd: repoRoot, env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), o.timeout ?? 120_000);
    child.on('error', reject);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
    if (o.stdinFile) createReadStream(o.stdinFile).pipe(child.stdin);
    else child.stdin.end(o.input ?? '');
    o.onSpawn?.(child);
  });
}

/** Make `dir` and its parents (up to the temp root) traversable for the unprivileged user. */
export async function openUp(...dirs: string[]): Promise<void> {
  for (const d of dirs) await chmod(d, 0o755);
}
