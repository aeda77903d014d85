// The toolchain's PATH lookup, by file rather than by package: toolchain's own tests use test-utils, and a
// package dependency back on toolchain would be a cycle (turbo refuses one). path.ts imports node only.
import { findOnPath } from '@scratchpack/which';

/** True when running under CI (`CI=true` or `CI=1`): missing tools then fail tests instead of skipping them. */
export const isCI = /^(true|1)$/i.test(process.env.CI ?? '');

/** Debian package that provides each external tool the integration tests use. */
export const TOOL_PACKAGES: Record<string, string> = {
  'docker-registry': 'docker-registry',
  skopeo: 'skopeo',
  umoci: 'umoci',
  podman: 'podman',
  buildah: 'buildah',
  pigz: 'pigz',
  busybox: 'busybox-static',
  htpasswd: 'apache2-utils',
  readelf: 'binutils',
  file: 'file',
  bwrap: 'bubblewrap',
  mmdebstrap: 'mmdebstrap',
  debootstrap: 'debootstrap',
  setpriv: 'util-linux',
  'dpkg-query': 'dpkg',
  taskset: 'util-linux',
  gzip: 'gzip',
  runc: 'runc',
  tmux: 'tmux',
  perl: 'perl-base',
  'update-ca-certificates': 'ca-certificates',
  'qemu-aarch64-static': 'qemu-user-static',
  'qemu-arm-static': 'qemu-user-static',
  'qemu-i386-static': 'qemu-user-static',
  'qemu-ppc64le-static': 'qemu-user-static',
  'qemu-riscv64-static': 'qemu-user-static',
  'qemu-mips64el-static': 'qemu-user-static',
  'qemu-mips64-static': 'qemu-user-static',
  'qemu-mips-static': 'qemu-user-static',
  'qemu-mipsel-static': 'qemu-user-static',
  'qemu-ppc64-static': 'qemu-user-static',
  'qemu-s390x-static': 'qemu-user-static',
  'qemu-loongarch64-static': 'qemu-user-static',
  'qemu-x86_64-static': 'qemu-user-static',
};

/** Absolute path of `name` on PATH, or undefined. */
export function toolPath(name: string): string | undefined {
  return findOnPath(name);
}

/**
 * Decide whether a suite that needs external tools can run.
 * Returns `{ skip: false }` when every tool is present. When one is missing:
 * - under CI the suite must fail, so `skip` is false and `missing` explains (call `assertTools()` in a test);
 * - on a developer machine the suite is skipped with the reason.
 */
export function requireTools(...names: string[]): { skip: boolean; missing: string[]; reason: string } {
  const missing = names.filter((n) => !toolPath(n));
  const pkgs = [...new Set(missing.map((n) => TOOL_PACKAGES[n] ?? n))];
  const reason = missing.length
    ? `missing ${missing.join(', ')}: install with \`apt-get install ${pkgs.join(' ')}\` (or run \`pnpm test:setup\`)`
    : '';
  return { skip: missing.length > 0 && !isCI, missing, reason };
}
