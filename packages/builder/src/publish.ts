/**
 * Publishers, after ko's `publish.Interface`: where a built index goes. One small implementation per
 * destination (an OCI layout, an OCI archive, a registry) and `multi` for several, instead of one function
 * switching on a kind. A publisher writes the index, its tags and the referrers beside its images.
 */
import { mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import {
  type Artifact,
  type ImageIndex,
  throwIfAborted,
  trackTemp,
  writeArchive,
  writeLayout,
  writePlatformTags,
  writeReferrers,
} from '@scratchpack/oci';
import { type PushOptions, type PushResult, push } from '@scratchpack/registry';

export interface PublishOptions {
  /** Tags to point at the index (`org.opencontainers.image.ref.name` in a layout, tags in a registry). */
  tags: string[];
  /** SBOMs, provenance and signatures, written beside the images they name. */
  referrers?: Artifact[];
  /** Repository name for `io.containerd.image.name` / docker load, e.g. `ghcr.io/me/hello`. */
  imageName?: string;
  /** Timestamps of an archive's entries (default 0). */
  sourceDateEpoch?: number;
  /** Cancels publishing: between steps, and the layout and archive writes and the push themselves. */
  signal?: AbortSignal;
}

/** One place an index was published to. */
export interface Published {
  kind: 'layout' | 'archive' | 'registry';
  /** As given to the publisher: a directory, a file, or a registry reference. */
  dest: string;
  /** The registry's answer, for a push. */
  push?: PushResult;
}

export interface Publisher {
  publish(index: ImageIndex, o: PublishOptions): Promise<Published[]>;
}

async function layoutWithReferrers(dir: string, index: ImageIndex, o: PublishOptions): Promise<void> {
  await writeLayout(dir, index, {
    tags: o.tags,
    ...(o.imageName ? { imageName: o.imageName } : {}),
    signal: o.signal,
  });
  if (o.referrers?.length) await writeReferrers(dir, o.referrers, { replace: true });
}

/**
 * An OCI image layout directory: blobs, then `index.json` (tags merged with what is there), then referrers;
 * with `platformTags`, also `TAG-OS-ARCH[-VARIANT]` for each platform image (oci's `writePlatformTags`).
 */
export function layoutPublisher(dir: string, l: { platformTags?: boolean } = {}): Publisher {
  return {
    async publish(index, o) {
      throwIfAborted(o.signal, `writing ${dir}`);
      await layoutWithReferrers(resolve(dir), index, o);
      if (l.platformTags)
        await writePlatformTags(resolve(dir), index, o.tags, {
          ...(o.imageName ? { imageName: o.imageName } : {}),
          signal: o.signal,
        });
      return [{ kind: 'layout', dest: dir }];
    },
  };
}

export interface ArchiveOptions {
  /**
   * Archive this layout, which an earlier publisher wrote (e.g. `multi(layoutPublisher(d),
   * archivePublisher(f, { layout: d }))`). Default: a temporary layout of just this index.
   */
  layout?: string;
}

/** An OCI archive (`podman load`, `skopeo copy oci-archive:…`, `docker load`), made from a layout. */
export function archivePublisher(file: string, a: ArchiveOptions = {}): Publisher {
  return {
    async publish(index, o) {
      throwIfAborted(o.signal, `writing ${file}`);
      let temp: string | undefined;
      let layoutDir = a.layout ? resolve(a.layout) : undefined;
      if (!layoutDir) {
        temp = trackTemp(mkdtempSync(join(tmpdir(), 'scratchpack-layout-')));
        layoutDir = temp;
      }
      try {
        if (temp) await layoutWithReferrers(temp, index, o);
        await writeArchive(layoutDir, resolve(file), {
          ...(o.sourceDateEpoch !== undefined ? { sourceDateEpoch: o.sourceDateEpoch } : {}),
          ...(o.imageName ? { imageName: o.imageName } : {}),
          signal: o.signal,
        });
      } finally {
        if (temp) await rm(temp, { recursive: true, force: true });
      }
      return [{ kind: 'archive', dest: file }];
    },
  };
}

/** A registry repository (`ghcr.io/me/hello[:tag]`), with scratchpack's own client: blobs, manifests, index, tags. */
export function registryPublisher(
  target: string,
  options: Omit<PushOptions, 'tags' | 'referrers'> = {},
): Publisher {
  return {
    async publish(index, o) {
      throwIfAborted(o.signal, `pushing ${target}`);
      const result = await push(index, target, {
        ...options,
        tags: o.tags,
        ...(o.referrers?.length ? { referrers: o.referrers } : {}),
        ...(o.signal ? { signal: o.signal } : {}),
      });
      return [{ kind: 'registry', dest: target, push: result }];
    },
  };
}

/** Several publishers, one after another in the order given (a layout before an archive made from it). */
export function multi(...publishers: Publisher[]): Publisher {
  return {
    async publish(index, o) {
      const out: Published[] = [];
      for (const p of publishers) out.push(...(await p.publish(index, o)));
      return out;
    },
  };
}
