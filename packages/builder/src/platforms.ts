/**
 * Platforms as users name them (`--platform` of build and import, `$PLATFORMS` of the example packages): only
 * platforms of the matrix (toolchain's `findPlatform`, aliases such as
 * `linux/arm64`, `linux/x86_64` and docker's short forms `arm64`, `arm/v6` included), so that what goes into an index and into `{os}/{arch}` paths is
 * always one of the names the matrix knows — never `linux/foo`, `windows/amd64` or `../../..`.
 */
import { formatPlatform, type Platform, parsePlatform } from '@scratchpack/oci';
import { findPlatform, PLATFORMS, type PlatformSpec, SUPPORTED_PLATFORMS } from '@scratchpack/toolchain';
import { BuildInputError } from './errors.ts';

function lookup(value: string): PlatformSpec | undefined {
  try {
    return findPlatform(value);
  } catch {
    return undefined;
  }
}

/** Why `value` is not a platform of the matrix, in a few words. */
function whyNot(value: string): string {
  if (!/^[a-z0-9_]+(\/[a-z0-9_]+(\/[a-z0-9_.]+)?)?$/i.test(value.trim()))
    return 'expected os/arch or os/arch/variant (or an architecture: arm64, arm/v6), in letters and digits';
  let p: Platform;
  try {
    p = parsePlatform(value);
  } catch (e) {
    return (e as Error).message;
  }
  const specs = PLATFORMS.map((s) => s.platform);
  if (!specs.some((s) => s.os === p.os)) return `unknown os ${p.os} (images are built for linux)`;
  if (!specs.some((s) => s.architecture === p.architecture)) return `unknown architecture ${p.architecture}`;
  return `no ${p.variant ? `variant ${p.variant} of ` : ''}${p.os}/${p.architecture} in the platform matrix`;
}

/** The matrix platform `value` names, as an OCI platform; a `BuildInputError` naming the known ones otherwise. */
export function matrixPlatform(value: string, flag = '--platform'): Platform {
  const spec = lookup(value);
  if (!spec) {
    throw new BuildInputError(
      `${flag} ${JSON.stringify(value)}: ${whyNot(value)}; not a platform scratchpack builds images for`,
      `use one of ${PLATFORMS.map((p) => p.name).join(', ')} (scratchpack platforms lists them)`,
    );
  }
  const { os, architecture, variant } = spec.platform;
  return variant ? { os, architecture, variant } : { os, architecture };
}

/**
 * Comma-separated and repeated values (`linux/arm64,linux/amd64`, `all` = every platform zig can build here):
 * platforms of the matrix, each once, in the order given.
 */
export function matrixPlatforms(values: string | string[], flag = '--platform'): Platform[] {
  const out: Platform[] = [];
  for (const name of (typeof values === 'string' ? [values] : values)
    .flatMap((v) => v.split(','))
    .map((s) => s.trim())
    .filter(Boolean)) {
    const ps = name === 'all' ? SUPPORTED_PLATFORMS.map((s) => s.platform) : [matrixPlatform(name, flag)];
    for (const p of ps) if (!out.some((q) => formatPlatform(q) === formatPlatform(p))) out.push(p);
  }
  return out;
}
