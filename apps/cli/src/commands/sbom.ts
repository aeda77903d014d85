/** `scratchpack sbom <ref|layout:tag> [--platform P] [--format spdx|cyclonedx]`: print a platform image's SBOM. */
import { CYCLONEDX_MEDIA_TYPE, SPDX_MEDIA_TYPE } from '@scratchpack/attest';
import { hostPlatform, platformMatches } from '@scratchpack/oci';
import type { Command } from 'commander';
import { UsageError } from '../errors.ts';
import { addRegistryFlags, clientOptions, type RegistryFlags } from '../registry-options.ts';
import { openTarget } from '../supply/target.ts';

const TYPES: Record<string, string> = { spdx: SPDX_MEDIA_TYPE, cyclonedx: CYCLONEDX_MEDIA_TYPE };

export function sbomCommand(program: Command): void {
  const cmd = program
    .command('sbom')
    .description('print the SBOM (SPDX 2.3 or CycloneDX 1.5 JSON) stored beside a platform image')
    .argument(
      '<image>',
      'an image: a layout (dist/oci:latest), a stored name, a registry reference (see --help of scratchpack)',
    )
    .option('--platform <platform>', 'which platform image of an index (default: this host)')
    .option('--format <format>', 'spdx or cyclonedx', 'spdx');
  addRegistryFlags(cmd).action(
    async (ref: string, opts: RegistryFlags & { platform?: string; format: string }) => {
      const type = TYPES[opts.format];
      if (!type) throw new UsageError(`--format ${opts.format}: expected spdx or cyclonedx`);
      const target = await openTarget(ref, await clientOptions(opts));
      try {
        const [top, ...children] = target.subjects;
        let subject = top!;
        if (children.length) {
          const host = hostPlatform({ os: 'linux' });
          const want = opts.platform ?? `${host.os}/${host.architecture}`;
          const match = children.find(
            (c) => c.descriptor.platform && platformMatches(want, c.descriptor.platform),
          );
          if (!match) {
            throw new UsageError(
              `${ref} has no image for ${want}`,
              `pick one of: ${children.map((c) => c.what).join(', ')} (--platform)`,
            );
          }
          subject = match;
        }
        const found = await target.referrers(subject.descriptor.digest, type);
        if (!found.length) {
          throw new UsageError(
            `${ref}: the ${subject.what} image ${subject.descriptor.digest} has no ${opts.format} SBOM`,
            'build it without --no-sbom (and push or pull it with its referrers)',
          );
        }
        const a = await target.artifact(found[0]!);
        const doc = a.blobs.find((b) => b.descriptor.mediaType === type);
        if (!doc) throw new UsageError(`${ref}: SBOM referrer ${found[0]!.digest} holds no ${type} document`);
        process.stdout.write(doc.bytes);
      } finally {
        await target.close();
      }
    },
  );
}
