/**
 * Programs built for another machine: every regular file a build puts into an image (COPY/ADD from the
 * context, `--binary`, `--c-source`, `--context`) that has an ELF header is checked against the image's
 * platform (machine, class, byte order; float ABI on arm/v5, o32 on 32-bit MIPS). One shared context packed
 * for `--platform all` would otherwise put one x86-64 program into every image, and `run` of any other
 * platform fails with "Invalid ELF image".
 */
import { formatPlatform, type Platform, ScratchpackError } from '@scratchpack/oci';
import {
  describeElf,
  ELF_HEADER_BYTES,
  elfMismatch,
  findPlatform,
  type PlatformSpec,
  parseElfHeader,
} from '@scratchpack/toolchain';

/** Code `BUILD_FOREIGN_BINARY`: a file of the build is a program for another platform than its image's. */
export class ForeignBinaryError extends ScratchpackError {
  declare readonly code: 'BUILD_FOREIGN_BINARY';
  constructor(message: string, hint: string) {
    super('BUILD_FOREIGN_BINARY', message, { hint });
  }
}

interface Found {
  path: string;
  what: string;
  /** The platforms whose images would hold it, with the reason for each. */
  platforms: Map<string, string>;
}

/** Collects the foreign ELF files of every platform's image, then reports them all at once. */
export class ForeignFiles {
  private readonly found = new Map<string, Found>();

  /** The bytes `watch`'s callback needs of each file. */
  readonly headBytes = ELF_HEADER_BYTES;

  /** A callback for the files of `platform`'s image; `undefined` for a platform outside the matrix. */
  watch(platform: Platform): ((path: string, head: Buffer) => void) | undefined {
    let spec: PlatformSpec;
    try {
      spec = findPlatform(formatPlatform(platform));
    } catch {
      return undefined;
    }
    return (path, head) => {
      const h = parseElfHeader(head);
      if (!h) return;
      const why = elfMismatch(h, spec);
      if (!why) return;
      const what = describeElf(h);
      const key = `${path}\0${what}`;
      const f = this.found.get(key) ?? { path, what, platforms: new Map<string, string>() };
      f.platforms.set(spec.name, why);
      this.found.set(key, f);
    };
  }

  /** Throws `ForeignBinaryError` naming each foreign file and the platforms (in `order`) it does not fit. */
  check(order: Platform[]): void {
    if (this.found.size === 0) return;
    const names = order.map((p) => {
      try {
        return findPlatform(formatPlatform(p)).name;
      } catch {
        return formatPlatform(p);
      }
    });
    const files = [...this.found.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    const lines = files.slice(0, 5).map((f) => {
      const ps = names.filter((n) => f.platforms.has(n));
      if (ps.length === 1) return `${f.path} ${f.platforms.get(ps[0]!)}`;
      return `${f.path} is built for ${f.what}, not for ${ps.join(', ')} (${ps.length} of ${names.length} platforms)`;
    });
    if (files.length > 5) lines.push(`and ${files.length - 5} more files`);
    throw new ForeignBinaryError(
      `programs for another platform would go into the images: ${lines.join('; ')}`,
      'give each platform its own build context (e.g. dist/{label}), compile with --c-source or pass --binary PLATFORM=PATH per platform; or pass --allow-foreign-binaries if the images are meant to hold them',
    );
  }
}
