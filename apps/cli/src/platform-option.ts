/**
 * `--platform` of build and import: only platforms of the matrix (toolchain's `findPlatform`, aliases such as
 * `linux/arm64` or `linux/x86_64` included), so that what goes into an index and into `{os}/{arch}` paths is
 * always one of the names the matrix knows — never `linux/foo`, `windows/amd64` or `../../..`.
 */
import { formatPlatform, type Platform, parsePlatform } from '@scratchpack/oci';
import { findPlatform, PLATFORMS, type PlatformSpec } from '@scratchpack/toolchain';
import { UsageError } from './errors.ts';

function lookup(value: string): PlatformSpec | undefined {
  try {
    return findPlatform(value);
  } catch {
    // not a name or alias of the matrix as written: try its normalised OCI spelling (linux/arm/7, linux/AMD64)
  }
  try {
    return findPlatform(formatPlatform(parsePlatform(value)));
  } catch {
    return undefined;
  }
}

/** The matrix platform `value` names, as an OCI platform; a usage error naming the known ones otherwise. */
export function matrixPlatform(value: string, flag = '--platform'): Platform {
  const spec = lookup(value);
  if (!spec) {
    throw new UsageError(
      `${flag} ${JSON.stringify(value)}: not a platform scratchpack builds images for`,
      `use one of ${PLATFORMS.map((p) => p.name).join(', ')} (scratchpack platforms lists them)`,
    );
  }
  const { os, architecture, variant } = spec.platform;
  return variant ? { os, architecture, variant } : { os, architecture };
}
