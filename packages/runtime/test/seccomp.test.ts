/**
 * The generated seccomp program, run by a small classic-BPF interpreter over seccomp_data: refused calls get
 * EPERM (clone3 ENOSYS), TIOCSTI/TIOCLINUX ioctls and namespace clones are refused while other ioctls and plain
 * clones (threads, fork) pass, x32 and unknown architectures are refused. The integration tests load it into
 * the kernel (hardening.int.test.ts).
 */
import { describe, expect, it } from 'vitest';
import {
  ARCH_TABLES,
  CLONE_NAMESPACES,
  defaultSeccomp,
  ENOSYS,
  EPERM,
  SECCOMP_RET_ALLOW,
  TIOCLINUX,
  TIOCSTI,
} from '../src/seccomp.ts';

/** Run `prog` (struct sock_filter[], little-endian) on a seccomp_data of `arch`, `nr` and `args`. */
function evaluate(prog: Buffer, arch: number, nr: number, args: number[] = []): number {
  const data = Buffer.alloc(64);
  data.writeInt32LE(nr, 0);
  data.writeUInt32LE(arch, 4);
  for (const [i, a] of args.entries()) data.writeUInt32LE(a >>> 0, 16 + 8 * i);
  let acc = 0;
  for (let pc = 0; pc < prog.length / 8; ) {
    const code = prog.readUInt16LE(pc * 8);
    const jt = prog.readUInt8(pc * 8 + 2);
    const jf = prog.readUInt8(pc * 8 + 3);
    const k = prog.readUInt32LE(pc * 8 + 4);
    switch (code) {
      case 0x20: // ld w abs
        acc = data.readUInt32LE(k);
        pc++;
        break;
      case 0x15: // jeq k
        pc += 1 + (acc === k ? jt : jf);
        break;
      case 0x35: // jge k
        pc += 1 + (acc >= k ? jt : jf);
        break;
      case 0x45: // jset k
        pc += 1 + ((acc & k) !== 0 ? jt : jf);
        break;
      case 0x06: // ret k
        return k;
      default:
        throw new Error(`unexpected opcode ${code.toString(16)} at ${pc}`);
    }
  }
  throw new Error('fell off the end of the program');
}

const ERRNO = (e: number) => 0x00050000 | e;
const prog = defaultSeccomp('x64')!;

describe('default seccomp filter', () => {
  it.each(['x86_64', 'i386'] as const)('refuses the table on %s with EPERM, allows the rest', (arch) => {
    const t = ARCH_TABLES[arch];
    for (const [name, nr] of Object.entries(t.calls)) {
      if (name === 'ioctl' || name === 'clone') continue;
      expect([name, evaluate(prog, t.audit, nr)]).toEqual([name, ERRNO(name === 'clone3' ? ENOSYS : EPERM)]);
    }
    for (const allowed of [0, 1, 2, 3, 59, 60, 231])
      expect(evaluate(prog, t.audit, allowed)).toBe(SECCOMP_RET_ALLOW);
    expect(evaluate(prog, t.audit, t.calls.ioctl, [0, TIOCSTI])).toBe(ERRNO(EPERM));
    expect(evaluate(prog, t.audit, t.calls.ioctl, [0, TIOCLINUX])).toBe(ERRNO(EPERM));
    expect(evaluate(prog, t.audit, t.calls.ioctl, [0, 0x5401 /* TCGETS */])).toBe(SECCOMP_RET_ALLOW);
    expect(evaluate(prog, t.audit, t.calls.clone, [0x3d0f00 /* a thread */])).toBe(SECCOMP_RET_ALLOW);
    expect(evaluate(prog, t.audit, t.calls.clone, [0x11 /* fork: SIGCHLD */])).toBe(SECCOMP_RET_ALLOW);
    for (const flag of [0x10000000, 0x20000, 0x40000000])
      expect(evaluate(prog, t.audit, t.calls.clone, [flag | 0x11])).toBe(ERRNO(EPERM));
    expect(CLONE_NAMESPACES & 0x10000000).not.toBe(0);
  });

  it('refuses x32 calls and architectures it has no table for', () => {
    expect(evaluate(prog, ARCH_TABLES.x86_64.audit, 0x40000000 + 1)).toBe(ERRNO(EPERM));
    expect(evaluate(prog, ARCH_TABLES.aarch64.audit, 63)).toBe(ERRNO(EPERM));
  });

  it('is the same bytes every time, per host architecture; none where there is no table', () => {
    expect(defaultSeccomp('x64')!.equals(prog)).toBe(true);
    const arm = defaultSeccomp('arm64')!;
    expect(evaluate(arm, ARCH_TABLES.aarch64.audit, ARCH_TABLES.aarch64.calls.mount)).toBe(ERRNO(EPERM));
    expect(evaluate(arm, ARCH_TABLES.aarch64.audit, 63)).toBe(SECCOMP_RET_ALLOW);
    expect(evaluate(arm, ARCH_TABLES.x86_64.audit, 0)).toBe(ERRNO(EPERM));
    expect(defaultSeccomp('riscv64')).toBeUndefined();
  });
});
