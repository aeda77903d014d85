/**
 * The layers the images of a layout (the local store) still use, by diff_id: what an unpacked-layer cache keyed
 * by diff_id may keep when it is collected (`scratchpack rmi`, `scratchpack gc`).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readIndexFile } from './layout-update.ts';
import { isIndex, isManifest } from './media-types.ts';

const DIGEST_RE = /^sha256:[0-9a-f]{64}$/;

async function blobJson(dir: string, digest: unknown): Promise<Record<string, unknown> | undefined> {
  if (typeof digest !== 'string' || !DIGEST_RE.test(digest)) return undefined;
  try {
    const doc = JSON.parse(await readFile(join(dir, 'blobs', 'sha256', digest.slice(7)), 'utf8'));
    return doc !== null && typeof doc === 'object' ? doc : undefined;
  } catch {
    return undefined;
  }
}

/** The diff_ids (hex, without `sha256:`) of every image the index of the layout at `dir` reaches. */
export async function layoutDiffIds(dir: string): Promise<Set<string>> {
  const ids = new Set<string>();
  const seen = new Set<string>();
  const visit = async (d: { digest?: unknown; mediaType?: unknown }): Promise<void> => {
    if (typeof d?.digest !== 'string' || seen.has(d.digest)) return;
    seen.add(d.digest);
    const type = typeof d.mediaType === 'string' ? d.mediaType : '';
    if (!isIndex(type) && !isManifest(type)) return;
    const doc = await blobJson(dir, d.digest);
    if (!doc) return;
    for (const m of Array.isArray(doc.manifests) ? doc.manifests : []) await visit(m);
    const config = doc.config as { digest?: unknown } | undefined;
    const rootfs = (await blobJson(dir, config?.digest))?.rootfs as { diff_ids?: unknown } | undefined;
    for (const id of Array.isArray(rootfs?.diff_ids) ? rootfs.diff_ids : [])
      if (typeof id === 'string' && DIGEST_RE.test(id)) ids.add(id.slice(7));
  };
  for (const m of (await readIndexFile(dir))?.manifests ?? []) await visit(m);
  return ids;
}
