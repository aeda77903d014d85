/** Referrers for `inspect`, `push` and `pull --referrers`: gathered from a layout, or fetched into one. */
import {
  type Artifact,
  type Descriptor,
  type Image,
  type ImageIndex,
  isImageIndex,
  type Layout,
  layoutReferrersOf,
  loadArtifact,
  writeReferrers,
} from '@scratchpack/oci';
import {
  type ClientOptions,
  fetchArtifact,
  listReferrers,
  parseReference,
  pullScopes,
  RegistryClient,
} from '@scratchpack/registry';

/** The top manifest's digest and its platform images' digests. */
export async function subjectDigests(subject: Image | ImageIndex): Promise<string[]> {
  const out = [(await subject.digest()).toString()];
  if (isImageIndex(subject)) for (const c of await subject.images()) out.push(c.descriptor.digest);
  return out;
}

/** Every referrer of `digests` in the layout (and referrers of those), each with the digest it refers to. */
export async function referrersIn(
  layout: Layout,
  digests: string[],
): Promise<{ subject: string; descriptor: Descriptor }[]> {
  return layoutReferrersOf(layout.dir, digests);
}

/** The artifacts to push with an image: every referrer of it in the layout, subjects before referrers. */
export async function layoutArtifacts(layout: Layout, subject: Image | ImageIndex): Promise<Artifact[]> {
  const found = await referrersIn(layout, await subjectDigests(subject));
  return Promise.all(found.map((f) => loadArtifact(layout.blobs, f.descriptor)));
}

/** Fetch every referrer of `digests` (and of those) from the registry into the layout at `dir`. */
export async function pullReferrers(
  reference: string,
  dir: string,
  digests: string[],
  options: ClientOptions,
): Promise<{ count: number; via: Set<string> }> {
  const ref = parseReference(reference);
  const scopes = pullScopes(ref.repository);
  const client = await RegistryClient.create(ref.registry, options);
  const artifacts: Artifact[] = [];
  const via = new Set<string>();
  try {
    const queue = [...digests];
    for (let d = queue.shift(); d !== undefined; d = queue.shift()) {
      const listed = await listReferrers(client, ref.repository, d, scopes);
      via.add(listed.via);
      for (const r of listed.descriptors) {
        if (artifacts.some((a) => a.descriptor.digest === r.digest)) continue;
        artifacts.push(await fetchArtifact(client, ref.repository, r, scopes));
        queue.push(r.digest);
      }
    }
  } finally {
    await client.close();
  }
  if (artifacts.length) await writeReferrers(dir, artifacts);
  return { count: artifacts.length, via };
}
