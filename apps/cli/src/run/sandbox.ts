/**
 * Run bwrap and report the program's exit status (128+N when killed by signal N). SIGINT/SIGTERM go to
 * the program (PID 1 of its namespace, as under Docker: it must handle them); a second one kills it. When
 * bwrap fails, a probe tells a sandbox that cannot be created (user namespaces off or restricted) from
 * the program's own failure, and the error says what to enable. Never falls back to the host.
 */
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { constants } from 'node:os';
import { ScratchpackError } from '@scratchpack/oci';

export class SandboxUnavailableError extends ScratchpackError {
  declare readonly code: 'SANDBOX_UNAVAILABLE';
  declare readonly hint: string;
  constructor(message: string, hint: string) {
    super('SANDBOX_UNAVAILABLE', message, { hint });
    this.name = 'SandboxUnavailableError';
  }
}

type ReadSysctl = (path: string) => string | undefined;
const readSysctl: ReadSysctl = (p) => {
  try {
    return readFileSync(p, 'utf8').trim();
  } catch {
    return undefined;
  }
};

/** What to enable so unprivileged user namespaces work, from the kernel's settings. */
export function usernsHint(read: ReadSysctl = readSysctl): string {
  const fixes: string[] = [];
  if (read('/proc/sys/kernel/unprivileged_userns_clone') === '0')
    fixes.push('sudo sysctl -w kernel.unprivileged_userns_clone=1');
  if (read('/proc/sys/kernel/apparmor_restrict_unprivileged_userns') === '1')
    fixes.push(
      'sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0 (Ubuntu 23.10+; or an AppArmor profile that allows userns for bwrap)',
    );
  if (read('/proc/sys/user/max_user_namespaces') === '0')
    fixes.push('sudo sysctl -w user.max_user_namespaces=10000');
  const how = fixes.length
    ? `enable unprivileged user namespaces: ${fixes.join('; ')}`
    : 'enable unprivileged user namespaces (inside a container: allow nested namespaces, e.g. a seccomp/AppArmor profile that permits unshare/clone with CLONE_NEWUSER)';
  return `${how}. \`--no-sandbox\` runs the program on the host instead (unsafe: it sees and can change your files)`;
}

/** Can bwrap create the namespaces at all? Undefined when yes, bwrap's complaint when not. */
export function probeSandbox(bwrap: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const r = spawnSync(
    bwrap,
    [
      '--unshare-user',
      '--unshare-ipc',
      '--unshare-pid',
      '--unshare-uts',
      '--unshare-net',
      '--ro-bind',
      '/',
      '/',
      '--',
      bwrap,
      '--version',
    ],
    { env, encoding: 'utf8', timeout: 20_000 },
  );
  if (r.status === 0) return undefined;
  return (r.stderr || r.error?.message || `exit ${r.status}`).trim().split('\n')[0];
}

/** Run `bwrap args` with stdio passed through; resolves to the program's exit status. */
export async function runSandboxed(
  bwrap: string,
  args: string[],
  env: Record<string, string>,
): Promise<number> {
  let childPid: number | undefined;
  let info = '';
  let signals = 0;
  const status = await new Promise<number>((resolve, reject) => {
    const child = spawn(bwrap, ['--info-fd', '3', ...args], {
      env,
      stdio: ['inherit', 'inherit', 'inherit', 'pipe'],
    });
    const infoStream = child.stdio[3] as NodeJS.ReadableStream;
    infoStream.setEncoding('utf8');
    const kill = (pid: number | undefined, s: NodeJS.Signals) => {
      try {
        if (pid) process.kill(pid, s);
      } catch {
        // already gone
      }
    };
    // A signal that comes before bwrap has told the program's pid is delivered as soon as it does.
    let pending: NodeJS.Signals | undefined;
    infoStream.on('data', (d: string) => {
      info += d;
      const m = /"child-pid":\s*(\d+)/.exec(info);
      if (m && childPid === undefined) {
        childPid = Number(m[1]);
        if (pending) kill(childPid, pending);
      }
    });
    const forward = (sig: NodeJS.Signals) => {
      signals++;
      if (signals === 1) {
        if (childPid) kill(childPid, sig);
        else pending = sig;
      } else {
        kill(childPid, 'SIGKILL');
        child.kill('SIGKILL');
      }
    };
    process.on('SIGINT', forward).on('SIGTERM', forward);
    child.on('error', (e) => {
      process.off('SIGINT', forward).off('SIGTERM', forward);
      reject(e);
    });
    child.on('exit', (code, signal) => {
      process.off('SIGINT', forward).off('SIGTERM', forward);
      resolve(code ?? 128 + (signal ? (constants.signals[signal] ?? 0) : 0));
    });
  });
  // bwrap's own failures exit 1 (before the namespaces exist there is no child pid at all).
  if (status === 1 || childPid === undefined) {
    const why = probeSandbox(bwrap, env);
    if (why !== undefined)
      throw new SandboxUnavailableError(
        `cannot create the container: unprivileged user namespaces are not available here (bwrap: ${why})`,
        usernsHint(),
      );
  }
  return status;
}

/** Whether binfmt_misc has a handler for `qemuBinary`'s architecture (e.g. `qemu-aarch64`). */
export function hasBinfmt(qemuBinary: string): boolean {
  const name = qemuBinary.replace(/-static$/, '');
  const status = readSysctl(`/proc/sys/fs/binfmt_misc/${name}`);
  return status?.startsWith('enabled') === true;
}
