/**
 * Image arguments: an OCI layout `dir[:tag]` or a name in the local store (`hello`, `ghcr.io/me/app:1.0`).
 * The rule (`imageRef`), in order:
 *   1. `oci:PATH[:TAG]` — a layout, always;
 *   2. starts with `/`, `.` or `~` — a layout path;
 *   3. PATH (before an optional `:TAG`) is a directory holding an `oci-layout` file — that layout;
 *   4. contains `/` and its first component is not a registry host (no `.` or `:`, not `localhost`),
 *      e.g. `dist/oci:latest` — a layout path; when reading (`openLayoutRef`), if no such path exists but
 *      the store has that name (a Docker Hub `me/app:1.0`), the stored image;
 *   5. otherwise, when it is a valid image name — that name in the local store (`hello` = `hello:latest`);
 *   6. anything else — a layout path (with the layout's own errors).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
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
  type Layout,
  type Platform,
  parseLayoutRef,
  readLayout,
} from '@scratchpack/oci';

export interface OpenedRef {
  layout: Layout;
  dir: string;
  tag: string | undefined;
  subject: Image | ImageIndex;
}

export type ImageRef = { kind: 'layout'; dir: string; tag?: string } | { kind: 'store'; name: string };

/** Whether `ref` names an OCI layout or an image in the local store (see the rule above). */
export function imageRef(ref: string): ImageRef {
  const layout = (r: string): ImageRef => ({ kind: 'layout', ...parseLayoutRef(r) });
  if (ref.startsWith('oci:')) return layout(ref.slice(4));
  if (/^[/.~]/.test(ref)) return layout(ref);
  const { dir } = parseLayoutRef(ref);
  if (existsSync(join(dir, 'oci-layout'))) return layout(ref);
  const slash = ref.indexOf('/');
  if (slash >= 0 && !isRegistryHost(ref.slice(0, slash))) return layout(ref);
  return isImageName(ref) ? { kind: 'store', name: ref } : layout(ref);
}

/** The local image store (`$SCRATCHPACK_STORE`, else `$XDG_DATA_HOME/scratchpack/images`). */
export function localStore(): ImageStore {
  return new ImageStore(defaultStoreDir(process.env), {
    onWait: (pid) =>
      process.stderr.write(
        `waiting for another scratchpack${pid ? ` (process ${pid})` : ''} writing the local store…\n`,
      ),
  });
}

async function hasStored(name: string): Promise<boolean> {
  return localStore()
    .find(name)
    .then(
      () => true,
      () => false,
    );
}

/** The image or index the local store holds under `name`, or undefined (for `FROM name` / `--base name`). */
export async function storedImage(name: string): Promise<Image | ImageIndex | undefined> {
  if (!isImageName(name)) return undefined;
  return (
    await localStore()
      .open(name)
      .catch(() => undefined)
  )?.subject;
}

/** Open an image argument — a layout `dir[:tag]` or a stored name — and resolve it, with errors naming both. */
export async function openLayoutRef(ref: string): Promise<OpenedRef> {
  const r = imageRef(ref);
  // Rule 4's exception when reading: no such path, but a stored name (a Docker Hub `me/app:1.0`).
  const stored =
    r.kind === 'store' ||
    (!/^(oci:|[/.~])/.test(ref) && !existsSync(r.dir) && isImageName(ref) && (await hasStored(ref)));
  if (stored) {
    const { layout, image, subject } = await localStore().open(ref);
    return { layout, dir: layout.dir, tag: image.name, subject };
  }
  const layout = await readLayout(r.dir);
  const subject = await layout.resolve(r.tag);
  return { layout, dir: r.dir, tag: r.tag, subject };
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
