/**
 * What `sign`, `verify` and `sbom` work on: any image reference, resolved by the one rule (a layout, an
 * archive, the local store or a registry; see image-ref.ts) — so `verify NAME` checks exactly the image
 * `run NAME` runs. All give the same view: the top manifest (an index or an image) with its exact bytes, the
 * platform images of an index, the referrers of any digest, and a way to attach new referrers.
 */
import {
  type Artifact,
  type Descriptor,
  formatPlatformAsGiven,
  type IndexManifest,
  isIndex,
  isManifest,
} from '@scratchpack/oci';
import type { ClientOptions } from '@scratchpack/registry';
import { describeRef, type Source } from '@scratchpack/transport';
import { openImage } from '../image-ref.ts';

export interface Subject {
  /** `index` or the platform, for messages. */
  what: string;
  descriptor: Descriptor;
  raw: Buffer;
}

export interface SupplyTarget {
  /** The reference as given. */
  name: string;
  /** Where the name resolved to (`store hello:latest`, `registry …`, `layout …`). */
  resolved: string;
  source: Source;
  /** The top manifest, then each platform image of an index. */
  subjects: Subject[];
  referrers(digest: string, artifactType?: string): Promise<Descriptor[]>;
  artifact(d: Descriptor): Promise<Artifact>;
  /** Store referrers beside their subjects; returns fallback tags written (registries without the API). */
  attach(artifacts: Artifact[]): Promise<string[]>;
  close(): Promise<void>;
}

const platformName = (d: Descriptor) => (d.platform ? formatPlatformAsGiven(d.platform) : d.digest);

/** Open `ref` by the one rule; the manifests are read and checked against their digests here. */
export async function openTarget(ref: string, client: ClientOptions): Promise<SupplyTarget> {
  const source = await openImage(ref, { client });
  try {
    const top: Subject = {
      what: isIndex(source.descriptor.mediaType) ? 'index' : 'image',
      descriptor: source.descriptor,
      raw: source.raw,
    };
    const subjects = [top];
    if (isIndex(top.descriptor.mediaType)) {
      const idx = JSON.parse(top.raw.toString('utf8')) as IndexManifest;
      for (const c of idx.manifests.filter((d) => isManifest(d.mediaType)))
        subjects.push({ what: platformName(c), descriptor: c, raw: await source.manifest(c) });
    }
    return {
      name: ref,
      resolved: describeRef(source.ref),
      source,
      subjects,
      referrers: (digest, type) => source.referrers(digest, type),
      artifact: (d) => source.artifact(d),
      attach: (artifacts) => source.attach(artifacts),
      close: () => source.close(),
    };
  } catch (err) {
    await source.close();
    throw err;
  }
}
