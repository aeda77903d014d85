/**
 * The local image store: one OCI layout (by default `$XDG_DATA_HOME/scratchpack/images`, or
 * `$SCRATCHPACK_STORE`) whose `index.json` names images as Docker does — `org.opencontainers.image.ref.name`
 * holds the familiar name (`hello:latest`), `io.containerd.image.name` the full one. Every change goes
 * through `updateLayoutIndex` (lock, re-read, merge, temp + rename), so concurrent writers never lose a
 * name; removing names collects the blobs no other entry reaches, under the same lock.
 */
import { mkdir, readdir, readFile, rm, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { tempPathFor } from './atomic-file.ts';
import type { Image } from './image.ts';
import type { ImageIndex } from './image-index.ts';
import { type ImageName, parseImageName } from './image-name.ts';
import { type Layout, loadDescriptor, readLayout, writeLayoutRefs } from './layout.ts';
import {
  CONTAINERD_NAME,
  type LayoutRef,
  REF_NAME,
  readIndexFile,
  type UpdateIndexOptions,
  updateLayoutIndex,
  withManifests,
} from './layout-update.ts';
import { isIndex, isManifest } from './media-types.ts';
import { badIndexEntries } from './schema.ts';
import { ImageNotFoundError, StoreEntryInvalidError, skippedEntryNotice } from './store-errors.ts';
import { type Lease, liveLeases, takeLease, withLease } from './store-leases.ts';
import { untrackTemp } from './temp-files.ts';
import type { Descriptor, IndexManifest, Manifest } from './types.ts';

/** `$SCRATCHPACK_STORE`, else `$XDG_DATA_HOME/scratchpack/images`, else `~/.local/share/scratchpack/images`. */
export function defaultStoreDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.SCRATCHPACK_STORE) return resolve(env.SCRATCHPACK_STORE);
  const data =
    env.XDG_DATA_HOME && isAbsolute(env.XDG_DATA_HOME)
      ? env.XDG_DATA_HOME
      : join(homedir(), '.local', 'share');
  return join(data, 'scratchpack', 'images');
}

export interface StoredImage {
  /** The familiar name, e.g. `hello:latest`. */
  name: string;
  descriptor: Descriptor;
}

export interface RemoveResult {
  removed: string[];
  blobsRemoved: number;
  bytesFreed: number;
  /** Unreachable blobs left for a later `gc` because another process was reading or writing the store. */
  blobsDeferred: number;
}

const HEX_RE = /^[0-9a-f]{64}$/;

/** The entries of `index` that are descriptors (a broken entry is never used: see `badIndexEntries`). */
function usable(index: IndexManifest | undefined): Descriptor[] {
  const manifests = index?.manifests ?? [];
  const bad = new Set(badIndexEntries(manifests).map((b) => b.at));
  return bad.size ? manifests.filter((_, i) => !bad.has(i)) : manifests;
}

export interface ImageStoreOptions extends UpdateIndexOptions {
  /** Told of each broken `index.json` entry a read skips (one line: which entry, what is wrong, how to fix). */
  onSkipped?: (notice: string) => void;
}

function refOf(n: ImageName): LayoutRef {
  return { name: n.familiar, containerdName: n.full };
}

/** A descriptor without its naming annotations (what a new name should point at). */
function bare(d: Descriptor): Descriptor {
  const { annotations, ...rest } = d;
  const others = Object.fromEntries(
    Object.entries(annotations ?? {}).filter(([k]) => k !== REF_NAME && k !== CONTAINERD_NAME),
  );
  return Object.keys(others).length ? { ...rest, annotations: others } : rest;
}

function namesIn(index: IndexManifest | undefined): string[] {
  return (index?.manifests ?? [])
    .map((m) => m.annotations?.[REF_NAME])
    .filter((n): n is string => n !== undefined)
    .sort();
}

/**
 * The entry of `index` named `input`, by docker's rule: a full digest (`sha256:<64 hex>` or the 64 hex alone) is
 * always a digest; anything else is a name first, then a digest prefix of 12+ hex characters (with or without
 * `sha256:`) that only one image has. So a tag spelt like a digest never shadows that digest.
 */
function findEntry(index: IndexManifest | undefined, input: string): StoredImage | undefined {
  const manifests = usable(index);
  const full = /^(?:sha256:)?([0-9a-f]{64})$/.exec(input)?.[1];
  if (full) {
    const hit = manifests.find((m) => m.digest === `sha256:${full}`);
    return hit && { name: hit.annotations?.[REF_NAME] ?? hit.digest, descriptor: hit };
  }
  let n: ImageName | undefined;
  try {
    n = parseImageName(input);
  } catch {
    n = undefined;
  }
  if (n) {
    const hit = manifests.find(
      (m) => m.annotations?.[REF_NAME] === n.familiar || m.annotations?.[CONTAINERD_NAME] === n.full,
    );
    if (hit) return { name: n.familiar, descriptor: hit };
  }
  const hex = /^(?:sha256:)?([0-9a-f]{12,63})$/.exec(input)?.[1];
  if (hex) {
    const hits = [
      ...new Set(manifests.filter((m) => m.digest.slice(7).startsWith(hex)).map((m) => m.digest)),
    ];
    const hit = hits.length === 1 ? manifests.find((m) => m.digest === hits[0]) : undefined;
    if (hit) return { name: hit.annotations?.[REF_NAME] ?? hit.digest, descriptor: hit };
  }
  return undefined;
}

/** The broken entry (see `badIndexEntries`) named `input`, if any. */
function brokenEntry(
  index: IndexManifest | undefined,
  input: string,
): { at: number; name: string; problems: string[] } | undefined {
  let n: ImageName | undefined;
  try {
    n = parseImageName(input);
  } catch {
    return undefined;
  }
  const b = badIndexEntries(index?.manifests ?? []).find((e) => e.name === n.familiar);
  return b && { at: b.at, name: n.familiar, problems: b.problems };
}

const DIGEST_RE = /^sha256:[0-9a-f]{64}$/;

/** The JSON document in blob `digest` of the layout at `dir`; undefined when absent, damaged or not a digest. */
async function readBlobJson(dir: string, digest: string): Promise<Record<string, unknown> | undefined> {
  if (!DIGEST_RE.test(digest)) return undefined;
  try {
    const doc = JSON.parse(await readFile(join(dir, 'blobs', 'sha256', digest.slice(7)), 'utf8'));
    return doc !== null && typeof doc === 'object' ? doc : undefined;
  } catch {
    return undefined;
  }
}

/** Every blob digest reachable from `descriptors` (indexes → manifests → config and layers). */
export async function reachableBlobs(dir: string, descriptors: Descriptor[]): Promise<Set<string>> {
  const seen = new Set<string>();
  const visit = async (d: Descriptor): Promise<void> => {
    if (typeof d?.digest !== 'string' || seen.has(d.digest)) return;
    seen.add(d.digest);
    if (!isIndex(d.mediaType) && !isManifest(d.mediaType)) return;
    // Missing or damaged: nothing below it can be found anyway.
    const doc = (await readBlobJson(dir, d.digest)) as Partial<Manifest & IndexManifest> | undefined;
    if (!doc) return;
    for (const m of Array.isArray(doc.manifests) ? doc.manifests : []) await visit(m);
    if (doc.config) await visit(doc.config);
    for (const l of Array.isArray(doc.layers) ? doc.layers : []) await visit(l);
  };
  for (const d of descriptors) await visit(d);
  return seen;
}

/** The `subject` digest of the manifest `d` points at, if it has one (a referrer: SBOM, signature, …). */
async function subjectOf(dir: string, d: Descriptor): Promise<string | undefined> {
  if (!isManifest(d.mediaType) && !isIndex(d.mediaType)) return undefined;
  const subject = (await readBlobJson(dir, d.digest))?.subject as { digest?: unknown } | undefined;
  return typeof subject?.digest === 'string' ? subject.digest : undefined;
}

/**
 * `manifests` without the unnamed referrers whose subject nothing else reaches any more: an image's SBOM
 * or signature goes when the image goes. Named entries and unnamed non-referrers are always kept.
 */
async function withoutOrphanReferrers(dir: string, manifests: Descriptor[]): Promise<Descriptor[]> {
  const subjects = new Map<Descriptor, string>();
  for (const m of manifests) {
    if (m.annotations?.[REF_NAME] !== undefined) continue;
    const s = await subjectOf(dir, m);
    if (s) subjects.set(m, s);
  }
  if (subjects.size === 0) return manifests;
  const live = await reachableBlobs(
    dir,
    manifests.filter((m) => !subjects.has(m)),
  );
  const kept = new Set<Descriptor>();
  for (let changed = true; changed; ) {
    changed = false;
    for (const [m, subject] of subjects) {
      if (kept.has(m) || !live.has(subject)) continue;
      kept.add(m);
      for (const d of await reachableBlobs(dir, [m])) live.add(d);
      changed = true;
    }
  }
  return manifests.filter((m) => !subjects.has(m) || kept.has(m));
}

export class ImageStore {
  readonly dir: string;
  constructor(
    dir: string = defaultStoreDir(),
    readonly lock: ImageStoreOptions = {},
  ) {
    this.dir = resolve(dir);
  }

  /** `index.json` as read for using its entries: broken entries reported (once per store object) and left out. */
  private async readUsable(): Promise<IndexManifest | undefined> {
    const index = await readIndexFile(this.dir);
    if (!index) return index;
    const file = join(this.dir, 'index.json');
    for (const b of badIndexEntries(index.manifests)) {
      const notice = skippedEntryNotice(file, b);
      if (this.told.has(notice)) continue;
      this.told.add(notice);
      this.lock.onSkipped?.(notice);
    }
    return index;
  }

  private readonly told = new Set<string>();

  /**
   * Run `fn` with a private, empty staging directory inside the store (e.g. a layout to pull or unpack
   * into before `put`), removed afterwards — on an interrupt too, or by a later writer if this one dies.
   */
  async stage<T>(fn: (dir: string) => Promise<T>): Promise<T> {
    await mkdir(this.dir, { recursive: true });
    const dir = tempPathFor(join(this.dir, 'stage'));
    try {
      await mkdir(dir);
      return await fn(dir);
    } finally {
      await rm(dir, { recursive: true, force: true });
      untrackTemp(dir);
    }
  }

  /** The named entries, sorted by name (an empty list when the store does not exist yet). */
  async list(): Promise<StoredImage[]> {
    const index = await this.readUsable();
    return usable(index)
      .filter((m) => m.annotations?.[REF_NAME] !== undefined)
      .map((m) => ({ name: m.annotations![REF_NAME]!, descriptor: m }))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /** The entry for `name`; throws `ImageNotFoundError` listing what there is. */
  async find(name: string): Promise<StoredImage> {
    const index = await this.readUsable();
    const hit = findEntry(index, name);
    if (hit) return hit;
    const broken = brokenEntry(index, name);
    if (broken) throw new StoreEntryInvalidError(broken.name, join(this.dir, 'index.json'), broken.problems);
    throw new ImageNotFoundError(name, namesIn(index));
  }

  /** The store as a layout, plus the image or index named `name`. */
  async open(name: string): Promise<{ layout: Layout; image: StoredImage; subject: Image | ImageIndex }> {
    const image = await this.find(name);
    const layout = await readLayout(this.dir);
    return { layout, image, subject: await loadDescriptor(layout.blobs, image.descriptor) };
  }

  /**
   * `open` for a reader that goes on reading blobs afterwards (run, push, copy): the lease is taken before
   * the index is read, and until `lease.release()` no collection deletes a blob.
   */
  async openLeased(
    name: string,
  ): Promise<{ layout: Layout; image: StoredImage; subject: Image | ImageIndex; lease: Lease }> {
    await mkdir(this.dir, { recursive: true });
    const lease = await takeLease(this.dir, `read ${name}`);
    try {
      return { ...(await this.open(name)), lease };
    } catch (err) {
      await lease.release();
      throw err;
    }
  }

  /** Take a lease for the caller's own reads or writes of the store's blobs (see store-leases.ts). */
  async lease(purpose: string): Promise<Lease> {
    await mkdir(this.dir, { recursive: true });
    return takeLease(this.dir, purpose);
  }

  /**
   * Store `subject` under `names` (each replaces an image of that name). Returns the familiar names. An abort of
   * `options.signal` stops the blob writes and leaves the store's index as it was.
   */
  async put(
    subject: Image | ImageIndex,
    names: string[],
    options: { signal?: AbortSignal | undefined } = {},
  ): Promise<{ descriptor: Descriptor; names: string[] }> {
    const parsed = names.map(parseImageName);
    await mkdir(this.dir, { recursive: true });
    const { descriptor } = await withLease(this.dir, 'put', () =>
      writeLayoutRefs(this.dir, subject, parsed.map(refOf), { ...this.lock, signal: options.signal }),
    );
    return { descriptor, names: parsed.map((n) => n.familiar) };
  }

  /** Point `names` at the image named `source`. Returns the familiar names. */
  async tag(source: string, names: string[]): Promise<string[]> {
    const parsed = names.map(parseImageName);
    await updateLayoutIndex(
      this.dir,
      (index) => {
        const src = findEntry(index, source);
        if (!src) throw new ImageNotFoundError(source, namesIn(index));
        const drop = new Set(parsed.map((n) => n.familiar));
        const kept = (index?.manifests ?? []).filter((m) => !drop.has(m.annotations?.[REF_NAME] ?? ''));
        const added = parsed.map((n) => {
          const d = bare(src.descriptor);
          return {
            ...d,
            annotations: { ...d.annotations, [REF_NAME]: n.familiar, [CONTAINERD_NAME]: n.full },
          };
        });
        return withManifests(index, [...kept, ...added]);
      },
      this.lock,
    );
    return parsed.map((n) => n.familiar);
  }

  /**
   * Remove `names` (all or none: an unknown name fails before anything changes), then delete the blobs
   * no remaining entry of the index reaches.
   */
  async remove(names: string[]): Promise<RemoveResult> {
    const result: RemoveResult = { removed: [], blobsRemoved: 0, bytesFreed: 0, blobsDeferred: 0 };
    await updateLayoutIndex(
      this.dir,
      async (index) => {
        const gone = new Set<Descriptor>();
        for (const name of names) {
          const hit = findEntry(index, name);
          const broken = hit ? undefined : brokenEntry(index, name);
          if (broken) {
            // A broken entry goes by its name; nothing it names is followed.
            gone.add(index!.manifests[broken.at]!);
            result.removed.push(broken.name);
            continue;
          }
          if (!hit) throw new ImageNotFoundError(name, namesIn(index));
          gone.add(hit.descriptor);
          result.removed.push(hit.name);
        }
        const left = (index?.manifests ?? []).filter((m) => !gone.has(m));
        return withManifests(index, await withoutOrphanReferrers(this.dir, left));
      },
      {
        ...this.lock,
        after: async (written) => {
          Object.assign(result, await this.collect(written));
        },
      },
    );
    return result;
  }

  /** Delete every blob no entry of the index reaches (`scratchpack gc`), unless others use the store. */
  async gc(): Promise<Omit<RemoveResult, 'removed'>> {
    let result: Omit<RemoveResult, 'removed'> = { blobsRemoved: 0, bytesFreed: 0, blobsDeferred: 0 };
    if ((await readIndexFile(this.dir)) === undefined) return result;
    await updateLayoutIndex(this.dir, (index) => withManifests(index, index?.manifests ?? []), {
      ...this.lock,
      after: async (written) => {
        result = await this.collect(written);
      },
    });
    return result;
  }

  /**
   * Delete blobs `index` does not reach. Only call under the layout's lock, after the index is written (see
   * `remove`). While another reader or writer holds a lease nothing is deleted: its blobs may not be in
   * the index (yet, or any more); they are counted as deferred.
   */
  private async collect(index: IndexManifest): Promise<Omit<RemoveResult, 'removed'>> {
    const keep = await reachableBlobs(this.dir, index.manifests);
    const dir = join(this.dir, 'blobs', 'sha256');
    const unreachable = (await readdir(dir).catch(() => [] as string[])).filter(
      (name) => HEX_RE.test(name) && !keep.has(`sha256:${name}`),
    );
    if (unreachable.length && (await liveLeases(this.dir)).length)
      return { blobsRemoved: 0, bytesFreed: 0, blobsDeferred: unreachable.length };
    let blobsRemoved = 0;
    let bytesFreed = 0;
    for (const name of unreachable) {
      const path = join(dir, name);
      const size = (await stat(path).catch(() => undefined))?.size ?? 0;
      await rm(path, { force: true });
      blobsRemoved++;
      bytesFreed += size;
    }
    return { blobsRemoved, bytesFreed, blobsDeferred: 0 };
  }
}
