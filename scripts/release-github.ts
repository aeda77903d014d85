/**
 * `pnpm release:github [--dry-run]`: make the GitHub release for $RELEASE_TAG (what `release:tags` prints) if it
 * does not exist yet — a prerelease for `vX.Y.Z-…`, notes from dist/release/summary.md — and attach
 * dist/hello.oci.tar and dist/release/SHA256SUMS (replacing earlier uploads, so a re-run is safe).
 * Uses the GitHub CLI (`gh`, authenticated by GH_TOKEN). --dry-run prints the commands instead.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import {
  capture,
  defaultArchive,
  isMain,
  parseArgs,
  ReleaseError,
  repoRoot,
  runMain,
} from './release-common.ts';
import { parseReleaseTag } from './release-tags.ts';

/** The `gh` invocations for a release; `exists` = whether `gh release view` found it. */
export function ghCommands(
  tag: string,
  exists: boolean,
  files: { archive: string; sums: string; notes: string },
): string[][] {
  const v = parseReleaseTag(tag);
  const create = [
    'release',
    'create',
    tag,
    '--verify-tag',
    '--title',
    tag,
    '--notes-file',
    files.notes,
    ...(v.prerelease !== undefined ? ['--prerelease'] : []),
  ];
  const upload = ['release', 'upload', tag, files.archive, files.sums, '--clobber'];
  return exists ? [upload] : [create, upload];
}

if (isMain(import.meta.url)) {
  runMain(() => {
    const { values, flags } = parseArgs(process.argv.slice(2), {
      values: ['out', 'archive'],
      flags: ['dry-run'],
    });
    const { env } = process;
    const tag = env.RELEASE_TAG;
    if (!tag)
      throw new ReleaseError(
        'RELEASE_TAG is not set (run `pnpm --silent release:tags vX.Y.Z >> "$GITHUB_ENV"` first)',
      );
    const out = resolve(repoRoot, values.out?.[0] ?? 'dist/release');
    const files = {
      archive: resolve(repoRoot, values.archive?.[0] ?? defaultArchive),
      sums: join(out, 'SHA256SUMS'),
      notes: join(out, 'summary.md'),
    };
    for (const f of Object.values(files)) {
      if (!existsSync(f))
        throw new ReleaseError(`${f} is missing (run \`pnpm build:images\` and \`pnpm release:assets\`)`);
    }
    const dryRun = flags.has('dry-run');
    const exists = dryRun ? false : capture('gh', ['release', 'view', tag, '--json', 'tagName']).status === 0;
    for (const args of ghCommands(tag, exists, files)) {
      console.log(`${dryRun ? 'would run' : 'running'}: gh ${args.join(' ')}`);
      if (dryRun) continue;
      const r = capture('gh', args, { stdio: ['ignore', 'inherit', 'inherit'] });
      if (r.status !== 0)
        throw new ReleaseError(`gh ${args.slice(0, 2).join(' ')} failed (exit ${r.status})`);
    }
  });
}
