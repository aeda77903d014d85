/**
 * What `sign`, `verify` and `sbom` work on: an OCI layout (`dir[:tag]`) or a registry reference. Both
 * give the same view: the top manifest (an index or an image) with its exact bytes, the platform images
 * of an index, the referrers of any digest, and a way to attach new referrers.
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import {
  type Artifact,
  type Descriptor,
  type IndexManifest,
  isIndex,
  isManifest,
  layoutReferrers,
  loadArtifact,
  parseLayoutRef,
  readLayout,
  writeReferrers,
} from '@scratchpack/oci';
import {
  type ClientOptions,
  fetchArtifact,
  getManifest,
  listReferrers,
  manifestReference,
  parseReference,
  pullScopes,
  pushReferrers,
  pushScopes,
  RegistryClient,
} from '@scratchpack/registry';

export interface Subject {
  /** `index` or the platform, for messages. */
  what: string;
  descriptor: Descriptor;
  raw: Buffer;
}

export interface SupplyTarget {
  /** The reference as given. */
  name: string;
  /** The top manifest, then each platform image of an index. */
  subjects: Subject[];
  referrers(digest: string, artifactType?: string): Promise<Descriptor[]>;
  artifact(d: Descriptor): Promise<Artifact>;
  /** Store referrers beside their subjects; returns fallback tags written (registries without the API). */
  attach(artifacts: Artifact[]): Promise<string[]>;
  close(): Promise<void>;
}

/** True when `ref` names an existing OCI layout (`dir[:tag]` with `dir/oci-layout`). */
export async function isLayoutRef(ref: string): Promise<boolean> {
  const { dir } = parseLayoutRef(ref);
  return stat(join(dir, 'oci-layout')).then(
    (s) => s.isFile(),
    () => false,
  );
}

function childrenOf(top: Subject): Descriptor[] {
  if (!isIndex(top.descriptor.mediaType)) return [];
  const idx = JSON.parse(top.raw.toString('utf8')) as IndexManifest;
  return idx.manifests.filter((d) => isManifest(d.mediaType));
}

const platformName = (d: Descriptor) =>
  d.platform
    ? [d.platform.os, d.platform.architecture, d.platform.variant].filter(Boolean).join('/')
    : d.digest;

async function layoutTarget(ref: string): Promise<SupplyTarget> {
  const { dir, tag } = parseLayoutRef(ref);
  const layout = await readLayout(dir);
  const d = await layout.descriptor(tag);
  const descriptor = { mediaType: d.mediaType, digest: d.digest, size: d.size };
  const top: Subject = {
    what: isIndex(d.mediaType) ? 'index' : 'image',
    descriptor,
    raw: await layout.blobs.read(d.digest),
  };
  const subjects = [top];
  for (const c of childrenOf(top)) {
    subjects.push({ what: platformName(c), descriptor: c, raw: await layout.blobs.read(c.digest) });
  }
  return {
    name: ref,
    subjects,
    referrers: (digest, type) => layoutReferrers(dir, digest, type),
    artifact: (d) => loadArtifact(layout.blobs, d),
    attach: async (artifacts) => {
      await writeReferrers(dir, artifacts);
      return [];
    },
    close: async () => {},
  };
}

async function registryTarget(ref: string, client: ClientOptions, write: boolean): Promise<SupplyTarget> {
  const r = parseReference(ref);
  const scopes = write ? pushScopes(r.repository) : pullScopes(r.repository);
  const c = await RegistryClient.create(r.registry, client);
  try {
    const m = await getManifest(c, r.repository, manifestReference(r), scopes);
    const top: Subject = {
      what: isIndex(m.mediaType) ? 'index' : 'image',
      descriptor: { mediaType: m.mediaType, digest: m.digest, size: m.bytes.length },
      raw: m.bytes,
    };
    const subjects = [top];
    for (const d of childrenOf(top)) {
      const child = await getManifest(c, r.repository, d.digest, scopes);
      subjects.push({ what: platformName(d), descriptor: d, raw: child.bytes });
    }
    return {
      name: ref,
      subjects,
      referrers: async (digest, type) =>
        (await listReferrers(c, r.repository, digest, scopes, type)).descriptors,
      artifact: (d) => fetchArtifact(c, r.repository, d, scopes),
      attach: async (artifacts) => (await pushReferrers(c, r.repository, artifacts, scopes)).fallbackTags,
      close: () => c.close(),
    };
  } catch (err) {
    await c.close();
    throw err;
  }
}

/** Open `ref` as a layout when it names one, else as a registry reference. */
export async function openTarget(ref: string, client: ClientOptions, write = false): Promise<SupplyTarget> {
  return (await isLayoutRef(ref)) ? layoutTarget(ref) : registryTarget(ref, client, write);
}
