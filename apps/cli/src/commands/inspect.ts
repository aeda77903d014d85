import {
  formatPlatform,
  type Image,
  isImageIndex,
  type Platform,
  validateImage,
  validateIndex,
} from '@scratchpack/oci';
import { describeRef, subjectDigests } from '@scratchpack/transport';
import type { Command } from 'commander';
import { openImage } from '../image-ref.ts';
import { bytes, table } from '../output.ts';
import { addRegistryFlags, clientOptions, type RegistryFlags } from '../registry-options.ts';
import { safeJson, say, sayJson } from '../safe-text.ts';
import { referrersOf } from '../supply/referrers.ts';

interface ImageSummary {
  platform: string;
  digest: string;
  mediaType: string;
  /** Compressed bytes: manifest + config + layers. */
  size: number;
  layers: { digest: string; size: number; mediaType: string }[];
  config: Record<string, unknown>;
}

async function summarize(image: Image, platform?: Platform): Promise<ImageSummary> {
  const manifest = await image.manifest();
  const configFile = await image.configFile();
  const p = platform ?? {
    os: configFile.os,
    architecture: configFile.architecture,
    variant: configFile.variant,
  };
  const layerBytes = manifest.layers.reduce((n, l) => n + l.size, 0);
  return {
    platform: formatPlatform(p),
    digest: (await image.digest()).toString(),
    mediaType: image.mediaType(),
    size: (await image.size()) + manifest.config.size + layerBytes,
    layers: manifest.layers.map((l) => ({ digest: l.digest, size: l.size, mediaType: l.mediaType })),
    config: { ...(configFile.config ?? {}) },
  };
}

export function inspectCommand(program: Command): void {
  const cmd = program
    .command('inspect')
    .description(
      'show an image or multi-arch index (stored, in a layout or archive, or in a registry without pulling it), after checking every digest and size',
    )
    .argument(
      '<image>',
      'a stored name (hello), a layout (dist/oci:latest) or a registry reference (127.0.0.1:5000/app:1)',
    )
    .option('--json', 'print JSON')
    .option('--raw', 'print the raw manifest or index bytes (as crane manifest)')
    .option('--no-validate', 'skip recomputing digests');
  addRegistryFlags(cmd).action(
    async (
      ref: string,
      opts: RegistryFlags & { json?: boolean; raw?: boolean; validate: boolean; verbose?: boolean },
    ) => {
      const source = await openImage(ref, {
        client: await clientOptions(opts),
        verbose: opts.verbose === true,
      });
      try {
        const subject = source.subject;
        const tag =
          source.ref.kind === 'layout' || source.ref.kind === 'archive' ? source.ref.tag : undefined;
        if (opts.raw) {
          process.stdout.write(source.raw);
          return;
        }
        // A registry image is inspected without downloading its layers (crane manifest/digest): its manifests
        // and configs are checked against their digests as they are read.
        const remote = source.ref.kind === 'registry';
        let checked: number | undefined;
        if (opts.validate && !remote) {
          checked = (isImageIndex(subject) ? await validateIndex(subject) : await validateImage(subject))
            .checked;
        }
        const images = isImageIndex(subject)
          ? await Promise.all((await subject.images()).map((c) => summarize(c.image, c.descriptor.platform)))
          : [await summarize(subject)];
        const result = {
          reference: ref,
          resolved: describeRef(source.ref),
          tag: tag ?? null,
          digest: (await subject.digest()).toString(),
          mediaType: subject.mediaType(),
          annotations: isImageIndex(subject)
            ? ((await subject.indexManifest()).annotations ?? {})
            : ((await subject.manifest()).annotations ?? {}),
          validated: checked !== undefined,
          images,
          referrers: (await referrersOf(source, await subjectDigests(subject))).map((r) => ({
            subject: r.subject,
            artifactType: r.descriptor.artifactType,
            digest: r.descriptor.digest,
            size: r.descriptor.size,
          })),
        };
        if (opts.json) {
          sayJson(result);
          return;
        }
        say(`${ref}  ${result.mediaType}  (${result.resolved})`);
        say(`digest: ${result.digest}`);
        for (const [k, v] of Object.entries(result.annotations)) say(`  ${k}: ${v}`);
        say();
        say(
          table(
            images.map((i) => [i.platform, i.digest, String(i.layers.length), bytes(i.size)]),
            ['PLATFORM', 'MANIFEST DIGEST', 'LAYERS', 'SIZE'],
          ),
        );
        const cfg = images[0]?.config ?? {};
        const show = (k: string) => (cfg[k] === undefined ? undefined : `${k}: ${safeJson(cfg[k])}`);
        const lines = ['Entrypoint', 'Cmd', 'Env', 'WorkingDir', 'User', 'ExposedPorts', 'Labels']
          .map(show)
          .filter(Boolean);
        if (lines.length) say(`\n${lines.join('\n')}`);
        if (result.referrers.length) {
          const of = (d: string) =>
            d === result.digest ? 'index' : (images.find((i) => i.digest === d)?.platform ?? d.slice(0, 19));
          say(`\nreferrers (${result.referrers.length}):`);
          say(
            table(
              result.referrers.map((r) => [of(r.subject), r.artifactType ?? '', r.digest, bytes(r.size)]),
              ['SUBJECT', 'TYPE', 'DIGEST', 'SIZE'],
            ),
          );
        }
        if (checked !== undefined) say(`\nvalid: ${checked} digests and sizes recomputed`);
        else if (remote) say('\nmanifests and configs checked against their digests; layers not downloaded');
      } finally {
        await source.close();
      }
    },
  );
}
