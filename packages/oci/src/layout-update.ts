/**
 * Changing a layout's `index.json` safely when several writers share the layout: under the layout's lock
 * (lock.ts), re-read the current index, apply the change, write temp + rename. Never a blind overwrite:
 * entries the change does not know about (other tags, untagged referrers, …) are kept as they are.
 * The writer holding the lock also removes temp files left by dead writers (`.tmp-<pid>-…`).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from './atomic-file.ts';
import { InvalidJsonError, ValidationError } from './errors.ts';
import { type LockOptions, withLayoutLock } from './lock.ts';
import { MediaTypes } from './media-types.ts';
import { sweepDeadTemps } from './temp-files.ts';
import { type Descriptor, type IndexManifest, serializeManifest } from './types.ts';

export const REF_NAME = 'org.opencontainers.image.ref.name';
export const CONTAINERD_NAME = 'io.containerd.image.name';
const OCI_LAYOUT = Buffer.from('{"imageLayoutVersion":"1.0.0"}');

/** A name to point at a subject: `ref.name` and, optionally, containerd's full image name. */
export interface LayoutRef {
  name: string;
  containerdName?: string;
}

/** The parsed `index.json` of `dir`, or undefined when there is none. */
export async function readIndexFile(dir: string): Promise<IndexManifest | undefined> {
  let raw: Buffer;
  try {
    raw = await readFile(join(dir, 'index.json'));
  } catch {
    return undefined;
  }
  let index: IndexManifest;
  try {
    index = JSON.parse(raw.toString('utf8')) as IndexManifest;
  } catch (cause) {
    throw new InvalidJsonError(join(dir, 'index.json'), cause);
  }
  // Never merge into (and so overwrite) an index that is not one: say so and leave it for the user.
  const ok = index !== null && typeof index === 'object' && !Array.isArray(index);
  if (!ok || !Array.isArray(index.manifests) || index.manifests.some((m) => typeof m?.digest !== 'string')) {
    throw new ValidationError(join(dir, 'index.json'), [
      ok ? '"manifests" is not a list of descriptors' : 'not a JSON object',
    ]);
  }
  return index;
}

/** Remove temp files of dead writers from the layout at `dir` (its root and `blobs/sha256`). */
export async function sweepLayoutTemps(dir: string): Promise<string[]> {
  return [...(await sweepDeadTemps(dir)), ...(await sweepDeadTemps(join(dir, 'blobs', 'sha256')))];
}

export interface UpdateIndexOptions extends LockOptions {
  /** Run after the new index is written, still under the lock (e.g. to collect unreferenced blobs). */
  after?: (written: IndexManifest) => Promise<void>;
}

/**
 * Change the `index.json` of the layout at `dir` (created if needed): under the layout's lock, `change`
 * gets the index as it is now (undefined when there is none yet) and returns the new one, which is
 * written by temp + rename. Returns the index written.
 */
export async function updateLayoutIndex(
  dir: string,
  change: (current: IndexManifest | undefined) => IndexManifest | Promise<IndexManifest>,
  opts: UpdateIndexOptions = {},
): Promise<IndexManifest> {
  return withLayoutLock(
    dir,
    async () => {
      await sweepLayoutTemps(dir);
      const next = await change(await readIndexFile(dir));
      const layoutFile = join(dir, 'oci-layout');
      const current = await readFile(layoutFile).catch(() => undefined);
      if (!current?.equals(OCI_LAYOUT)) await writeFileAtomic(layoutFile, OCI_LAYOUT);
      await writeFileAtomic(
        join(dir, 'index.json'),
        Buffer.concat([serializeManifest(next), Buffer.from('\n')]),
      );
      await opts.after?.(next);
      return next;
    },
    opts,
  );
}

/**
 * `existing` with `refs` pointing at `descriptor`: an entry with one of these names is replaced, every
 * other entry is kept (without refs, an untagged entry of the same digest is replaced instead). Untagged
 * entries first, then tagged ones sorted by name; unknown top-level fields are kept.
 */
export function mergeRefs(
  existing: IndexManifest | undefined,
  descriptor: Descriptor,
  refs: LayoutRef[],
): IndexManifest {
  const names = refs.map((r) => r.name);
  const kept = (existing?.manifests ?? []).filter((m) => {
    const name = m.annotations?.[REF_NAME];
    if (name !== undefined) return !names.includes(name);
    return !(names.length === 0 && m.digest === descriptor.digest);
  });
  const added: Descriptor[] = refs.length
    ? refs.map((r) => {
        const annotations: Record<string, string> = { [REF_NAME]: r.name };
        if (r.containerdName) annotations[CONTAINERD_NAME] = r.containerdName;
        return { ...descriptor, annotations };
      })
    : [descriptor];
  return withManifests(existing, [...kept, ...added]);
}

/** `existing` (or a fresh index) with `manifests` in the canonical order: untagged first, then by name. */
export function withManifests(existing: IndexManifest | undefined, manifests: Descriptor[]): IndexManifest {
  const untagged = manifests.filter((m) => m.annotations?.[REF_NAME] === undefined);
  const tagged = manifests
    .filter((m) => m.annotations?.[REF_NAME] !== undefined)
    .sort((a, b) => (a.annotations![REF_NAME]! < b.annotations![REF_NAME]! ? -1 : 1));
  const index: IndexManifest = {
    schemaVersion: 2,
    mediaType: MediaTypes.ociIndex,
    manifests: [...untagged, ...tagged],
  };
  if (existing?.annotations) index.annotations = existing.annotations;
  // Fields this code does not know about are kept, after the known ones.
  for (const [k, v] of Object.entries(existing ?? {})) {
    if (!(k in index) && k !== 'annotations') (index as unknown as Record<string, unknown>)[k] = v;
  }
  return index;
}
