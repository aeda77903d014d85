/**
 * bubblewrap (`bwrap`): found on PATH like the qemu-user binaries, and the argument list that makes an
 * unpacked rootfs a container — own user, mount, PID, IPC, UTS and (unless `--network host`) network
 * namespaces, `/proc` with podman's masked and read-only paths, a minimal `/dev`, a tmpfs `/tmp` when the
 * image has none, Docker's capability set for container root (none for other users), `no_new_privs` (bwrap
 * always sets it), the default seccomp filter, and nothing of the host but what the user binds. Pure:
 * `sandboxArgs` only builds argv.
 */
import { findOnPath } from '@scratchpack/which';
import type { ProcPath } from './hardening.ts';

/** Absolute path of `bwrap` on PATH, or undefined. */
export function findBwrap(env: NodeJS.ProcessEnv = process.env): string | undefined {
  return findOnPath('bwrap', env);
}

export interface Volume {
  host: string;
  /** Where it appears in the container (an absolute, symlink-free path inside the rootfs). */
  target: string;
  readOnly: boolean;
}

/** A container: an unpacked rootfs and how its program runs in it — what `prepareContainer` is asked for. */
export interface ContainerSpec {
  rootfs: string;
  uid: number;
  gid: number;
  hostname: string;
  workdir: string;
  network: 'none' | 'host';
  readOnly: boolean;
  volumes: Volume[];
  /** The program gets a terminal (the pty the runtime opens): it is not put in a new session. */
  tty: boolean;
  /** Capabilities of container root (`capabilities()`); other users get none. */
  caps: string[];
  argv: string[];
}

/** The container made ready for bwrap (`prepareContainer`): paths inside the rootfs resolved, binds final. */
export interface SandboxSpec extends ContainerSpec {
  /** True when the image has no /tmp: a tmpfs is mounted there. */
  tmpfsTmp: boolean;
  /** Extra read-only file binds (the qemu-user binary for foreign architectures, the host's resolv.conf). */
  roFiles: { host: string; target: string }[];
  /** Writable file binds the runtime wrote (/etc/hosts, /etc/hostname). */
  files: { host: string; target: string }[];
  /** /proc paths hidden from the container, and /proc paths it may read but not change (those this kernel has). */
  masked: ProcPath[];
  readOnlyProc: ProcPath[];
  /** The file descriptor bwrap reads the seccomp program from, when there is one. */
  seccompFd?: number;
}

/** bwrap's argument list for `spec` (without the bwrap binary itself). */
export function sandboxArgs(s: SandboxSpec): string[] {
  const a = ['--unshare-user', '--unshare-ipc', '--unshare-pid', '--unshare-uts', '--unshare-cgroup-try'];
  if (s.network === 'none') a.push('--unshare-net');
  a.push('--die-with-parent', '--as-pid-1');
  if (!s.tty) a.push('--new-session');
  a.push('--uid', String(s.uid), '--gid', String(s.gid), '--hostname', s.hostname);
  a.push('--cap-drop', 'ALL');
  if (s.uid === 0) for (const c of s.caps) a.push('--cap-add', c);
  a.push('--bind', s.rootfs, '/', '--proc', '/proc');
  for (const p of s.masked)
    if (p.dir) a.push('--tmpfs', p.path, '--remount-ro', p.path);
    else a.push('--ro-bind', '/dev/null', p.path);
  for (const p of s.readOnlyProc) a.push('--ro-bind', p.path, p.path);
  a.push('--dev', '/dev');
  if (s.tmpfsTmp) a.push('--tmpfs', '/tmp');
  for (const v of s.volumes) a.push(v.readOnly ? '--ro-bind' : '--bind', v.host, v.target);
  for (const f of s.files) a.push('--bind', f.host, f.target);
  for (const f of s.roFiles) a.push('--ro-bind', f.host, f.target);
  if (s.readOnly) a.push('--remount-ro', '/');
  if (s.seccompFd !== undefined) a.push('--seccomp', String(s.seccompFd));
  a.push('--chdir', s.workdir, '--', ...s.argv);
  return a;
}
