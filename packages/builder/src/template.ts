/**
 * Per-platform templates: a build context (`dist/{label}`), a Dockerfile path or a compiler flag, expanded
 * for one platform. A platform only ever names directories below the template's own.
 */
import { formatPlatformAsGiven } from '@scratchpack/oci';
import { BuildInputError } from './errors.ts';

/** The placeholders every per-platform value understands. */
export const PLACEHOLDERS = ['os', 'arch', 'variant', 'label', 'platform'] as const;

/**
 * Expand `{label}`, `{os}`, `{arch}`, `{variant}`, `{platform}` in a per-platform template (a path, or a
 * `--cflag`). `what` names the value in the error for an unknown placeholder.
 */
export function expandTemplate(
  template: string,
  p: { os: string; architecture: string; variant?: string | undefined },
  what = `"${template}"`,
): string {
  const label = [p.os, p.architecture, p.variant].filter(Boolean).join('-');
  const values: Record<string, string> = {
    label,
    os: p.os,
    arch: p.architecture,
    variant: p.variant ?? '',
    platform: formatPlatformAsGiven(p),
  };
  return template.replace(/\{(\w+)\}/g, (m, k: string) => {
    if (!(k in values))
      throw new BuildInputError(
        `unknown placeholder ${m} in ${what}`,
        `known placeholders: ${PLACEHOLDERS.map((k) => `{${k}}`).join(', ')}`,
      );
    // A platform can only ever name directories below the template's own, never climb out of it.
    const v = values[k]!;
    if (v !== '' && v.split('/').some((seg) => !/^[A-Za-z0-9_][A-Za-z0-9._-]*$/.test(seg)))
      throw new BuildInputError(
        `${m} in "${template}" would be ${JSON.stringify(v)}, which is not a path-safe platform name`,
      );
    return v;
  });
}
