/**
 * Parent images for `FROM <ref>`: a local OCI layout (`oci:path[:tag]`, `oci-layout://path[:tag]`) or a
 * registry reference, pulled with the registry client into a cache layout under
 * `$XDG_CACHE_HOME/scratchpack` (default `~/.cache/scratchpack`). Blobs are content-addressed, and a tag
 * resolved once is remembered, so a second build makes no requests at all; `--pull` asks for the tag again
 * (blobs already cached are still not downloaded). Only the platforms built are pulled. A name the local
 * store or a layout holds (`ParentOptions.resolveLocal`, e.g. a `scratchpack base static -t static`) is used from there.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import {
  BlobStore,
  type Descriptor,
  formatPlatform,
  type Image,
  type ImageIndex,
  type IndexManifest,
  isImageIndex,
  isIndex,
  isManifest,
  loadDescriptor,
  type Manifest,
  type Platform,
  parseLayoutRef,
  platformMatches,
  readLayout,
  sha256,
  writeFileAtomic,
} from '@scratchpack/oci';
import {
  type ClientOptions,
  formatReference,
  getManifest,
  ImageError,
  manifestReference,
  type PullResult,
  parseReference,
  pull,
  pullScopes,
  type Reference,
  RegistryClient,
} from '@scratchpack/registry';
import { pickImage } from './pick.ts';

export interface ParentOptions {
  /** Ask the registry for tags again even when they are cached. */
  pull?: boolean;
  /** Credentials, TLS, retries, blob concurrency for registry parents. */
  client?: ClientOptions & { concurrency?: number };
  /** Default: `$XDG_CACHE_HOME/scratchpack` or `~/.cache/scratchpack`. */
  cacheDir?: string;
  /** Told when a parent's blobs start to be pulled from a registry (e.g. for a progress line). */
  onPullStart?: (ref: string, platform: string) => void;
  /** Told when blobs of a parent were pulled from a registry. */
  onPull?: (ref: string, platform: string, result: PullResult) => void;
  /**
   * Local images first, as `docker build` uses them: the image or index `ref` names in the local store or a
   * layout on disk (by the CLI's one reference rule), or undefined to go to the registry.
   */
  resolveLocal?: (ref: string) => Promise<Image | ImageIndex | undefined>;
}

/** The parent used for one platform: for `org.opencontainers.image.base.name` / `.base.digest`. */
export interface ParentInfo {
  name: string;
  digest: string;
  /** The parent's layer digests (so the SBOM lists only the files this build adds). */
  layers?: string[];
}

export function cacheHome(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'scratchpack');
}

const LOCAL = [/^oci:(.+)$/, /^oci-layout:\/\/(.+)$/];

/** The layout path + tag of a local parent reference, or undefined for a registry reference. */
export function localParent(ref: string): string | undefined {
  for (const re of LOCAL) {
    const m = re.exec(ref);
    if (m) return m[1];
  }
  return undefined;
}

interface Top {
  ref: Reference;
  descriptor: Descriptor;
  raw: Buffer;
}

export class ParentResolver {
  readonly cacheDir: string;
  readonly layoutDir: string;
  /** The parent chosen for each platform built (`formatPlatform` → info). */
  readonly used = new Map<string, ParentInfo>();
  private readonly tops = new Map<string, Promise<Top>>();
  private readonly clients = new Map<string, Promise<RegistryClient>>();

  constructor(private readonly o: ParentOptions = {}) {
    this.cacheDir = o.cacheDir ?? cacheHome();
    this.layoutDir = join(this.cacheDir, 'images');
  }

  /** For the Dockerfile evaluator: the image of `ref` for `platform`. */
  resolveBase = async (ref: string, platform: Platform): Promise<Image> => {
    const found = await this.o.resolveLocal?.(ref);
    const local = localParent(ref);
    const image = found
      ? (await pickImage(found, platform, ref)).image
      : local
        ? await this.fromLayout(local, platform)
        : await this.fromRegistry(ref, platform);
    this.used.set(formatPlatform(platform), {
      name: ref,
      digest: (await image.digest()).toString(),
      layers: (await image.manifest()).layers.map((l) => l.digest),
    });
    return image;
  };

  async close(): Promise<void> {
    for (const c of this.clients.values()) await (await c.catch(() => undefined))?.close();
  }

  private async fromLayout(path: string, platform: Platform): Promise<Image> {
    const { dir, tag } = parseLayoutRef(resolve(path));
    const subject = await (await readLayout(dir)).resolve(tag);
    return (await pickImage(subject, platform, `oci:${path}`)).image;
  }

  private client(registry: string): Promise<RegistryClient> {
    let c = this.clients.get(registry);
    if (!c) {
      c = RegistryClient.create(registry, this.o.client ?? {});
      this.clients.set(registry, c);
    }
    return c;
  }

  /** The manifest or index `ref` names: from the cache when known (unless --pull for tags), else fetched. */
  private top(ref: string): Promise<Top> {
    let t = this.tops.get(ref);
    if (!t) {
      t = this.resolveTop(parseReference(ref));
      this.tops.set(ref, t);
    }
    return t;
  }

  private async resolveTop(ref: Reference): Promise<Top> {
    const store = new BlobStore(this.layoutDir);
    const record = join(this.cacheDir, 'refs', `${sha256(Buffer.from(formatReference(ref))).hex}.json`);
    const cached = async (d: Descriptor | undefined): Promise<Top | undefined> => {
      if (!d || !(await store.has(d.digest, d.size >= 0 ? d.size : undefined))) return undefined;
      const raw = await store.read(d.digest);
      if (!sha256(raw).equals(d.digest)) return undefined;
      const mediaType = d.mediaType || (JSON.parse(raw.toString('utf8')) as { mediaType?: string }).mediaType;
      return { ref, raw, descriptor: { mediaType: mediaType ?? '', digest: d.digest, size: raw.length } };
    };
    if (ref.digest) {
      const hit = await cached({ mediaType: '', digest: ref.digest, size: -1 });
      if (hit) return hit;
    } else if (!this.o.pull) {
      const known = await readFile(record, 'utf8').then(
        (s) => JSON.parse(s) as Descriptor,
        () => undefined,
      );
      const hit = await cached(known);
      if (hit) return hit;
    }
    const client = await this.client(ref.registry);
    const m = await getManifest(client, ref.repository, manifestReference(ref), pullScopes(ref.repository));
    await store.write(m.digest, m.bytes.length, m.bytes);
    const descriptor = { mediaType: m.mediaType, digest: m.digest, size: m.bytes.length };
    if (!ref.digest) {
      await mkdir(join(this.cacheDir, 'refs'), { recursive: true });
      await writeFileAtomic(record, Buffer.from(`${JSON.stringify(descriptor)}\n`));
    }
    return { ref, raw: m.bytes, descriptor };
  }

  private async fromRegistry(name: string, platform: Platform): Promise<Image> {
    const { ref, descriptor: top, raw } = await this.top(name);
    const store = new BlobStore(this.layoutDir);
    let child: Descriptor = top;
    if (isIndex(top.mediaType)) {
      const index = JSON.parse(raw.toString('utf8')) as IndexManifest;
      const match = index.manifests.find(
        (d) => d.platform && isManifest(d.mediaType) && platformMatches(platform, d.platform),
      );
      if (!match) {
        const have = index.manifests.filter((d) => d.platform).map((d) => formatPlatform(d.platform!));
        throw new ImageError(
          'PLATFORM_NOT_FOUND',
          `${formatReference(ref)} has no image for ${formatPlatform(platform)}`,
          `available: ${have.join(', ') || 'none'}; build only those with --platform`,
        );
      }
      child = match;
    } else if (!isManifest(top.mediaType)) {
      throw new ImageError(
        'MANIFEST_UNSUPPORTED',
        `${formatReference(ref)} is a ${top.mediaType || 'manifest without a media type'}`,
        'use an OCI or Docker v2 image or index as the parent',
      );
    }
    if (!(await this.complete(store, child))) {
      const client = await this.client(ref.registry);
      this.o.onPullStart?.(name, formatPlatform(platform));
      const result = await pull(
        formatReference({ ...ref, tag: undefined, digest: child.digest }),
        this.layoutDir,
        {
          ...(this.o.client ?? {}),
          client,
        },
      );
      this.o.onPull?.(name, formatPlatform(platform), result);
    }
    const loaded = await loadDescriptor(store, child);
    if (isImageIndex(loaded)) {
      throw new ImageError(
        'MANIFEST_UNSUPPORTED',
        `${child.digest} is a nested index`,
        'name an image by digest',
      );
    }
    // pickImage checks a single image's platform and says which one it is when it does not match.
    return (await pickImage(loaded, platform, formatReference(ref))).image;
  }

  /** True when the manifest, its config and every layer are in the cache. */
  private async complete(store: BlobStore, d: Descriptor): Promise<boolean> {
    if (!(await store.has(d.digest, d.size))) return false;
    const m = JSON.parse((await store.read(d.digest)).toString('utf8')) as Manifest;
    for (const b of [m.config, ...(m.layers ?? [])]) if (!(await store.has(b.digest, b.size))) return false;
    return true;
  }
}
