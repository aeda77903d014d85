/** Where a built index goes from the CLI: `--output` specs, or the local store under the `-t` names. */
import {
  archivePublisher,
  layoutPublisher,
  multi,
  type Publisher,
  registryPublisher,
} from '@scratchpack/builder';
import { parseImageName, writeReferrers } from '@scratchpack/oci';
import type { ClientOptions } from '@scratchpack/registry';
import { UsageError } from './errors.ts';
import { localStore } from './image-ref.ts';
import type { OutputSpec } from './output-spec.ts';

/**
 * Where `--output` specs go: layouts first (blobs, then index.json last), then archives, made from the first
 * layout (a temporary one if none was asked for), then registries (pushed, as buildx -o type=registry and ko
 * do: each to its own tag, plus `tags`).
 */
export function outputsPublisher(
  outputs: OutputSpec[],
  client: ClientOptions = {},
  tags: string[] = [],
  platformTags = false,
): Publisher {
  const layouts = outputs.filter((x) => x.kind === 'layout');
  const archives = outputs.filter((x) => x.kind === 'archive');
  const registries = outputs.filter((x) => x.kind === 'registry');
  const from = layouts[0] ? { layout: layouts[0].dest } : {};
  const pushTo = (dest: string): Publisher => ({
    publish: (index, o) => registryPublisher(dest, client).publish(index, { ...o, tags }),
  });
  return multi(
    ...layouts.map((l) => layoutPublisher(l.dest, { platformTags })),
    ...archives.map((a) => archivePublisher(a.dest, from)),
    ...registries.map((r) => pushTo(r.dest)),
  );
}

/** The local store, under the `-t` names, with the referrers beside the images. */
export function storePublisher(names: string[]): Publisher {
  return {
    async publish(index, o) {
      const store = localStore();
      await store.put(index, names, { signal: o.signal });
      if (o.referrers?.length) await writeReferrers(store.dir, o.referrers, { replace: true });
      return [];
    },
  };
}

/** The local-store names for `-t` values when no --output is given (checked before anything is built). */
export function storeNamesFor(tags: string[], example = 'hello'): string[] {
  if (tags.length === 0) {
    throw new UsageError(
      'no --output and no --tag given',
      `name the image for the local store (-t ${example}) or write it somewhere (--output dist/oci or --output dist/image.oci.tar)`,
    );
  }
  return tags.map((t) => parseImageName(t).familiar);
}
