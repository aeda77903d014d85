/**
 * `pnpm --silent release:tags <git tag> [--repository ghcr.io/Owner/Name]`: the image tags a release
 * publishes, printed as KEY=VALUE lines for $GITHUB_ENV (and for `pnpm publish:images`):
 *
 *   v1.2.3        → v1.2.3, 1.2, latest
 *   v1.2.3-rc.1   → v1.2.3-rc.1 only (a prerelease never moves `X.Y` or `latest`)
 *
 *   RELEASE_TAG=v1.2.3
 *   IMAGE_REF=ghcr.io/owner/name:v1.2.3      (with --repository; the repository is lowercased)
 *   IMAGE_TAGS=1.2,latest                    (the tags besides the one in IMAGE_REF)
 */
import { isMain, parseArgs, ReleaseError, runMain } from './release-common.ts';

// SemVer 2.0 with a leading `v`; build metadata (`+…`) is refused because `+` cannot appear in an image tag.
const SEMVER =
  /^v(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?$/;
// The OCI distribution spec's tag grammar.
const OCI_TAG = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;

export interface ReleaseVersion {
  tag: string;
  major: number;
  minor: number;
  patch: number;
  prerelease: string | undefined;
}

/** Parse a release tag `vX.Y.Z[-prerelease]`, or throw saying what a release tag looks like. */
export function parseReleaseTag(tag: string): ReleaseVersion {
  const m = SEMVER.exec(tag);
  if (!m || !OCI_TAG.test(tag)) {
    throw new ReleaseError(
      `"${tag}" is not a release tag: expected vMAJOR.MINOR.PATCH or vMAJOR.MINOR.PATCH-PRERELEASE (e.g. v1.2.3, v1.2.3-rc.1; no +build metadata)`,
    );
  }
  return { tag, major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]), prerelease: m[4] };
}

/** Image tags for a release tag: the tag itself first, then `X.Y` and `latest` unless it is a prerelease. */
export function releaseTags(tag: string): string[] {
  const v = parseReleaseTag(tag);
  return v.prerelease !== undefined ? [v.tag] : [v.tag, `${v.major}.${v.minor}`, 'latest'];
}

/** `ghcr.io/Owner/Repo` → `ghcr.io/owner/repo`: registries (GHCR included) only accept lowercase repositories. */
export function imageRepository(repository: string): string {
  const r = repository.trim().toLowerCase().replace(/\/+$/, '');
  if (!/^[a-z0-9.-]+(:\d+)?(\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)+$/.test(r)) {
    throw new ReleaseError(`"${repository}" is not an image repository like ghcr.io/owner/name`);
  }
  return r;
}

/** The KEY=VALUE lines `pnpm publish:images` reads. */
export function releaseEnv(tag: string, repository?: string): Record<string, string> {
  const [own, ...rest] = releaseTags(tag);
  const env: Record<string, string> = { RELEASE_TAG: own! };
  if (repository) env.IMAGE_REF = `${imageRepository(repository)}:${own}`;
  env.IMAGE_TAGS = rest.join(',');
  return env;
}

if (isMain(import.meta.url)) {
  runMain(() => {
    const { positional, values, flags } = parseArgs(process.argv.slice(2), {
      values: ['repository'],
      flags: ['json'],
    });
    if (positional.length !== 1) {
      throw new ReleaseError('usage: release-tags <vX.Y.Z> [--repository registry/owner/name] [--json]');
    }
    const env = releaseEnv(positional[0]!, values.repository?.[0]);
    if (flags.has('json'))
      console.log(JSON.stringify({ ...env, tags: releaseTags(positional[0]!) }, null, 2));
    else for (const [k, v] of Object.entries(env)) console.log(`${k}=${v}`);
  });
}
