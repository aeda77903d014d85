/**
 * The platform matrix, defined once. Everything else (compile, qemu, image configs, paths, CI matrices)
 * asks this file.
 *
 * For each OCI platform: the zig target and `-mcpu` that make the variant real (an arm/v5 binary really
 * runs on an ARM926), the qemu-user binary that runs it on another host, the oldest CPU model of the
 * variant for qemu's `-cpu` (so a mislabelled binary fails its test), and a short label used in paths.
 */
import { formatPlatform, type Platform, parsePlatform, ScratchpackError } from '@scratchpack/oci';

export interface PlatformSpec {
  /** `os/arch[/variant]`, e.g. `linux/arm64/v8`. */
  name: string;
  /** Path-safe label: `linux-arm64-v8`. */
  label: string;
  platform: Platform;
  /** zig target triple, e.g. `aarch64-linux-musl`. */
  zigTarget: string;
  /** zig `-mcpu` value: the variant's baseline CPU. */
  zigCpu: string;
  /** ELF `e_machine` name as `readelf -h` prints it, used to check binaries. */
  elfMachine: string;
  /** ELF class: 32 or 64 bit. */
  elfClass: 32 | 64;
  /** Byte order of the Linux ABI. */
  endian: 'little' | 'big';
  /** Words `readelf -h` prints on the Flags line of a binary built for this platform (ABI, ISA level). */
  elfFlags?: readonly string[];
  /** `readelf -A` Tag_CPU_arch for ARM variants. */
  armArch?: string;
  /** qemu-user binary that runs this platform (Debian's qemu-user-static). */
  qemu: string;
  /** The oldest CPU model of the variant, for `qemu -cpu`. */
  qemuCpu: string;
  /** Why zig cannot build it, when it cannot. */
  unsupported?: string;
}

const spec = (s: Omit<PlatformSpec, 'name' | 'label'>): PlatformSpec => {
  const { os, architecture, variant } = s.platform;
  const parts = [os, architecture, ...(variant ? [variant] : [])];
  return { name: parts.join('/'), label: parts.join('-'), ...s };
};

/**
 * z196 facilities that qemu-user's TCG (Debian's qemu 7.2) does not emulate: the model refuses to start
 * with them on. None is an instruction a compiler emits for C (crypto subfunctions, decimal and hex
 * floating point, monitoring and storage-key facilities), so the model stays a z196 for our programs:
 * no z13 vector, z14 or later instructions.
 */
const Z196_NOT_IN_TCG = [
  'klmd-sha-1',
  'kimd-sha-1',
  'km-tdea-192',
  'km-tdea-128',
  'km-dea',
  'kmc-tdea-192',
  'kmc-tdea-128',
  'kmc-dea',
  'kmac-tdea-192',
  'kmac-tdea-128',
  'kmac-dea',
  'dateh2',
  'cmpsceh',
  'pfpo',
  'dfphp',
  'dfp',
  'emon',
  'parseh',
  'hfpue',
  'hfpm',
  'nonqks',
  'csske',
  'asnlxr',
  'tods',
];

/**
 * Every Linux platform of Go and the OCI spec that zig reaches, in Go's order (`go tool dist list`):
 * the official hello-world's ten and loong64, mips, mipsle, mips64 and ppc64. Conservative baselines:
 * x86-64 v1, i686 (SSE-less), ARMv5TE/v6/v7-A, ARMv8.0, LA464 (LA64 v1.00), MIPS32r2/MIPS64r2, POWER8
 * (ppc64 and ppc64le, Go's minimum for both), RV64GC, z196 (Go's minimum for s390x).
 */
export const PLATFORMS: readonly PlatformSpec[] = Object.freeze([
  spec({
    platform: { os: 'linux', architecture: 'amd64' },
    zigTarget: 'x86_64-linux-musl',
    zigCpu: 'x86_64',
    elfMachine: 'Advanced Micro Devices X86-64',
    elfClass: 64,
    endian: 'little',
    qemu: 'qemu-x86_64-static',
    qemuCpu: 'qemu64',
  }),
  spec({
    platform: { os: 'linux', architecture: '386' },
    zigTarget: 'x86-linux-musl',
    zigCpu: 'i686',
    elfMachine: 'Intel 80386',
    elfClass: 32,
    endian: 'little',
    qemu: 'qemu-i386-static',
    qemuCpu: 'pentium2',
  }),
  spec({
    platform: { os: 'linux', architecture: 'arm', variant: 'v5' },
    zigTarget: 'arm-linux-musleabi',
    zigCpu: 'arm926ej_s',
    elfMachine: 'ARM',
    elfClass: 32,
    endian: 'little',
    elfFlags: ['soft-float ABI'],
    armArch: 'v5TE',
    qemu: 'qemu-arm-static',
    qemuCpu: 'arm926',
  }),
  spec({
    platform: { os: 'linux', architecture: 'arm', variant: 'v6' },
    zigTarget: 'arm-linux-musleabihf',
    zigCpu: 'arm1176jzf_s',
    elfMachine: 'ARM',
    elfClass: 32,
    endian: 'little',
    elfFlags: ['hard-float ABI'],
    armArch: 'v6',
    qemu: 'qemu-arm-static',
    qemuCpu: 'arm1176',
  }),
  spec({
    platform: { os: 'linux', architecture: 'arm', variant: 'v7' },
    zigTarget: 'arm-linux-musleabihf',
    zigCpu: 'generic+v7a+vfp3d16',
    elfMachine: 'ARM',
    elfClass: 32,
    endian: 'little',
    elfFlags: ['hard-float ABI'],
    armArch: 'v7',
    qemu: 'qemu-arm-static',
    qemuCpu: 'cortex-a8',
  }),
  spec({
    platform: { os: 'linux', architecture: 'arm64', variant: 'v8' },
    zigTarget: 'aarch64-linux-musl',
    zigCpu: 'generic',
    elfMachine: 'AArch64',
    elfClass: 64,
    endian: 'little',
    qemu: 'qemu-aarch64-static',
    qemuCpu: 'cortex-a53',
  }),
  spec({
    platform: { os: 'linux', architecture: 'loong64' },
    zigTarget: 'loongarch64-linux-musl',
    zigCpu: 'loongarch64',
    elfMachine: 'LoongArch',
    elfClass: 64,
    endian: 'little',
    elfFlags: ['DOUBLE-FLOAT'],
    qemu: 'qemu-loongarch64-static',
    qemuCpu: 'la464-loongarch-cpu',
  }),
  spec({
    // Soft-float (musleabi): runs on MIPS32r2 cores with or without an FPU (most routers that use
    // this platform have none).
    platform: { os: 'linux', architecture: 'mips' },
    zigTarget: 'mips-linux-musleabi',
    zigCpu: 'mips32r2',
    elfMachine: 'MIPS R3000',
    elfClass: 32,
    endian: 'big',
    elfFlags: ['o32', 'mips32r2'],
    qemu: 'qemu-mips-static',
    qemuCpu: '24Kc',
  }),
  spec({
    platform: { os: 'linux', architecture: 'mipsle' },
    zigTarget: 'mipsel-linux-musleabi',
    zigCpu: 'mips32r2',
    elfMachine: 'MIPS R3000',
    elfClass: 32,
    endian: 'little',
    elfFlags: ['o32', 'mips32r2'],
    qemu: 'qemu-mipsel-static',
    qemuCpu: '24Kc',
  }),
  spec({
    platform: { os: 'linux', architecture: 'mips64' },
    zigTarget: 'mips64-linux-muslabi64',
    zigCpu: 'mips64r2',
    elfMachine: 'MIPS R3000',
    elfClass: 64,
    endian: 'big',
    elfFlags: ['mips64r2'],
    qemu: 'qemu-mips64-static',
    qemuCpu: 'MIPS64R2-generic',
  }),
  spec({
    platform: { os: 'linux', architecture: 'mips64le' },
    zigTarget: 'mips64el-linux-muslabi64',
    zigCpu: 'mips64r2',
    elfMachine: 'MIPS R3000',
    elfClass: 64,
    endian: 'little',
    elfFlags: ['mips64r2'],
    qemu: 'qemu-mips64el-static',
    qemuCpu: 'MIPS64R2-generic',
  }),
  spec({
    // ELFv2, as musl requires on big-endian too (Go's own linker writes ELFv1 objects; both run).
    platform: { os: 'linux', architecture: 'ppc64' },
    zigTarget: 'powerpc64-linux-musl',
    zigCpu: 'pwr8',
    elfMachine: 'PowerPC64',
    elfClass: 64,
    endian: 'big',
    elfFlags: ['abiv2'],
    qemu: 'qemu-ppc64-static',
    qemuCpu: 'power8',
  }),
  spec({
    platform: { os: 'linux', architecture: 'ppc64le' },
    zigTarget: 'powerpc64le-linux-musl',
    zigCpu: 'pwr8',
    elfMachine: 'PowerPC64',
    elfClass: 64,
    endian: 'little',
    elfFlags: ['abiv2'],
    qemu: 'qemu-ppc64le-static',
    qemuCpu: 'power8',
  }),
  spec({
    platform: { os: 'linux', architecture: 'riscv64' },
    zigTarget: 'riscv64-linux-musl',
    zigCpu: 'baseline_rv64',
    elfMachine: 'RISC-V',
    elfClass: 64,
    endian: 'little',
    elfFlags: ['RVC', 'double-float ABI'],
    qemu: 'qemu-riscv64-static',
    qemuCpu: 'rv64',
  }),
  spec({
    platform: { os: 'linux', architecture: 's390x' },
    zigTarget: 's390x-linux-musl',
    zigCpu: 'z196',
    elfMachine: 'IBM S/390',
    elfClass: 64,
    endian: 'big',
    qemu: 'qemu-s390x-static',
    qemuCpu: ['z196-base', ...Z196_NOT_IN_TCG.map((f) => `${f}=off`)].join(','),
  }),
]);

/** Platforms zig can build: the default set for builds and tests. */
export const SUPPORTED_PLATFORMS: readonly PlatformSpec[] = PLATFORMS.filter((p) => !p.unsupported);

export class PlatformError extends ScratchpackError {
  declare readonly code: 'PLATFORM_UNKNOWN' | 'PLATFORM_UNSUPPORTED';
  constructor(code: PlatformError['code'], message: string) {
    super(code, message);
    this.name = 'PlatformError';
  }
}

const ALIASES: Record<string, string> = {
  'linux/arm64': 'linux/arm64/v8',
  'linux/arm': 'linux/arm/v7',
  'linux/x86_64': 'linux/amd64',
  'linux/x86-64': 'linux/amd64',
  'linux/aarch64': 'linux/arm64/v8',
  'linux/i386': 'linux/386',
  'linux/armhf': 'linux/arm/v7',
  'linux/armel': 'linux/arm/v5',
  'linux/loongarch64': 'linux/loong64',
  'linux/mipsel': 'linux/mipsle',
  'linux/mips64el': 'linux/mips64le',
  'linux/ppc64el': 'linux/ppc64le',
};

/** The matrix platform of oci's normalised spelling of `name` (`arm64`, `arm/v6`, `linux/arm/7`, `linux/AMD64`). */
function byOciName(name: string): PlatformSpec | undefined {
  let p: Platform;
  try {
    p = parsePlatform(name);
  } catch {
    return undefined;
  }
  const wanted = formatPlatform(p);
  return PLATFORMS.find((s) => formatPlatform(s.platform) === wanted);
}

/**
 * Look a platform up by `os/arch[/variant]` (Go/OCI names; `linux/arm64` means `linux/arm64/v8`,
 * `linux/arm` means `linux/arm/v7`, as docker buildx does; an architecture alone means Linux: `arm64`, `arm/v6`,
 * `386`) or by its label (`linux-arm64-v8`).
 * Unsupported platforms are returned too; use `requireBuildable` before compiling.
 */
export function findPlatform(name: string): PlatformSpec {
  const key = name.trim().toLowerCase();
  const canonical = ALIASES[key] ?? ALIASES[`linux/${key}`] ?? key;
  const found = PLATFORMS.find((p) => p.name === canonical || p.label === canonical) ?? byOciName(name);
  if (!found) {
    throw new PlatformError(
      'PLATFORM_UNKNOWN',
      `unknown platform "${name}": expected one of ${PLATFORMS.map((p) => p.name).join(', ')}`,
    );
  }
  return found;
}

/** Like `findPlatform`, but refuses platforms zig cannot build, saying why. */
export function requireBuildable(name: string): PlatformSpec {
  const p = findPlatform(name);
  if (p.unsupported) {
    throw new PlatformError(
      'PLATFORM_UNSUPPORTED',
      `platform ${p.name} cannot be built: ${p.unsupported}. Build it with another toolchain and pass the binary with --binary ${p.name}=PATH, or leave it out of --platform`,
    );
  }
  return p;
}

/** Parse a comma-separated `--platform` value (`all` = every supported platform). */
export function parsePlatformList(value: string | undefined): PlatformSpec[] {
  if (!value || value === 'all') return [...SUPPORTED_PLATFORMS];
  const names = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const seen = new Set<string>();
  const out: PlatformSpec[] = [];
  for (const n of names) {
    const p = requireBuildable(n);
    if (!seen.has(p.name)) {
      seen.add(p.name);
      out.push(p);
    }
  }
  // Keep matrix order so outputs (and the index) do not depend on how the list was typed.
  return out.sort((a, b) => PLATFORMS.indexOf(a) - PLATFORMS.indexOf(b));
}
