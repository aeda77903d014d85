/**
 * `scratchpack push IMAGE [REF]`: `copy` to a registry. IMAGE is read by the one rule (a stored name, a layout,
 * an archive); without REF a stored name pushes to itself (`ghcr.io/me/hello:1.0`, as docker push). Blobs
 * first, child manifests by digest, the index, the referrers, the tags last; every byte read is checked
 * against its digest, so a changed blob fails the push before anything names it.
 */
import { parseReference } from '@scratchpack/registry';
import { describeRef } from '@scratchpack/transport';
import type { Command } from 'commander';
import { UsageError } from '../errors.ts';
import { resolveImage } from '../image-ref.ts';
import { addRegistryFlags, clientOptions, type RegistryFlags } from '../registry-options.ts';
import { type CopyFlags, copyBetween, printCopy } from './copy.ts';

const collect = (v: string, acc: string[]) => [...acc, v];

export function pushCommand(program: Command): void {
  const cmd = program
    .command('push')
    .description(
      'push an image or multi-arch index (stored, in a layout or an archive) and its referrers to a registry (blobs, manifests, index, then tags)',
    )
    .argument('<image>', 'a name in the local store (hello) or an OCI layout and tag (dist/oci:latest)')
    .argument(
      '[reference]',
      'registry/repository[:tag], e.g. ghcr.io/me/hello:1.0.0 or 127.0.0.1:5000/hello (default: the stored name, as docker push)',
    )
    .option('-t, --tag <tag>', 'also point this tag at the pushed image (repeatable)', collect, [])
    .option('--from <repository>', 'a repository on the same registry to mount blobs from')
    .option('--chunk-size <bytes>', 'PATCH chunk size for large blobs')
    .option('--no-referrers', 'leave the SBOMs, provenance and signatures stored beside the image behind')
    .option('--json', 'print the summary as JSON');
  addRegistryFlags(cmd).action(
    async (src: string, reference: string | undefined, opts: RegistryFlags & CopyFlags) => {
      let target = reference;
      if (target === undefined) {
        const from = await resolveImage(src);
        if (from.kind !== 'store')
          throw new UsageError(
            `${src} is ${describeRef(from)}: say where to push it`,
            `e.g. scratchpack push ${src} ghcr.io/me/hello:1.0.0`,
          );
        target = from.name;
      }
      const ref = parseReference(target.replace(/^docker:\/\//, ''));
      const dst = { kind: 'registry' as const, reference: ref, input: target };
      printCopy(await copyBetween(src, dst, opts, await clientOptions(opts)), opts.json);
    },
  );
}
