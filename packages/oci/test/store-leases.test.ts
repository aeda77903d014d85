/**
 * Garbage collection against readers and writers of the store: a reader's lease keeps `rmi`'s collection
 * away from the blobs it reads (without it, the read fails — the protection is what makes the test pass),
 * collection deletes them once no one else uses the store (`gc`), a lease of a dead process does not count,
 * and rounds of concurrent rmi/gc, referrer writers and readers leave every index entry's blobs in place.
 */
import { spawn } from 'node:child_process';
import { access, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tempDir } from '@scratchpack/test-utils';
import { afterEach, beforeEach, expect, it } from 'vitest';
import {
  appendLayers,
  artifact,
  BlobStore,
  emptyImage,
  type ImageIndex,
  ImageStore,
  imageIndex,
  LEASES_DIR,
  layerFromEntries,
  liveLeases,
  reachableBlobs,
  readLayout,
  takeLease,
  writeReferrers,
} from '../src/index.ts';

async function image(text: string): Promise<ImageIndex> {
  const base = emptyImage({ platform: { os: 'linux', architecture: 'amd64' } });
  const layer = layerFromEntries([{ path: 'f', type: 'file', mode: 0o644, content: Buffer.from(text) }], {
    sourceDateEpoch: 0,
  });
  return imageIndex([{ image: await appendLayers(base, { layer }) }]);
}

/** Read every layer of the stored `name` through the opened image (what `run` and `push` do). */
async function readAll(subject: ImageIndex): Promise<number> {
  let n = 0;
  for (const { image: img } of await subject.images())
    for (const l of await img.layers()) for await (const c of l.compressed()) n += (c as Buffer).length;
  return n;
}

let work: Awaited<ReturnType<typeof tempDir>>;
let store: ImageStore;
beforeEach(async () => {
  work = await tempDir('leases-');
  store = new ImageStore(join(work.path, 'store'));
});
afterEach(() => work.cleanup());

it('a reader holding a lease keeps rmi from deleting the blobs it reads; gc collects them afterwards', async () => {
  await store.put(await image('one'), ['one:1']);
  const opened = await store.openLeased('one:1');
  const removed = await store.remove(['one:1']);
  expect(removed.blobsRemoved).toBe(0);
  expect(removed.blobsDeferred).toBeGreaterThan(0);
  expect(await readAll(opened.subject as ImageIndex)).toBeGreaterThan(0);
  await opened.lease.release();
  const collected = await store.gc();
  expect(collected.blobsRemoved).toBe(removed.blobsDeferred);
  expect(collected.blobsDeferred).toBe(0);
});

it('without a lease the same interleaving loses the blobs (what the lease prevents)', async () => {
  await store.put(await image('two'), ['two:1']);
  const opened = await store.open('two:1'); // no lease
  const removed = await store.remove(['two:1']);
  expect(removed.blobsRemoved).toBeGreaterThan(0);
  await expect(readAll(opened.subject as ImageIndex)).rejects.toThrow(/ENOENT|not found/);
});

it('a lease of a dead process does not hold collection back, and is removed', async () => {
  await store.put(await image('three'), ['three:1']);
  const child = spawn(process.execPath, ['-e', '']);
  await new Promise((r) => child.on('exit', r));
  await mkdir(join(store.dir, LEASES_DIR), { recursive: true });
  await writeFile(
    join(store.dir, LEASES_DIR, `${child.pid}-1-dead`),
    `${JSON.stringify({ pid: child.pid })}\n`,
  );
  const removed = await store.remove(['three:1']);
  expect(removed.blobsDeferred).toBe(0);
  expect(removed.blobsRemoved).toBeGreaterThan(0);
  expect(await liveLeases(store.dir)).toEqual([]);
});

it('leases taken and released at once never fail, though each release may remove the folder another is creating', async () => {
  // A release removes the empty folder; a take at that moment sees the folder (EEXIST) and then finds it gone
  // (ENOENT from mkdir itself). Before that race was retried, this failed in each of 5 runs.
  await mkdir(store.dir, { recursive: true });
  const cycle = async () => {
    for (let i = 0; i < 150; i++) await (await takeLease(store.dir, 'test')).release();
  };
  await expect(Promise.all(Array.from({ length: 8 }, cycle))).resolves.toHaveLength(8);
  expect(await liveLeases(store.dir)).toEqual([]);
});

it('rounds of rmi and gc against referrer writers and readers: every entry keeps its blobs, every read succeeds', async () => {
  const keep = await image('kept');
  await store.put(keep, ['kept:1']);
  const subject = {
    mediaType: keep.mediaType(),
    digest: (await keep.digest()).toString(),
    size: await keep.size(),
  };
  const failures: unknown[] = [];
  for (let round = 0; round < 12; round++) {
    const churn = await image(`churn-${round}`);
    await store.put(churn, [`churn:${round}`]);
    const writer = (async () => {
      const a = artifact({
        artifactType: 'application/vnd.example.note',
        subject,
        layers: [{ mediaType: 'text/plain', bytes: Buffer.from(`note ${round}`) }],
      });
      await writeReferrers(store.dir, [a]);
    })();
    const reader = (async () => {
      const opened = await store.openLeased(`churn:${round}`).catch(() => undefined);
      if (!opened) return; // removed before the reader came: fine, nothing to read
      try {
        await readAll(opened.subject as ImageIndex);
      } finally {
        await opened.lease.release();
      }
    })();
    const remover = (async () => {
      await store.remove([`churn:${round}`]);
      await store.gc();
    })();
    for (const r of await Promise.allSettled([writer, reader, remover]))
      if (r.status === 'rejected') failures.push(r.reason);
  }
  expect(failures).toEqual([]);
  await store.gc();
  const layout = await readLayout(store.dir);
  const blobs = new BlobStore(store.dir);
  const reachable = await reachableBlobs(store.dir, (await layout.index()).manifests);
  for (const d of reachable) await expect(access(blobs.path(d))).resolves.toBeUndefined();
  // Every note written is still there with its blobs.
  expect(
    (await layout.index()).manifests.filter((m) => m.artifactType === 'application/vnd.example.note'),
  ).toHaveLength(12);
});
