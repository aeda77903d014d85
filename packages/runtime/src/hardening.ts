/**
 * The container's floor, as data: the capabilities container root keeps, and the /proc paths it may not
 * change or read. Podman/Docker/runc defaults, copied as lists (sources named), turned into bwrap arguments
 * by `sandboxArgs`.
 */
import { RuntimeInputError } from './errors.ts';

/** Docker's default capability set for container root (moby `oci/caps/defaults.go`): no CAP_SYS_ADMIN. */
export const DEFAULT_CAPS: readonly string[] = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_FSETID',
  'CAP_FOWNER',
  'CAP_MKNOD',
  'CAP_NET_RAW',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETFCAP',
  'CAP_SETPCAP',
  'CAP_NET_BIND_SERVICE',
  'CAP_SYS_CHROOT',
  'CAP_KILL',
  'CAP_AUDIT_WRITE',
];

/** Every capability name Linux 6.x knows (include/uapi/linux/capability.h), for checking `--cap-add`. */
const KNOWN_CAPS = new Set(
  'CHOWN DAC_OVERRIDE DAC_READ_SEARCH FOWNER FSETID KILL SETGID SETUID SETPCAP LINUX_IMMUTABLE NET_BIND_SERVICE NET_BROADCAST NET_ADMIN NET_RAW IPC_LOCK IPC_OWNER SYS_MODULE SYS_RAWIO SYS_CHROOT SYS_PTRACE SYS_PACCT SYS_ADMIN SYS_BOOT SYS_NICE SYS_RESOURCE SYS_TIME SYS_TTY_CONFIG MKNOD LEASE AUDIT_WRITE AUDIT_CONTROL SETFCAP MAC_OVERRIDE MAC_ADMIN SYSLOG WAKE_ALARM BLOCK_SUSPEND AUDIT_READ PERFMON BPF CHECKPOINT_RESTORE'
    .split(' ')
    .map((c) => `CAP_${c}`),
);

/** `chown`, `cap_chown`, `CAP_CHOWN` → `CAP_CHOWN`; `all` → `ALL`; anything else is an error. */
export function capName(name: string): string {
  const up = name.toUpperCase();
  if (up === 'ALL') return 'ALL';
  const cap = up.startsWith('CAP_') ? up : `CAP_${up}`;
  if (!KNOWN_CAPS.has(cap))
    throw new RuntimeInputError(
      `unknown capability "${name}"`,
      'use a Linux capability name such as NET_ADMIN or CAP_SYS_PTRACE (see capabilities(7)), or ALL',
    );
  return cap;
}

/** Docker's `--cap-add`/`--cap-drop` over the default set (drops first, then adds; `ALL` for either). */
export function capabilities(add: string[] = [], drop: string[] = []): string[] {
  const adds = add.map(capName);
  const drops = drop.map(capName);
  let set = drops.includes('ALL') ? [] : DEFAULT_CAPS.filter((c) => !drops.includes(c));
  if (adds.includes('ALL')) set = [...KNOWN_CAPS];
  for (const c of adds) if (c !== 'ALL' && !set.includes(c)) set.push(c);
  return set.sort();
}

/**
 * Hidden from the container (runc `libcontainer/specconv/example.go` `MaskPaths`): files bound over by
 * /dev/null, directories by an empty read-only tmpfs. `/sys/firmware` is there too, but the container has no
 * /sys at all.
 */
export const MASKED_PATHS: readonly string[] = [
  '/proc/acpi',
  '/proc/asound',
  '/proc/kcore',
  '/proc/keys',
  '/proc/latency_stats',
  '/proc/timer_list',
  '/proc/timer_stats',
  '/proc/sched_debug',
  '/proc/scsi',
];

/** Read-only in the container (runc `libcontainer/specconv/example.go` `ReadonlyPaths`). */
export const READONLY_PATHS: readonly string[] = [
  '/proc/bus',
  '/proc/fs',
  '/proc/irq',
  '/proc/sys',
  '/proc/sysrq-trigger',
];

/** A masked or read-only /proc path that exists on this kernel: bwrap cannot create one that does not. */
export interface ProcPath {
  path: string;
  dir: boolean;
}
