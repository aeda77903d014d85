/** How to run a platform's binary on this host: natively, or under qemu-user (no binfmt_misc needed). */
import {
  formatPlatform,
  hostPlatform,
  type Platform,
  parsePlatform,
  ScratchpackError,
} from '@scratchpack/oci';
import { findOnPath } from '@scratchpack/which';
import type { PlatformSpec } from './platforms.ts';

export interface Runner {
  /** `native`, or the qemu-user binary. */
  kind: 'native' | 'qemu';
  /** The program to spawn and the arguments that go before the target binary. */
  command: string | undefined;
  prefixArgs: string[];
  /** The qemu binary name (also for native platforms, for error messages). */
  qemu: string;
  /** Absolute path of the qemu binary when found on PATH. */
  qemuPath?: string;
}

export interface QemuOptions {
  /** Pin the emulated CPU to the variant's oldest model (tests do, so a mislabelled variant fails). */
  pinCpu?: boolean;
  /** Force qemu even when the host could run the binary natively. */
  forceEmulation?: boolean;
  /** The platform this host runs natively (default: oci's `hostPlatform`, e.g. linux/ppc64le on a POWER host). */
  host?: Platform | string;
  env?: NodeJS.ProcessEnv;
}

/** The runner for `p` on this host. `command` is undefined when qemu is needed but missing. */
export function qemuFor(p: PlatformSpec, o: QemuOptions = {}): Runner {
  const env = o.env ?? process.env;
  const host = typeof o.host === 'string' ? parsePlatform(o.host) : (o.host ?? hostPlatform({ os: 'linux' }));
  const qemuPath = findOnPath(p.qemu, env);
  if (!o.forceEmulation && formatPlatform(host) === formatPlatform(p.platform)) {
    return {
      kind: 'native',
      command: undefined,
      prefixArgs: [],
      qemu: p.qemu,
      ...(qemuPath ? { qemuPath } : {}),
    };
  }
  return {
    kind: 'qemu',
    command: qemuPath,
    prefixArgs: o.pinCpu ? ['-cpu', p.qemuCpu] : [],
    qemu: p.qemu,
    ...(qemuPath ? { qemuPath } : {}),
  };
}

export class QemuMissingError extends ScratchpackError {
  declare readonly code: 'QEMU_MISSING';
  constructor(p: PlatformSpec) {
    super(
      'QEMU_MISSING',
      `cannot run ${p.name} here: ${p.qemu} is not installed. Install Debian's qemu-user-static (\`apt-get install qemu-user-static\`)`,
    );
    this.name = 'QemuMissingError';
  }
}

/** argv to run `binary` with `args` for platform `p`; throws `QemuMissingError` when qemu is needed and absent. */
export function runArgv(p: PlatformSpec, binary: string, args: string[], o: QemuOptions = {}): string[] {
  const r = qemuFor(p, o);
  if (r.kind === 'native') return [binary, ...args];
  if (!r.command) throw new QemuMissingError(p);
  return [r.command, ...r.prefixArgs, binary, ...args];
}
