/**
 * Run bwrap and report the program's exit status (128+N when killed by signal N). Invoked as root, bwrap runs as
 * an unprivileged host user (`setpriv`), so container root is never host root. Signals reach the program through
 * the caller's hand-over (`forwardSignals`): the first goes to the program (PID 1 of its namespace, as under
 * Docker: it must handle them), a second kills it. With a terminal, the program gets a pty of its own
 * (`terminal.ts`). When bwrap fails, a probe tells a sandbox that cannot be created (user namespaces off or
 * restricted) from the program's own failure, and the error says what to enable. Never falls back to the host.
 */
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { constants } from 'node:os';
import { join } from 'node:path';
import { findOnPath } from '@scratchpack/which';
import { type SandboxSpec, sandboxArgs } from './bwrap.ts';
import { SandboxUnavailableError } from './errors.ts';
import { type OuterNamespace, outerNamespacePrefix } from './outer-ns.ts';
import { runInPty, type Terminal } from './terminal.ts';

export { SandboxUnavailableError };

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

/** The host user bwrap runs as when the caller is root: nobody (never host uid 0). */
export const UNPRIVILEGED_HOST_ID = 65534;

/** The parent-namespace id of `id` in this user namespace (`/proc/self/uid_map`), or undefined when unmapped. */
export function outsideId(id: number, uidMap = readSysctl('/proc/self/uid_map') ?? ''): number | undefined {
  for (const line of uidMap.split('\n')) {
    const [inside, outside, count] = line.trim().split(/\s+/).map(Number);
    if (inside !== undefined && outside !== undefined && count && inside <= id && id < inside + count)
      return outside + id - inside;
  }
  return undefined;
}

/**
 * The host ids bwrap runs as: nobody's when the caller is root of the host (uid 0 mapped to uid 0), else the
 * caller's own (undefined). Root of a user namespace of its own is already an unprivileged user of the host; root
 * in a namespace that maps uid 0 to host root but not nobody cannot run a container safely.
 */
export function hostIds(uid = process.getuid?.(), uidMap?: string): { uid: number; gid: number } | undefined {
  if (uid !== 0 || outsideId(0, uidMap) !== 0) return undefined;
  if (outsideId(UNPRIVILEGED_HOST_ID, uidMap) === undefined)
    throw new SandboxUnavailableError(
      `cannot run the container as an unprivileged host user: uid ${UNPRIVILEGED_HOST_ID} (nobody) is not mapped in this user namespace, which maps uid 0 to host root`,
      `map uid and gid ${UNPRIVILEGED_HOST_ID} into the namespace too, or run scratchpack as a non-root user`,
    );
  return { uid: UNPRIVILEGED_HOST_ID, gid: UNPRIVILEGED_HOST_ID };
}

/** The argv prefix that runs bwrap as `ids` with no supplementary groups (util-linux `setpriv`). */
function asUser(ids: { uid: number; gid: number } | undefined, env: NodeJS.ProcessEnv): string[] {
  if (!ids) return [];
  const setpriv = findOnPath('setpriv', env);
  if (!setpriv)
    throw new SandboxUnavailableError(
      'cannot run the container as an unprivileged host user: setpriv (util-linux) is not on PATH',
      'install util-linux (`apt-get install util-linux`)',
    );
  return [setpriv, `--reuid=${ids.uid}`, `--regid=${ids.gid}`, '--clear-groups', '--'];
}

/** Can bwrap create the namespaces at all? Undefined when yes, bwrap's complaint when not. */
export function probeSandbox(
  bwrap: string,
  env: NodeJS.ProcessEnv = process.env,
  ids = hostIds(),
): string | undefined {
  const argv = [
    ...asUser(ids, env),
    bwrap,
    ...['--unshare-user', '--unshare-ipc', '--unshare-pid', '--unshare-uts', '--unshare-net'],
    ...['--ro-bind', '/', '/', '--', bwrap, '--version'],
  ];
  const r = spawnSync(argv[0]!, argv.slice(1), { env, encoding: 'utf8', timeout: 20_000 });
  if (r.status === 0) return undefined;
  return (r.stderr || r.error?.message || `exit ${r.status}`).trim().split('\n')[0];
}

/** The program's host pid: bwrap's one child (PID 1 of the container), once it exists. */
function programPid(bwrapPid: number): number | undefined {
  try {
    const kids = readFileSync(`/proc/${bwrapPid}/task/${bwrapPid}/children`, 'utf8').trim().split(' ');
    return kids[0] ? Number(kids[0]) : undefined;
  } catch {
    return undefined;
  }
}

export interface SandboxRun {
  env: Record<string, string>;
  /** A private directory outside the rootfs (the seccomp program is written there). */
  dir: string;
  /** The seccomp program (`defaultSeccomp()`), read by bwrap from fd 4. */
  seccomp?: Buffer;
  /** The caller's hand-over: registers the function that delivers a signal to the program, returns its release. */
  forwardSignals?: (deliver: (sig: NodeJS.Signals) => void) => () => void;
  /** `-t`: the program gets a pty of its own, relayed to this terminal. */
  terminal?: Terminal;
  /** The overlay over a cached image, and qemu-user's binfmt_misc registration (`outer-ns.ts`). */
  outer?: OuterNamespace;
}

/** The outer namespace's prefix for `o.outer` (nothing without one). */
function outerArgs(o: SandboxRun): string[] {
  if (!o.outer || (!o.outer.overlay && !o.outer.binfmt)) return [];
  const unshare = findOnPath('unshare', o.env);
  if (!unshare)
    throw new SandboxUnavailableError(
      'cannot set up the container: unshare (util-linux) is not on PATH',
      'install util-linux (`apt-get install util-linux`)',
    );
  return outerNamespacePrefix(unshare, o.outer);
}

/** Run `spec` in bwrap; resolves to the program's exit status. */
export async function runSandboxed(bwrap: string, spec: SandboxSpec, o: SandboxRun): Promise<number> {
  const ids = hostIds();
  const args = sandboxArgs({ ...spec, ...(o.seccomp ? { seccompFd: 4 } : {}) });
  const bpf = join(o.dir, 'seccomp.bpf');
  if (o.seccomp) await writeFile(bpf, o.seccomp, { mode: 0o644 });
  let bwrapPid: number | undefined;
  let signals = 0;
  const kill = (pid: number | undefined, s: NodeJS.Signals) => {
    try {
      if (pid) process.kill(pid, s);
    } catch {
      // already gone
    }
  };
  const deliver = (sig: NodeJS.Signals) => {
    signals++;
    const pid = bwrapPid && programPid(bwrapPid);
    if (signals === 1) kill(pid || bwrapPid, sig);
    else {
      kill(pid, 'SIGKILL');
      kill(bwrapPid, 'SIGKILL');
    }
  };
  const release = o.forwardSignals?.(deliver);
  let status: number;
  try {
    if (o.terminal) {
      // The pty's child gets fd 4 from a shell redirect: a pty spawn passes no other descriptors.
      const argv = [
        '/bin/sh',
        '-c',
        'exec "$@" 4<"$0"',
        bpf,
        ...asUser(ids, o.env),
        ...outerArgs(o),
        bwrap,
        ...args,
      ];
      if (!o.seccomp) argv.splice(0, 4);
      status = await runInPty(argv, o.env, o.terminal, (pid) => (bwrapPid = pid));
    } else {
      const argv = [...asUser(ids, o.env), ...outerArgs(o), bwrap, ...args];
      const fd = o.seccomp ? openSync(bpf, 'r') : undefined;
      try {
        status = await new Promise<number>((resolve, reject) => {
          const child = spawn(argv[0]!, argv.slice(1), {
            env: o.env,
            stdio: ['inherit', 'inherit', 'inherit', 'ignore', fd ?? 'ignore'],
          });
          bwrapPid = child.pid;
          child.on('error', reject);
          child.on('exit', (code, signal) =>
            resolve(code ?? 128 + (signal ? (constants.signals[signal] ?? 0) : 0)),
          );
        });
      } finally {
        if (fd !== undefined) closeSync(fd);
      }
    }
  } finally {
    release?.();
  }
  // bwrap's own failures exit 1 (e.g. before the namespaces exist).
  if (status === 1) {
    const why = probeSandbox(bwrap, o.env, ids);
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
