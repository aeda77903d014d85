/**
 * The default seccomp filter, generated as a classic-BPF program for bwrap's `--seccomp FD`: from a table of
 * refused calls per architecture (numbers from Linux's `arch/x86/entry/syscalls/syscall_{64,32}.tbl` and
 * `include/uapi/asm-generic/unistd.h`), following Docker's default profile (moby `profiles/seccomp/default.json`):
 * module, kexec, keyring, bpf, perf and mount-family calls, `setns`, `unshare`, `clone` with namespace flags and
 * `ioctl(TIOCSTI/TIOCLINUX)` get EPERM; `clone3` gets ENOSYS (its flags are out of reach, libc falls back to
 * clone). Everything else is allowed. The filter sees the host's calls, so it covers qemu-user too.
 */
import { endianness } from 'node:os';

/** One refusal table: the architecture's audit id, and syscall numbers by name. */
interface ArchTable {
  audit: number;
  /** Calls with this bit set are another ABI (x32 on x86-64): refused as a whole. */
  abiBit?: number;
  calls: Record<Refused | 'ioctl' | 'clone' | 'clone3', number>;
}

type Refused =
  | 'mount'
  | 'umount2'
  | 'pivot_root'
  | 'open_tree'
  | 'move_mount'
  | 'fsopen'
  | 'fsconfig'
  | 'fsmount'
  | 'fspick'
  | 'mount_setattr'
  | 'keyctl'
  | 'add_key'
  | 'request_key'
  | 'bpf'
  | 'kexec_load'
  | 'init_module'
  | 'finit_module'
  | 'delete_module'
  | 'perf_event_open'
  | 'setns'
  | 'unshare'
  | 'userfaultfd'
  | 'acct'
  | 'open_by_handle_at';

const NEW_MOUNT_API = {
  open_tree: 428,
  move_mount: 429,
  fsopen: 430,
  fsconfig: 431,
  fsmount: 432,
  fspick: 433,
};

export const ARCH_TABLES: Record<'x86_64' | 'i386' | 'aarch64', ArchTable> = {
  x86_64: {
    audit: 0xc000003e,
    abiBit: 0x40000000,
    calls: {
      ...NEW_MOUNT_API,
      ioctl: 16,
      clone: 56,
      clone3: 435,
      mount: 165,
      umount2: 166,
      pivot_root: 155,
      mount_setattr: 442,
      keyctl: 250,
      add_key: 248,
      request_key: 249,
      bpf: 321,
      kexec_load: 246,
      init_module: 175,
      finit_module: 313,
      delete_module: 176,
      perf_event_open: 298,
      setns: 308,
      unshare: 272,
      userfaultfd: 323,
      acct: 163,
      open_by_handle_at: 304,
    },
  },
  i386: {
    audit: 0x40000003,
    calls: {
      ...NEW_MOUNT_API,
      ioctl: 54,
      clone: 120,
      clone3: 435,
      mount: 21,
      umount2: 52,
      pivot_root: 217,
      mount_setattr: 442,
      keyctl: 288,
      add_key: 286,
      request_key: 287,
      bpf: 357,
      kexec_load: 283,
      init_module: 128,
      finit_module: 350,
      delete_module: 129,
      perf_event_open: 336,
      setns: 346,
      unshare: 310,
      userfaultfd: 374,
      acct: 51,
      open_by_handle_at: 342,
    },
  },
  aarch64: {
    audit: 0xc00000b7,
    calls: {
      ...NEW_MOUNT_API,
      ioctl: 29,
      clone: 220,
      clone3: 435,
      mount: 40,
      umount2: 39,
      pivot_root: 41,
      mount_setattr: 442,
      keyctl: 219,
      add_key: 217,
      request_key: 218,
      bpf: 280,
      kexec_load: 104,
      init_module: 105,
      finit_module: 273,
      delete_module: 106,
      perf_event_open: 241,
      setns: 268,
      unshare: 97,
      userfaultfd: 282,
      acct: 89,
      open_by_handle_at: 265,
    },
  },
};

/** Calls refused by number on every architecture, with their extra 32-bit-only relatives. */
const EXTRA: Partial<Record<keyof typeof ARCH_TABLES, Record<string, number>>> = {
  x86_64: { kexec_file_load: 320 },
  i386: { umount: 22 },
  aarch64: { kexec_file_load: 294 },
};

export const TIOCSTI = 0x5412;
export const TIOCLINUX = 0x541c;
/** CLONE_NEWNS | NEWCGROUP | NEWUTS | NEWIPC | NEWUSER | NEWPID | NEWNET, as Docker's profile masks clone. */
export const CLONE_NAMESPACES = 0x7e020000;

export const SECCOMP_RET_ALLOW = 0x7fff0000;
const SECCOMP_RET_ERRNO = 0x00050000;
export const EPERM = 1;
export const ENOSYS = 38;

// Classic BPF opcodes (linux/filter.h).
const LD_W_ABS = 0x20;
const JEQ_K = 0x15;
const JGE_K = 0x35;
const JSET_K = 0x45;
const RET_K = 0x06;

/** One instruction: `jt`/`jf` as labels (resolved to offsets) or 0 for the next instruction. */
type Insn = { code: number; k: number; jt?: string; jf?: string; label?: string };

/** seccomp_data offsets: nr at 0, arch at 4, args[i] (low 32 bits on a little-endian host) at 16 + 8i. */
const NR = 0;
const ARCH = 4;
const arg = (i: number) => 16 + 8 * i + (endianness() === 'BE' ? 4 : 0);

function tableFor(name: keyof typeof ARCH_TABLES): Insn[] {
  const t = ARCH_TABLES[name];
  const out: Insn[] = [{ code: LD_W_ABS, k: NR, label: name }];
  if (t.abiBit) out.push({ code: JGE_K, k: t.abiBit, jt: 'eperm' });
  const refused = Object.entries({ ...t.calls, ...EXTRA[name] }).filter(
    ([n]) => !['ioctl', 'clone', 'clone3'].includes(n),
  );
  for (const [, nr] of refused) out.push({ code: JEQ_K, k: nr, jt: 'eperm' });
  out.push({ code: JEQ_K, k: t.calls.clone3, jt: 'enosys' });
  out.push({ code: JEQ_K, k: t.calls.ioctl, jt: 'ioctl' });
  out.push({ code: JEQ_K, k: t.calls.clone, jt: 'clone' });
  out.push({ code: RET_K, k: SECCOMP_RET_ALLOW });
  return out;
}

/** The filter's instructions for `arches` (the host's and its compat ABI), before assembly. */
function program(arches: (keyof typeof ARCH_TABLES)[]): Insn[] {
  const p: Insn[] = [{ code: LD_W_ABS, k: ARCH }];
  for (const a of arches) p.push({ code: JEQ_K, k: ARCH_TABLES[a].audit, jt: a });
  // Any other architecture's calls (e.g. a compat ABI not listed) are refused as a whole.
  p.push({ code: RET_K, k: SECCOMP_RET_ERRNO | EPERM });
  for (const a of arches) p.push(...tableFor(a));
  p.push({ code: LD_W_ABS, k: arg(1), label: 'ioctl' });
  p.push({ code: JEQ_K, k: TIOCSTI, jt: 'eperm' });
  p.push({ code: JEQ_K, k: TIOCLINUX, jt: 'eperm' });
  p.push({ code: RET_K, k: SECCOMP_RET_ALLOW });
  // clone's flags are its first argument on x86 and arm64 (not on s390, which has no table here).
  p.push({ code: LD_W_ABS, k: arg(0), label: 'clone' });
  p.push({ code: JSET_K, k: CLONE_NAMESPACES, jt: 'eperm' });
  p.push({ code: RET_K, k: SECCOMP_RET_ALLOW });
  p.push({ code: RET_K, k: SECCOMP_RET_ERRNO | EPERM, label: 'eperm' });
  p.push({ code: RET_K, k: SECCOMP_RET_ERRNO | ENOSYS, label: 'enosys' });
  return p;
}

/** Resolve labels to forward offsets and encode `struct sock_filter` (8 bytes each, host byte order). */
function assemble(p: Insn[]): Buffer {
  const at = new Map<string, number>();
  for (const [i, insn] of p.entries()) if (insn.label) at.set(insn.label, i);
  const buf = Buffer.alloc(p.length * 8);
  const le = endianness() === 'LE';
  p.forEach((insn, i) => {
    const off = (label?: string) => {
      if (!label) return 0;
      const d = at.get(label)! - i - 1;
      if (!(d >= 0 && d <= 255)) throw new Error(`seccomp: jump to ${label} out of range (${d})`);
      return d;
    };
    if (le) buf.writeUInt16LE(insn.code, i * 8);
    else buf.writeUInt16BE(insn.code, i * 8);
    buf.writeUInt8(off(insn.jt), i * 8 + 2);
    buf.writeUInt8(off(insn.jf), i * 8 + 3);
    if (le) buf.writeUInt32LE(insn.k >>> 0, i * 8 + 4);
    else buf.writeUInt32BE(insn.k >>> 0, i * 8 + 4);
  });
  return buf;
}

/** The architectures whose calls a process on this host can make (the native ABI and its 32-bit compat). */
export function hostArches(arch: string = process.arch): (keyof typeof ARCH_TABLES)[] {
  if (arch === 'x64') return ['x86_64', 'i386'];
  if (arch === 'arm64') return ['aarch64'];
  if (arch === 'ia32') return ['i386'];
  return [];
}

/** The default filter for this host, or undefined where there is no table for its architecture. */
export function defaultSeccomp(arch: string = process.arch): Buffer | undefined {
  const arches = hostArches(arch);
  return arches.length ? assemble(program(arches)) : undefined;
}
