/*
 * hello — the flagship program of scratchpack.
 *
 * Prints a short message naming the platform it was built for, then exits 0 (1 if the message could
 * not be written whole). One write(2), one exit(2) and nothing else, so the static binary stays tiny
 * on every platform. SCRATCHPACK_PLATFORM is set by the build (e.g. "linux/arm64/v8").
 *
 * No C library and no startup files (the build passes -nostdlib): the kernel jumps straight to
 * _start at the end of this file, and the two system calls are a few lines of inline assembly per
 * architecture. This file is the whole program; README.md explains the flags and lists the sizes.
 */

#ifndef SCRATCHPACK_PLATFORM
#error "build with -DSCRATCHPACK_PLATFORM=\"os/arch[/variant]\""
#endif

/*
 * System calls, one section per architecture. Each defines the call numbers SYS_write and SYS_exit
 * (the kernel's, identical to musl's bits/syscall.h for the target; they never change) and
 * syscall1/syscall3: the kernel's calling convention for a call with one or three arguments.
 */

#if defined(__x86_64__)

/*
 * x86-64 (linux/amd64): `syscall` with the number in rax and arguments in rdi, rsi, rdx; the result
 * comes back in rax (-errno on failure). The instruction itself overwrites rcx and r11.
 */
#define SYS_write 1
#define SYS_exit 60

static inline long syscall1(long nr, long a) {
    long ret;
    __asm__ volatile("syscall" : "=a"(ret) : "a"(nr), "D"(a) : "rcx", "r11", "memory");
    return ret;
}

static inline long syscall3(long nr, long a, long b, long c) {
    long ret;
    __asm__ volatile("syscall" : "=a"(ret) : "a"(nr), "D"(a), "S"(b), "d"(c) : "rcx", "r11", "memory");
    return ret;
}

#elif defined(__i386__)

/*
 * i386 (linux/386): `int $0x80` with the number in eax and arguments in ebx, ecx, edx; the result
 * comes back in eax (-errno on failure). Works on every x86 CPU, unlike sysenter.
 */
#define SYS_write 4
#define SYS_exit 1

static inline long syscall1(long nr, long a) {
    long ret;
    __asm__ volatile("int $0x80" : "=a"(ret) : "a"(nr), "b"(a) : "memory");
    return ret;
}

static inline long syscall3(long nr, long a, long b, long c) {
    long ret;
    __asm__ volatile("int $0x80" : "=a"(ret) : "a"(nr), "b"(a), "c"(b), "d"(c) : "memory");
    return ret;
}

#elif defined(__aarch64__)

/*
 * AArch64 (linux/arm64/v8): `svc 0` with the number in x8 and arguments in x0-x2; the result comes
 * back in x0 (-errno on failure). The numbers are the kernel's generic table (as on riscv64).
 */
#define SYS_write 64
#define SYS_exit 93

static inline long syscall1(long nr, long a) {
    register long x8 __asm__("x8") = nr;
    register long x0 __asm__("x0") = a;
    __asm__ volatile("svc 0" : "+r"(x0) : "r"(x8) : "memory");
    return x0;
}

static inline long syscall3(long nr, long a, long b, long c) {
    register long x8 __asm__("x8") = nr;
    register long x0 __asm__("x0") = a;
    register long x1 __asm__("x1") = b;
    register long x2 __asm__("x2") = c;
    __asm__ volatile("svc 0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2) : "memory");
    return x0;
}

#elif defined(__arm__)

/*
 * 32-bit ARM, EABI (linux/arm/v5, v6, v7): `svc 0` with the number in r7 and arguments in r0-r2; the
 * result comes back in r0 (-errno on failure). Binding r7 is fine because hello is ARM code: only
 * Thumb code keeps its frame pointer in r7.
 */
#define SYS_write 4
#define SYS_exit 1

static inline long syscall1(long nr, long a) {
    register long r7 __asm__("r7") = nr;
    register long r0 __asm__("r0") = a;
    __asm__ volatile("svc 0" : "+r"(r0) : "r"(r7) : "memory");
    return r0;
}

static inline long syscall3(long nr, long a, long b, long c) {
    register long r7 __asm__("r7") = nr;
    register long r0 __asm__("r0") = a;
    register long r1 __asm__("r1") = b;
    register long r2 __asm__("r2") = c;
    __asm__ volatile("svc 0" : "+r"(r0) : "r"(r7), "r"(r1), "r"(r2) : "memory");
    return r0;
}

#elif defined(__riscv) && __riscv_xlen == 64

/*
 * RISC-V 64 (linux/riscv64): `ecall` with the number in a7 and arguments in a0-a2; the result comes
 * back in a0 (-errno on failure). The numbers are the kernel's generic table (as on arm64).
 */
#define SYS_write 64
#define SYS_exit 93

static inline long syscall1(long nr, long a) {
    register long a7 __asm__("a7") = nr;
    register long a0 __asm__("a0") = a;
    __asm__ volatile("ecall" : "+r"(a0) : "r"(a7) : "memory");
    return a0;
}

static inline long syscall3(long nr, long a, long b, long c) {
    register long a7 __asm__("a7") = nr;
    register long a0 __asm__("a0") = a;
    register long a1 __asm__("a1") = b;
    register long a2 __asm__("a2") = c;
    __asm__ volatile("ecall" : "+r"(a0) : "r"(a7), "r"(a1), "r"(a2) : "memory");
    return a0;
}

#elif defined(__powerpc64__)

/*
 * 64-bit PowerPC (linux/ppc64, big-endian, and linux/ppc64le): both built for the ELFv2 ABI, the only
 * one musl knows (zig's powerpc64-linux-musl picks it on big-endian too; ELFv1 would make the entry
 * point a function descriptor in .opd instead of code). `sc` with the number in r0 and arguments in r3-r5; the
 * result comes back in r3. On failure the kernel sets the summary-overflow bit of cr0 and leaves a
 * positive errno in r3, so `bns+ 1f; neg 3, 3` turns it into the usual -errno. The kernel may
 * overwrite r0 and r4-r12 (the same clobbers as musl's syscall_arch.h).
 */
#if !defined(_CALL_ELF) || _CALL_ELF != 2
#error "64-bit PowerPC: only the ELFv2 ABI is supported (_start below relies on it)"
#endif

#define SYS_write 4
#define SYS_exit 1

static inline long syscall1(long nr, long a) {
    register long r0 __asm__("r0") = nr;
    register long r3 __asm__("r3") = a;
    __asm__ volatile("sc\n\tbns+ 1f\n\tneg 3, 3\n1:"
                     : "+r"(r0), "+r"(r3)
                     :
                     : "r4", "r5", "r6", "r7", "r8", "r9", "r10", "r11", "r12", "cr0", "memory");
    return r3;
}

static inline long syscall3(long nr, long a, long b, long c) {
    register long r0 __asm__("r0") = nr;
    register long r3 __asm__("r3") = a;
    register long r4 __asm__("r4") = b;
    register long r5 __asm__("r5") = c;
    __asm__ volatile("sc\n\tbns+ 1f\n\tneg 3, 3\n1:"
                     : "+r"(r0), "+r"(r3), "+r"(r4), "+r"(r5)
                     :
                     : "r6", "r7", "r8", "r9", "r10", "r11", "r12", "cr0", "memory");
    return r3;
}

#elif defined(__mips64) && defined(_ABI64)

/*
 * 64-bit MIPS, n64 ABI (linux/mips64, linux/mips64le): `syscall` with the number in v0 ($2) and arguments in
 * a0-a2 ($4-$6); the result comes back in v0, and a3 ($7) is non-zero when v0 holds a (positive)
 * errno. The number is loaded by the instruction right before `syscall`, as musl does (older kernels
 * restart an interrupted call from there). Clobbers as in musl's syscall_arch.h.
 */
#define SYS_write 5001
#define SYS_exit 5058

#define MIPS_SYSCALL_CLOBBERS \
    "$1", "$3", "$10", "$11", "$12", "$13", "$14", "$15", "$24", "$25", "hi", "lo", "memory"

static inline long syscall1(long nr, long a) {
    register long v0 __asm__("$2");
    register long a0 __asm__("$4") = a;
    register long a3 __asm__("$7");
    __asm__ volatile("daddu $2, $0, %2\n\tsyscall"
                     : "=&r"(v0), "=r"(a3)
                     : "ir"(nr), "r"(a0)
                     : MIPS_SYSCALL_CLOBBERS);
    return a3 ? -v0 : v0;
}

static inline long syscall3(long nr, long a, long b, long c) {
    register long v0 __asm__("$2");
    register long a0 __asm__("$4") = a;
    register long a1 __asm__("$5") = b;
    register long a2 __asm__("$6") = c;
    register long a3 __asm__("$7");
    __asm__ volatile("daddu $2, $0, %2\n\tsyscall"
                     : "=&r"(v0), "=r"(a3)
                     : "ir"(nr), "r"(a0), "r"(a1), "r"(a2)
                     : MIPS_SYSCALL_CLOBBERS);
    return a3 ? -v0 : v0;
}

#elif defined(__mips__) && defined(_ABIO32)

/*
 * 32-bit MIPS, o32 ABI (linux/mips, linux/mipsle): as on mips64 but with the o32 call numbers (4000 +
 * n) and 32-bit registers: number in v0 ($2), arguments in a0-a2 ($4-$6), result in v0, a3 ($7)
 * non-zero when v0 holds a (positive) errno. o32 lets the kernel overwrite t0-t9 ($8-$15, $24, $25)
 * as well as at and v1; the caller's stack is untouched for calls of four or fewer arguments.
 */
#define SYS_write 4004
#define SYS_exit 4001

#define MIPS_SYSCALL_CLOBBERS \
    "$1", "$3", "$8", "$9", "$10", "$11", "$12", "$13", "$14", "$15", "$24", "$25", "hi", "lo", "memory"

static inline long syscall1(long nr, long a) {
    register long v0 __asm__("$2");
    register long a0 __asm__("$4") = a;
    register long a3 __asm__("$7");
    __asm__ volatile("addu $2, $0, %2\n\tsyscall"
                     : "=&r"(v0), "=r"(a3)
                     : "ir"(nr), "r"(a0)
                     : MIPS_SYSCALL_CLOBBERS);
    return a3 ? -v0 : v0;
}

static inline long syscall3(long nr, long a, long b, long c) {
    register long v0 __asm__("$2");
    register long a0 __asm__("$4") = a;
    register long a1 __asm__("$5") = b;
    register long a2 __asm__("$6") = c;
    register long a3 __asm__("$7");
    __asm__ volatile("addu $2, $0, %2\n\tsyscall"
                     : "=&r"(v0), "=r"(a3)
                     : "ir"(nr), "r"(a0), "r"(a1), "r"(a2)
                     : MIPS_SYSCALL_CLOBBERS);
    return a3 ? -v0 : v0;
}

#elif defined(__s390x__)

/*
 * 64-bit IBM Z (linux/s390x): `svc 0` with the number in r1 and arguments in r2-r4; the result comes
 * back in r2 (-errno on failure). (`svc N` can carry numbers below 256 in the instruction itself;
 * `svc 0` with r1 works for every number.)
 */
#define SYS_write 4
#define SYS_exit 1

static inline long syscall1(long nr, long a) {
    register long r1 __asm__("r1") = nr;
    register long r2 __asm__("r2") = a;
    __asm__ volatile("svc 0" : "+r"(r2) : "r"(r1) : "memory");
    return r2;
}

static inline long syscall3(long nr, long a, long b, long c) {
    register long r1 __asm__("r1") = nr;
    register long r2 __asm__("r2") = a;
    register long r3 __asm__("r3") = b;
    register long r4 __asm__("r4") = c;
    __asm__ volatile("svc 0" : "+r"(r2) : "r"(r1), "r"(r3), "r"(r4) : "memory");
    return r2;
}

#elif defined(__loongarch__) && __loongarch_grlen == 64

/*
 * LoongArch 64 (linux/loong64): `syscall 0` with the number in a7 and arguments in a0-a2; the result
 * comes back in a0 (-errno on failure). The kernel may overwrite the temporaries t0-t8. The numbers
 * are the kernel's generic table (as on arm64 and riscv64).
 */
#define SYS_write 64
#define SYS_exit 93

#define LOONGARCH_SYSCALL_CLOBBERS \
    "$t0", "$t1", "$t2", "$t3", "$t4", "$t5", "$t6", "$t7", "$t8", "memory"

static inline long syscall1(long nr, long a) {
    register long a7 __asm__("$a7") = nr;
    register long a0 __asm__("$a0") = a;
    __asm__ volatile("syscall 0" : "+r"(a0) : "r"(a7) : LOONGARCH_SYSCALL_CLOBBERS);
    return a0;
}

static inline long syscall3(long nr, long a, long b, long c) {
    register long a7 __asm__("$a7") = nr;
    register long a0 __asm__("$a0") = a;
    register long a1 __asm__("$a1") = b;
    register long a2 __asm__("$a2") = c;
    __asm__ volatile("syscall 0" : "+r"(a0) : "r"(a7), "r"(a1), "r"(a2) : LOONGARCH_SYSCALL_CLOBBERS);
    return a0;
}

#else
#error "no system calls for this architecture yet: add a section above"
#endif

/* write(2): bytes written, or -errno. */
static inline long sys_write(int fd, const void *buf, unsigned long len) {
    return syscall3(SYS_write, fd, (long)buf, (long)len);
}

/* exit(2): ends the process (hello has one thread, so exit and exit_group are the same). */
__attribute__((noreturn)) static inline void sys_exit(int status) {
    syscall1(SYS_exit, status);
    __builtin_unreachable();
}

/*
 * The message lives in the code section: the executable segment is loaded anyway, and a separate
 * .rodata would cost a section header and alignment padding. Nothing ever writes it.
 */
__attribute__((section(".text.message"))) static const char message[] =
    "\n"
    "Hello from scratchpack!\n"
    "This message comes from a FROM-scratch image built for " SCRATCHPACK_PLATFORM ":\n"
    "one static binary and nothing else, packed without a Docker daemon.\n"
    "\n";

/*
 * The process entry point (the ELF entry, named with -Wl,--entry=_start). It is an ordinary C
 * function that never returns, which is safe here because it calls nothing and keeps nothing on the
 * stack:
 *  - x86 and x86-64 enter with the stack 16-byte aligned rather than "just after a call"; that only
 *    matters to code that calls functions or spills vectors, and there is none;
 *  - ppc64le: the compiler's global-entry prologue derives the TOC pointer (r2) from r12, and Linux
 *    starts ELFv2 programs with r12 = the entry address, as a caller would;
 *  - mips64le is built with -mno-abicalls, so nothing needs $gp or $t9;
 *  - riscv64 reaches the message pc-relative (auipc), never through gp.
 * A function that needs a properly framed stack would want an assembly stub instead.
 */
__attribute__((noreturn)) void _start(void) {
    const long n = sizeof message - 1;
    sys_exit(sys_write(1, message, n) == n ? 0 : 1);
}
