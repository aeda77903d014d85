/**
 * Image arguments, read with @scratchpack/transport's one rule (`scratchpack --help` and the README table
 * "How scratchpack reads a name"): `oci:`, `oci-archive:`, `docker://`, `store:` prefixes; without one, an
 * existing path is a layout or an archive, and a name is the local store's when it has it, else a registry's —
 * the same resolution for `run`, `inspect`, `push`, `copy`, `sign`, `verify` and `sbom`.
 */
import { existsSync } from 'node:fs';
import { pickImage as pickPlatformImage } from '@scratchpack/builder';
import {
  defaultStoreDir,
  hostPlatform,
  type Image,
  type ImageIndex,
  ImageStore,
  isImageIndex,
  isImageName,
  isRegistryHost,
  type Platform,
  StoreEntryInvalidError,
} from '@scratchpack/oci';
import type { ClientOptions } from '@scratchpack/registry';
import {
  describeRef,
  type ImageRef,
  type OpenOptions,
  openSource,
  parseImageRef,
  parseOutputRef,
  type Source,
} from '@scratchpack/transport';
import { warn } from './safe-text.ts';

/** Each broken store entry is reported once per command. */
const told = new Set<string>();

/** The local image store (`$SCRATCHPACK_STORE`, else `$XDG_DATA_HOME/scratchpack/images`). */
export function localStore(): ImageStore {
  return new ImageStore(defaultStoreDir(process.env), {
    onWait: (pid) =>
      process.stderr.write(
        `waiting for another scratchpack${pid ? ` (process ${pid})` : ''} writing the local store…\n`,
      ),
    onSkipped: (notice) => {
      if (!told.has(notice)) warn(`warning: ${notice}\n`);
      told.add(notice);
    },
  });
}

async function hasStored(name: string): Promise<boolean> {
  return localStore()
    .find(name)
    .then(
      () => true,
      // A broken entry of that name is the store's: opening it says what is wrong and how to fix it.
      (err) => err instanceof StoreEntryInvalidError,
    );
}

/** Where `input` points, by the one rule; `--verbose` says which place it chose. */
export async function resolveImage(input: string): Promise<ImageRef> {
  const ref = await parseImageRef(input, { inStore: hasStored });
  if (process.argv.includes('--verbose')) warn(`${input}: ${describeRef(ref)}\n`);
  return ref;
}

/** Open `input` for reading: every byte the source hands out is checked against its digest. */
export async function openImage(
  input: string,
  options: { client?: ClientOptions; verbose?: boolean; signal?: AbortSignal | undefined } = {},
): Promise<Source> {
  const ref = await resolveImage(input);
  const o: OpenOptions = { store: localStore(), signal: options.signal };
  if (options.client) o.client = options.client;
  return openSource(ref, o);
}

/** The image for `platform` (default: this host's architecture, any variant), from an index or a single image. */
export function pickImage(
  subject: Image | ImageIndex,
  platform: Platform | string | undefined,
  where: string,
): Promise<{ image: Image; platform: Platform }> {
  const host = hostPlatform({ os: 'linux' });
  return pickPlatformImage(
    subject,
    platform ?? (isImageIndex(subject) ? `${host.os}/${host.architecture}` : undefined),
    where,
  );
}

/**
 * A destination that is the store or a layout (`import`, `pull`, `load`), docker's way: a name is a local one
 * (even `127.0.0.1:5000/x:1`, as `docker import` and `docker pull` keep it locally); a path — starting with
 * `/`, `./`, `../`, or with a first part that is not a registry host (`dist/oci`) — is a layout. Prefixes as
 * everywhere (`store:`, `oci:`, `oci-archive:`, `docker://`).
 */
export function destinationRef(input: string): ImageRef {
  if (/^(oci:|oci-archive:|docker:\/\/|store:)/.test(input)) return parseOutputRef(input);
  const r = parseOutputRef(input);
  if (r.kind !== 'layout' || /^[/.~]/.test(input) || existsSync(r.dir))
    return r.kind === 'registry' ? storeOrLayout(input, r) : r;
  const slash = input.indexOf('/');
  if (slash >= 0 && !isRegistryHost(input.slice(0, slash))) return r;
  return storeOrLayout(input, r);
}

function storeOrLayout(input: string, otherwise: ImageRef): ImageRef {
  return isImageName(input) ? { kind: 'store', name: input, input } : otherwise;
}

/** A name for the store-only commands (`rmi`, `tag`, `save`): `store:NAME` or NAME. */
export function storeName(input: string): string {
  return input.startsWith('store:') ? input.slice(6) : input;
}

/**
 * `FROM NAME` the way `docker build` reads it: an image in the local store or a layout on disk (by the one
 * rule) when there is one, else undefined (the registry, through the builder's parent cache). Sources stay
 * open (their store leases held) until `close`.
 */
export function localParents(): {
  resolve: (ref: string) => Promise<Image | ImageIndex | undefined>;
  close: () => Promise<void>;
} {
  const opened = new Map<string, Promise<Source | undefined>>();
  return {
    resolve: async (ref) => {
      if (ref.startsWith('oci-layout://')) return undefined; // the builder's own spelling of a layout
      let p = opened.get(ref);
      if (!p) {
        p = resolveImage(ref).then((r) =>
          r.kind === 'registry' ? undefined : openSource(r, { store: localStore() }),
        );
        opened.set(ref, p);
      }
      return (await p)?.subject;
    },
    close: async () => {
      for (const p of opened.values()) await (await p.catch(() => undefined))?.close();
    },
  };
}
