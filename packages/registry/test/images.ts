import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import {
  type Artifact,
  appendLayers,
  artifact,
  emptyImage,
  type Image,
  type ImageIndex,
  imageIndex,
  layerFromEntries,
  withConfig,
} from '@scratchpack/oci';
import { getManifest, RegistryClient, RegistryError } from '../src/index.ts';

/** Test images built in memory: tiny file layers, no zig. */

const PLATFORMS = [
  { os: 'linux', architecture: 'amd64' },
  { os: 'linux', architecture: 'arm64' },
  { os: 'linux', architecture: 'arm', variant: 'v7' },
];

/** One image per platform: a shared base layer (deduplicated on push) and a per-platform layer. */
export async function testIndex(
  opts: { salt?: string; bigLayerBytes?: number; bigOn?: string[] } = {},
): Promise<ImageIndex> {
  const salt = opts.salt ?? 'v1';
  const shared = layerFromEntries([{ type: 'file', path: 'etc/motd', content: `shared ${salt}\n` }]);
  const entries: { image: Image }[] = [];
  for (const platform of PLATFORMS) {
    const content =
      opts.bigLayerBytes && (opts.bigOn ?? ['amd64']).includes(platform.architecture)
        ? randomBytes(opts.bigLayerBytes)
        : `hello from ${platform.architecture} ${salt}\n`;
    const own = layerFromEntries([{ type: 'file', path: 'hello', mode: 0o755, content }], {
      compressionLevel: 1,
    });
    let image = await appendLayers(emptyImage({ platform }), { layer: shared }, { layer: own });
    image = await withConfig(image, { Cmd: ['/hello'] });
    entries.push({ image });
  }
  return imageIndex(entries);
}

/**
 * The supply chain of `index`: per image an SPDX and a CycloneDX SBOM and a provenance, and a signature of the
 * first SBOM (a referrer's referrer), last.
 */
export async function supplyChain(index: ImageIndex): Promise<Artifact[]> {
  const referrers: Artifact[] = [];
  for (const { image } of await index.images()) {
    const subject = {
      mediaType: image.mediaType(),
      digest: (await image.digest()).toString(),
      size: await image.size(),
    };
    for (const type of [
      'application/spdx+json',
      'application/vnd.cyclonedx+json',
      'application/vnd.in-toto+json',
    ])
      referrers.push(
        artifact({
          artifactType: type,
          subject,
          layers: [{ mediaType: type, bytes: Buffer.from(`${type} of ${subject.digest}\n`) }],
        }),
      );
  }
  const signed = referrers[0]!;
  const type = 'application/vnd.dev.sigstore.bundle.v0.3+json';
  const subject = {
    mediaType: signed.descriptor.mediaType,
    digest: signed.descriptor.digest,
    size: signed.descriptor.size,
  };
  return [
    ...referrers,
    artifact({ artifactType: type, subject, layers: [{ mediaType: type, bytes: Buffer.from('{"sig":1}') }] }),
  ];
}

/** Distinct blobs (layers + configs) of an index. */
export async function blobCount(index: ImageIndex): Promise<number> {
  const digests = new Set<string>();
  for (const { image } of await index.images()) {
    for (const l of await image.layers()) digests.add((await l.digest()).toString());
    digests.add((await image.configDescriptor()).digest);
  }
  return digests.size;
}

const exec = promisify(execFile);

export async function skopeo(...args: string[]): Promise<string> {
  const { stdout } = await exec('skopeo', args, { maxBuffer: 64 * 1024 * 1024 });
  return stdout;
}

/** Read directly from a registry (not through a proxy): does `reference` (a tag or digest) resolve in `repository`? */
export async function manifestExists(host: string, repository: string, reference: string): Promise<boolean> {
  const client = await RegistryClient.create(host, { credential: null });
  try {
    await getManifest(client, repository, reference, [`repository:${repository}:pull`]);
    return true;
  } catch (err) {
    if (err instanceof RegistryError && err.status === 404) return false;
    throw err;
  } finally {
    await client.close();
  }
}
