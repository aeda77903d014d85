/**
 * bubblewrap (`bwrap`): found on PATH like the qemu-user binaries, and the argument list that makes an
 * unpacked rootfs a container — own user, mount, PID, IPC, UTS and (unless `--network host`) network
 * namespaces, `/proc`, a minimal `/dev`, a tmpfs `/tmp` when the image has none, nothing of the host but
 * what the user binds. Pure: `sandboxArgs` only builds argv.
 */
import { ScratchpackError } from '@scratchpack/oci';
import { findOnPath } from '@scratchpack/toolchain';

export class BwrapMissingError extends ScratchpackError {
  declare readonly code: 'BWRAP_MISSING';
  declare readonly hint: string;
  constructor() {
    super(
      'BWRAP_MISSING',
      'cannot run the image in a sandbox: bwrap (bubblewrap) is not installed or not on PATH',
      {
        hint: "install Debian's bubblewrap (`apt-get install bubblewrap`, or `pnpm test:setup`); `--no-sandbox` runs on the host instead (unsafe)",
      },
    );
    this.name = 'BwrapMissingError';
  }
}

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

/** A container: an unpacked rootfs and how its program runs in it — what `run` asks `prepareContainer` for. */
export interface ContainerSpec {
  rootfs: string;
  uid: number;
  gid: number;
  hostname: string;
  workdir: string;
  network: 'none' | 'host';
  readOnly: boolean;
  volumes: Volume[];
  /** Keep the terminal as controlling TTY (`-t` on a TTY); otherwise a new session (no TIOCSTI). */
  tty: boolean;
  argv: string[];
}

/** The container made ready for bwrap (`prepareContainer`): paths inside the rootfs resolved, binds final. */
export interface SandboxSpec extends ContainerSpec {
  /** True when the image has no /tmp: a tmpfs is mounted there. */
  tmpfsTmp: boolean;
  /** Extra read-only file binds (the qemu-user binary for foreign architectures). */
  roFiles: { host: string; target: string }[];
}

/** bwrap's argument list for `spec` (without the bwrap binary itself). */
export function sandboxArgs(s: SandboxSpec): string[] {
  const a = ['--unshare-user', '--unshare-ipc', '--unshare-pid', '--unshare-uts', '--unshare-cgroup-try'];
  if (s.network === 'none') a.push('--unshare-net');
  a.push('--die-with-parent', '--as-pid-1');
  if (!s.tty) a.push('--new-session');
  a.push('--uid', String(s.uid), '--gid', String(s.gid), '--hostname', s.hostname);
  a.push('--bind', s.rootfs, '/', '--proc', '/proc', '--dev', '/dev');
  if (s.tmpfsTmp) a.push('--tmpfs', '/tmp');
  for (const v of s.volumes) a.push(v.readOnly ? '--ro-bind' : '--bind', v.host, v.target);
  for (const f of s.roFiles) a.push('--ro-bind', f.host, f.target);
  if (s.readOnly) a.push('--remount-ro', '/');
  a.push('--chdir', s.workdir, '--', ...s.argv);
  return a;
}
