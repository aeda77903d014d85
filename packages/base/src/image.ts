/**
 * `staticBase`: the locked packages → one deterministic layer → one image per platform (the same layer in
 * each, only the config's platform differs) → an index. Nothing is written: the caller publishes the index.
 */
import {
  appendLayers,
  emptyImage,
  type Family,
  type Image,
  type ImageIndex,
  imageIndex,
  type Layer,
  layerFromEntries,
  type Platform,
  rfc3339,
  withConfig,
  withMediaTypeFamily,
} from '@scratchpack/oci';
import { baseEntries, CA_BUNDLE, copyrightLicenses, NONROOT_UID, type UnpackedPackage } from './contents.ts';
import { readDeb } from './deb.ts';
import { debCacheDir, fetchDeb } from './fetch.ts';
import { defaultLock, type Lock, type LockedPackage } from './lock.ts';
import { aptSources, mirrorsFor, mirrorsFromEnv } from './sources.ts';

export interface StaticBaseOptions {
  platforms: Platform[];
  /** Default: the lock committed in this package. */
  lock?: Lock;
  /** `User 65532` and `WorkingDir /home/nonroot`. */
  nonroot?: boolean;
  sourceDateEpoch?: number;
  family?: Family;
  /** Mirrors to fetch from; default `SCRATCHPACK_DEBIAN_MIRROR`, else the apt sources under `aptRoot`. */
  mirrors?: string[];
  /** Default `/etc/apt`. */
  aptRoot?: string;
  /** Default `$XDG_CACHE_HOME/scratchpack/debs`. */
  cacheDir?: string;
  onFetch?: (pkg: LockedPackage, url: string) => void;
  signal?: AbortSignal;
}

/** A Debian package in the image, for SBOMs (`pkg:deb/debian/<name>@<version>?arch=…&distro=…`). */
export interface BasePackage {
  name: string;
  version: string;
  architecture: string;
  purl: string;
  /** As the package's copyright file names them (Debian's names, e.g. `GPL-2+`). */
  licenses: string[];
}

export interface StaticBase {
  index: ImageIndex;
  indexDigest: string;
  images: { platform: Platform; image: Image; digest: string }[];
  /** The one layer every platform shares. */
  layer: Layer;
  packages: BasePackage[];
}

export const PATH_ENV = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export function debPurl(p: LockedPackage, lock: Lock): string {
  const v = encodeURIComponent(p.version);
  return `pkg:deb/${lock.distribution.id}/${p.name}@${v}?arch=${p.architecture}&distro=${lock.distribution.id}-${lock.distribution.versionId}`;
}

/** Fetch (or read from the cache) and unpack every locked package, in lock order. */
export async function unpackLocked(o: StaticBaseOptions, lock: Lock): Promise<UnpackedPackage[]> {
  const given = o.mirrors?.length ? o.mirrors : mirrorsFromEnv();
  let sources: Awaited<ReturnType<typeof aptSources>> | undefined;
  const cacheDir = o.cacheDir ?? debCacheDir();
  const out: UnpackedPackage[] = [];
  for (const pkg of lock.packages) {
    if (!given.length) sources ??= await aptSources(o.aptRoot);
    const bytes = await fetchDeb(pkg, {
      mirrors: (p) => mirrorsFor(p.suite, sources ?? [], given),
      cacheDir,
      signal: o.signal,
      ...(o.onFetch ? { onFetch: o.onFetch } : {}),
    });
    out.push({ pkg, deb: await readDeb(bytes, `${pkg.name} ${pkg.version}`) });
  }
  return out;
}

export async function staticBase(o: StaticBaseOptions): Promise<StaticBase> {
  const lock = o.lock ?? defaultLock;
  const epoch = o.sourceDateEpoch ?? 0;
  const family = o.family ?? 'oci';
  const unpacked = await unpackLocked(o, lock);
  const layer = layerFromEntries(baseEntries(lock, unpacked), { sourceDateEpoch: epoch, signal: o.signal });
  const history = {
    created: rfc3339(epoch),
    created_by: `scratchpack base static: ${lock.packages.map((p) => `${p.name}=${p.version}`).join(' ')}`,
  };
  const images = [];
  for (const platform of o.platforms) {
    let image = await appendLayers(emptyImage({ platform, sourceDateEpoch: epoch }), { layer, history });
    image = await withConfig(image, {
      Env: [PATH_ENV, `SSL_CERT_FILE=${CA_BUNDLE}`],
      ...(o.nonroot ? { User: String(NONROOT_UID), WorkingDir: '/home/nonroot' } : {}),
    });
    if (family !== 'oci') image = await withMediaTypeFamily(image, family);
    images.push({ platform, image, digest: (await image.digest()).toString() });
  }
  const created = { 'org.opencontainers.image.created': rfc3339(epoch) };
  const index = imageIndex(
    images.map(({ image }) => ({ image })),
    { family, annotations: created },
  );
  const packages = unpacked.map(({ pkg, deb }) => {
    const copyright = deb.data.find((e) => e.path === `usr/share/doc/${pkg.name}/copyright`);
    return {
      name: pkg.name,
      version: pkg.version,
      architecture: pkg.architecture,
      purl: debPurl(pkg, lock),
      licenses: copyright?.content ? copyrightLicenses(copyright.content.toString('utf8')) : [],
    };
  });
  return { index, indexDigest: (await index.digest()).toString(), images, layer, packages };
}
