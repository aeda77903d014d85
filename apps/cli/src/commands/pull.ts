/**
 * `scratchpack pull REF [IMAGE]`: `copy` from a registry into the local store (under REF's own name, as
 * docker pull) or a layout. Blobs the destination has are not downloaded again; referrers come along unless
 * `--no-referrers`. With `--platform`, only that platform's image (its manifest byte for byte, same digest).
 */
import { formatReference, parseReference } from '@scratchpack/registry';
import type { ImageRef } from '@scratchpack/transport';
import type { Command } from 'commander';
import { UsageError } from '../errors.ts';
import { destinationRef } from '../image-ref.ts';
import { addRegistryFlags, clientOptions, type RegistryFlags } from '../registry-options.ts';
import { type CopyFlags, copyBetween, printCopy } from './copy.ts';

/** Where `pull SOURCE [DEST]` writes: DEST by the store-or-layout rule, else the store under SOURCE's name. */
function destinationFor(source: string, dest: string | undefined): ImageRef {
  if (dest !== undefined) return destinationRef(dest);
  if (source.includes('@'))
    throw new UsageError(
      `${source} names a digest: say what to call it`,
      `e.g. scratchpack pull ${source} myimage:pinned (or a layout: ./dir:tag)`,
    );
  return { kind: 'store', name: source.replace(/^docker:\/\//, ''), input: source };
}

export function pullCommand(program: Command): void {
  const cmd = program
    .command('pull')
    .description(
      'pull an image or multi-arch index (with its SBOMs, provenance and signatures) from a registry into the local store or an OCI layout, verifying every digest',
    )
    .argument('<reference>', 'registry/repository[:tag|@digest]')
    .argument(
      '[image]',
      'a name in the local store (default: the reference, as docker pull) or an OCI layout to write, created if needed (./out:tag, dist/oci:tag)',
    )
    .option('--platform <platform>', 'keep only this platform of a multi-arch index')
    .option('--referrers', 'take the SBOMs, provenance and signatures along (the default)')
    .option('--no-referrers', 'leave the SBOMs, provenance and signatures stored beside the image behind')
    .option('--json', 'print the summary as JSON');
  addRegistryFlags(cmd).action(
    async (
      source: string,
      dest: string | undefined,
      opts: RegistryFlags & CopyFlags & { platform?: string },
    ) => {
      const ref = parseReference(source.replace(/^docker:\/\//, ''));
      const target = destinationFor(source, dest);
      if (target.kind === 'registry')
        throw new UsageError(
          `pull writes locally; ${dest} is a registry`,
          `copy between registries: scratchpack copy ${source} ${dest}`,
        );
      const from = `docker://${formatReference(ref)}`;
      const client = await clientOptions(opts);
      const result = await copyBetween(
        from,
        target,
        { ...opts, ...(opts.platform && { platform: opts.platform }) },
        client,
      );
      printCopy(result, opts.json);
    },
  );
}
