/**
 * Platforms with Go's names (OCI-NOTES #3): parse `os/arch[/variant]`, normalise aliases
 * (x86_64 → amd64, aarch64 → arm64 + v8, armhf → arm + v7, i386 → 386, …), format and match.
 */
import { endianness } from 'node:os';
import { InvalidPlatformError } from './errors.ts';

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
  'os.version'?: string;
  'os.features'?: string[];
  features?: string[];
}

const ARCH_ALIASES: Record<string, { architecture: string; variant?: string }> = {
  x86_64: { architecture: 'amd64' },
  'x86-64': { architecture: 'amd64' },
  amd64: { architecture: 'amd64' },
  aarch64: { architecture: 'arm64' },
  arm64: { architecture: 'arm64' },
  armhf: { architecture: 'arm', variant: 'v7' },
  armel: { architecture: 'arm', variant: 'v6' },
  arm: { architecture: 'arm' },
  i386: { architecture: '386' },
  i686: { architecture: '386' },
  x86: { architecture: '386' },
  '386': { architecture: '386' },
  ppc64le: { architecture: 'ppc64le' },
  ppc64el: { architecture: 'ppc64le' },
  riscv64: { architecture: 'riscv64' },
  mips64le: { architecture: 'mips64le' },
  mips64el: { architecture: 'mips64le' },
  s390x: { architecture: 's390x' },
  loongarch64: { architecture: 'loong64' },
  mipsel: { architecture: 'mipsle' },
};

function normalizeVariant(
  architecture: string,
  variant: string | undefined,
  input: string,
): string | undefined {
  const v = variant?.toLowerCase();
  switch (architecture) {
    case 'arm64':
      if (v === undefined || v === '8' || v === 'v8' || v === 'v8.0') return 'v8';
      if (/^v?9(\.\d+)?$/.test(v) || /^v8\.\d+$/.test(v)) return v.startsWith('v') ? v : `v${v}`;
      throw new InvalidPlatformError(input, `unknown arm64 variant ${variant}`);
    case 'arm': {
      if (v === undefined) return 'v7';
      const m = /^v?([5-8])$/.exec(v);
      if (!m) throw new InvalidPlatformError(input, `unknown arm variant ${variant} (use v5, v6, v7 or v8)`);
      return `v${m[1]}`;
    }
    case 'amd64':
      if (v === undefined || v === 'v1') return undefined;
      if (/^v[2-4]$/.test(v)) return v;
      throw new InvalidPlatformError(input, `unknown amd64 variant ${variant}`);
    default:
      return v || undefined;
  }
}

/** Normalise os/architecture/variant to Go's names; other fields are kept. */
export function normalizePlatform(p: Platform): Platform {
  const input = formatPlatformAsGiven(p);
  const os = p.os.toLowerCase();
  if (!os) throw new InvalidPlatformError(input, 'missing os');
  const alias = ARCH_ALIASES[p.architecture.toLowerCase()];
  const architecture = alias?.architecture ?? p.architecture.toLowerCase();
  if (!architecture) throw new InvalidPlatformError(input, 'missing architecture');
  const variant = normalizeVariant(architecture, p.variant ?? alias?.variant, input);
  const out: Platform = { ...p, os, architecture };
  if (variant) out.variant = variant;
  else delete out.variant;
  return out;
}

/** Go's architecture names, for telling `arm/v6` (arch/variant) from `linux/arm` (os/arch). */
const GO_ARCHES = new Set([
  '386',
  'amd64',
  'arm',
  'arm64',
  'loong64',
  'mips',
  'mipsle',
  'mips64',
  'mips64le',
  'ppc64',
  'ppc64le',
  'riscv64',
  's390x',
  'wasm',
]);

/** Operating systems Go knows, so that an os is never read as an architecture. */
const GO_OSES = new Set([
  'linux',
  'windows',
  'darwin',
  'freebsd',
  'netbsd',
  'openbsd',
  'solaris',
  'illumos',
  'aix',
]);

const isArch = (s: string) => {
  const a = s.toLowerCase();
  return !GO_OSES.has(a) && (GO_ARCHES.has(a) || Object.hasOwn(ARCH_ALIASES, a));
};

/** True when a platform string names a variant: `linux/arm/v6`, `arm/v6`. */
function variantGiven(s: string): boolean {
  const parts = s.trim().split('/');
  return parts.length === 3 || (parts.length === 2 && isArch(parts[0]!));
}

/**
 * Parse `os/arch[/variant]` (e.g. `linux/arm64/v8`, `linux/amd64`) and normalise it. As docker (containerd's
 * platforms.Parse), an architecture alone or with its variant means Linux: `arm64` → linux/arm64/v8,
 * `arm` → linux/arm/v7, `arm/v6` → linux/arm/v6, `386`, `ppc64le`, `s390x`, `riscv64`.
 */
export function parsePlatform(s: string): Platform {
  const parts = s.trim().split('/');
  if (parts.length < 1 || parts.length > 3 || parts.some((x) => x === '')) {
    throw new InvalidPlatformError(
      s,
      'expected os/arch or os/arch/variant (or an architecture: arm64, arm/v6)',
    );
  }
  if (parts.length <= 2 && isArch(parts[0]!)) parts.unshift('linux');
  if (parts.length < 2) {
    throw new InvalidPlatformError(
      s,
      'expected os/arch or os/arch/variant (or an architecture: arm64, arm/v6)',
    );
  }
  const [os, architecture, variant] = parts as [string, string, string | undefined];
  return normalizePlatform(variant ? { os, architecture, variant } : { os, architecture });
}

/** `os/arch[/variant]` as the platform says it (not normalised): how a descriptor names itself in messages. */
export function formatPlatformAsGiven(p: Platform): string {
  return [p.os, p.architecture, p.variant].filter(Boolean).join('/');
}

/** `os/arch[/variant]` of a normalised platform. */
export function formatPlatform(p: Platform): string {
  return formatPlatformAsGiven(normalizePlatform(p));
}

/**
 * True when `have` satisfies `want`. Both are normalised first, so `linux/arm64` matches
 * `linux/arm64/v8`. When `want` names no variant (as given), any variant of the architecture matches.
 */
export function platformMatches(want: Platform | string, have: Platform | string): boolean {
  const wRaw = typeof want === 'string' ? undefined : want;
  const w = typeof want === 'string' ? parsePlatform(want) : normalizePlatform(want);
  const h = typeof have === 'string' ? parsePlatform(have) : normalizePlatform(have);
  if (w.os !== h.os || w.architecture !== h.architecture) return false;
  const wantVariantGiven = typeof want === 'string' ? variantGiven(want) : wRaw?.variant !== undefined;
  if (wantVariantGiven && w.variant !== h.variant) return false;
  if (w['os.version'] && w['os.version'] !== h['os.version']) return false;
  return true;
}

/** True when two platforms are the same after normalisation (os, architecture, variant). */
export function platformEquals(a: Platform, b: Platform): boolean {
  return formatPlatform(a) === formatPlatform(b);
}

/** What {@link platformOfNode} reads of a Node process: `process.platform`, `process.arch` and two details. */
export interface NodeHost {
  /** `process.platform`. */
  platform: string;
  /** `process.arch`. */
  arch: string;
  /** `process.config.variables.arm_version` (`'6'`, `'7'`, …): the ARM architecture Node was built for. */
  armVersion?: unknown;
  /** `os.endianness()`: Node says `ppc64` for both byte orders of 64-bit POWER. */
  endianness: 'BE' | 'LE';
}

/** Node's `process.arch` → Go's architecture, for the ones whose names differ (ppc64 and arm are below). */
const NODE_ARCHES: Record<string, string> = {
  x64: 'amd64',
  ia32: '386',
  mipsel: 'mipsle',
  mips64el: 'mips64le',
};

/**
 * The platform of a Node process, in Go's names: x64 → amd64, ia32 → 386, arm → arm with the variant Node
 * was built for (v5, v6, v7; v7 when unknown), arm64 → arm64/v8, mipsel → mipsle, mips64el → mips64le,
 * ppc64 → ppc64 or ppc64le by byte order; loong64, mips, riscv64 and s390x keep their names.
 */
export function platformOfNode(host: NodeHost): Platform {
  const os = host.platform === 'win32' ? 'windows' : host.platform;
  if (host.arch === 'ppc64') {
    return normalizePlatform({ os, architecture: host.endianness === 'LE' ? 'ppc64le' : 'ppc64' });
  }
  if (host.arch === 'arm') {
    const v = String(host.armVersion ?? '');
    return normalizePlatform(
      /^[5-8]$/.test(v) ? { os, architecture: 'arm', variant: `v${v}` } : { os, architecture: 'arm' },
    );
  }
  return normalizePlatform({ os, architecture: NODE_ARCHES[host.arch] ?? host.arch });
}

/**
 * The platform of the running Node process, in Go's names (see {@link platformOfNode}). `os` replaces the
 * host's operating system: images are Linux images whatever the host, so the CLI asks for `linux`.
 */
export function hostPlatform(options: { os?: string } = {}): Platform {
  const variables = process.config.variables as unknown as Record<string, unknown>;
  const p = platformOfNode({
    platform: process.platform,
    arch: process.arch,
    armVersion: variables.arm_version,
    endianness: endianness(),
  });
  return options.os ? { ...p, os: options.os } : p;
}
