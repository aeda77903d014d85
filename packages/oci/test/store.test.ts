/**
 * Image names, the layout lock (stale locks broken only when their holder is provably gone), the local
 * store (tag, remove + blob collection, merge keeping unknown entries), and temp sweeping.
 */
import { spawn } from 'node:child_process';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { tempDir } from '@scratchpack/test-utils';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  appendLayers,
  BlobStore,
  emptyImage,
  ImageStore,
  imageIndex,
  LOCK_FILE,
  layerFromEntries,
  MediaTypes,
  parseImageName,
  REF_NAME,
  readLayout,
  sha256,
  sweepDeadTemps,
  updateLayoutIndex,
  validateLayout,
  withLayoutLock,
  writeLayout,
} from '../src/index.ts';

/** A PID that is certainly not running: a child that has exited. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  await new Promise((r) => child.on('exit', r));
  return child.pid!;
}

async function image(text: string) {
  const base = emptyImage({ platform: { os: 'linux', architecture: 'amd64' } });
  const layer = layerFromEntries([{ path: 'f', type: 'file', mode: 0o644, content: Buffer.from(text) }], {
    sourceDateEpoch: 0,
  });
  return imageIndex([{ image: await appendLayers(base, { layer }) }]);
}

let work: Awaited<ReturnType<typeof tempDir>>;
beforeEach(async () => {
  work = await tempDir('store-unit-');
});
afterEach(() => work.cleanup());

describe('image names', () => {
  it.each([
    ['hello', 'hello:latest', 'docker.io/library/hello:latest'],
    ['hello:1.0', 'hello:1.0', 'docker.io/library/hello:1.0'],
    ['me/app', 'me/app:latest', 'docker.io/me/app:latest'],
    ['docker.io/library/hello', 'hello:latest', 'docker.io/library/hello:latest'],
    ['index.docker.io/me/app:2', 'me/app:2', 'docker.io/me/app:2'],
    ['ghcr.io/me/app:1.0', 'ghcr.io/me/app:1.0', 'ghcr.io/me/app:1.0'],
    ['localhost:5000/x', 'localhost:5000/x:latest', 'localhost:5000/x:latest'],
  ])('%s → %s (%s)', (input, familiar, full) => {
    expect(parseImageName(input)).toMatchObject({ familiar, full });
  });

  it.each(['', 'Hello', 'a b', 'hello:', 'hello:-x', 'a//b', 'hello@sha256:00'])('refuses %j', (input) => {
    expect(() => parseImageName(input)).toThrow(expect.objectContaining({ code: 'STORE_INVALID_NAME' }));
  });
});

describe('layout lock', () => {
  const lock = (dir: string) => join(dir, LOCK_FILE);

  it('breaks a lock whose holder is dead, and removes its own lock afterwards', async () => {
    const pid = await deadPid();
    await writeFile(lock(work.path), JSON.stringify({ pid, host: hostname() }));
    const got = await withLayoutLock(work.path, async () => readFile(lock(work.path), 'utf8'), {
      timeoutMs: 2000,
    });
    expect(JSON.parse(got).pid).toBe(process.pid);
    expect(await readdir(work.path)).toEqual([]);
  });

  it('breaks a lock whose PID now belongs to another process (start time differs)', async () => {
    await writeFile(lock(work.path), JSON.stringify({ pid: process.ppid, host: hostname(), start: '1' }));
    await expect(withLayoutLock(work.path, async () => 'ok', { timeoutMs: 2000 })).resolves.toBe('ok');
  });

  it('waits for a live holder and times out with a clear error, leaving its lock alone', async () => {
    const held = JSON.stringify({ pid: process.ppid, host: hostname() });
    await writeFile(lock(work.path), held);
    let waitedFor: number | undefined;
    await expect(
      withLayoutLock(work.path, async () => 'never', { timeoutMs: 1500, onWait: (p) => (waitedFor = p) }),
    ).rejects.toMatchObject({
      code: 'OCI_LOCK_TIMEOUT',
      hint: expect.stringContaining(String(process.ppid)),
    });
    expect(waitedFor).toBe(process.ppid);
    expect(await readFile(lock(work.path), 'utf8')).toBe(held);
  });

  it('stops waiting for a live holder when its signal aborts, leaving the lock alone', async () => {
    const held = JSON.stringify({ pid: process.ppid, host: hostname() });
    await writeFile(lock(work.path), held);
    const controller = new AbortController();
    let ran = false;
    const waiting = withLayoutLock(
      work.path,
      async () => {
        ran = true;
      },
      { timeoutMs: 60_000, signal: controller.signal, onWait: () => controller.abort() },
    );
    const started = Date.now();
    await expect(waiting).rejects.toMatchObject({
      code: 'ABORTED',
      message: expect.stringMatching(/waiting for the lock of /),
    });
    expect(Date.now() - started).toBeLessThan(5000);
    expect(ran).toBe(false);
    expect(await readFile(lock(work.path), 'utf8')).toBe(held);
  });

  it('serialises writers in one process: 40 concurrent tag writes, none lost', async () => {
    const subject = await image('x');
    await Promise.all(
      Array.from({ length: 40 }, (_, i) => writeLayout(work.path, subject, { tags: [`t${i}`] })),
    );
    const tags = await (await readLayout(work.path)).tags();
    expect(tags).toHaveLength(40);
  });

  it('serialises writers in four processes: 4 × 25 tag writes, none lost', async () => {
    const script = join(work.path, 'writer.mjs');
    await writeFile(
      script,
      `const { emptyImage, writeLayout } = await import(process.argv[2]);
       const img = emptyImage({ platform: { os: 'linux', architecture: 'amd64' } });
       for (let i = 0; i < 25; i++) await writeLayout(process.argv[3], img, { tags: [process.argv[4] + i] });`,
    );
    const layout = join(work.path, 'L');
    const oci = new URL('../src/index.ts', import.meta.url).href;
    const runs = ['a', 'b', 'c', 'd'].map(
      (p) =>
        new Promise<number | null>((resolve) => {
          const child = spawn(process.execPath, ['--import', 'tsx', script, oci, layout, p], {
            stdio: 'inherit',
          });
          child.on('exit', resolve);
        }),
    );
    expect(await Promise.all(runs)).toEqual([0, 0, 0, 0]);
    expect(await (await readLayout(layout)).tags()).toHaveLength(100);
    expect((await validateLayout(layout, { tag: 'a0' })).problems).toEqual([]);
    expect((await readdir(layout)).sort()).toEqual(['blobs', 'index.json', 'oci-layout']);
  }, 60_000);
});

describe('index merge and temp sweeping', () => {
  it('keeps entries and fields it does not know about', async () => {
    const d = {
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      digest: `sha256:${'a'.repeat(64)}`,
      size: 1,
    };
    await updateLayoutIndex(work.path, () => ({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [{ ...d, artifactType: 'application/spdx+json' }],
      annotations: { keep: 'me' },
    }));
    await writeLayout(work.path, await image('x'), { tags: ['v1'] });
    const idx = JSON.parse(await readFile(join(work.path, 'index.json'), 'utf8'));
    expect(idx.manifests[0]).toEqual({ ...d, artifactType: 'application/spdx+json' });
    expect(idx.manifests[1].annotations[REF_NAME]).toBe('v1');
    expect(idx.annotations).toEqual({ keep: 'me' });
  });

  it.each(['{"manifests": {}}', 'null', '[]'])(
    'refuses to merge into a broken index.json (%s), leaving it as it was',
    async (bad) => {
      await writeFile(join(work.path, 'index.json'), bad);
      await expect(writeLayout(work.path, await image('x'), { tags: ['v1'] })).rejects.toMatchObject({
        code: 'OCI_VALIDATION_FAILED',
      });
      expect(await readFile(join(work.path, 'index.json'), 'utf8')).toBe(bad);
      expect(await readdir(work.path)).not.toContain(LOCK_FILE);
    },
  );

  it('removes temp files of dead writers only', async () => {
    const dead = await deadPid();
    const blobs = join(work.path, 'blobs', 'sha256');
    await mkdir(blobs, { recursive: true });
    const names = [
      `.tmp-${dead}-1-1-abc`,
      `.tmp-${process.ppid}-1-1-abc`,
      `.tmp-${process.pid}-1-1-abc`,
      'abc',
    ];
    for (const n of names) await writeFile(join(blobs, n), 'x');
    await writeLayout(work.path, await image('x'), { tags: ['v1'] });
    const left = await readdir(blobs);
    expect(left).not.toContain(names[0]);
    for (const n of names.slice(1)) expect(left).toContain(n);
    expect(await sweepDeadTemps(blobs)).toEqual([]);
  });
});

describe('the local store', () => {
  it('stores, tags, removes and collects only unreferenced blobs', async () => {
    const store = new ImageStore(join(work.path, 'store'));
    await store.put(await image('one'), ['one']);
    await store.put(await image('two'), ['two', 'ghcr.io/me/two:1']);
    expect(await store.tag('one', ['one:1.0'])).toEqual(['one:1.0']);
    expect((await store.list()).map((e) => e.name)).toEqual([
      'ghcr.io/me/two:1',
      'one:1.0',
      'one:latest',
      'two:latest',
    ]);
    const blobs = join(store.dir, 'blobs', 'sha256');
    const before = (await readdir(blobs)).length;
    expect(await store.remove(['one'])).toMatchObject({ removed: ['one:latest'], blobsRemoved: 0 });
    const r = await store.remove(['one:1.0']);
    expect(r).toMatchObject({ removed: ['one:1.0'], blobsRemoved: 4 });
    expect(r.bytesFreed).toBeGreaterThan(0);
    expect((await readdir(blobs)).length).toBe(before - 4);
    expect((await validateLayout(store.dir, { tag: 'two:latest' })).problems).toEqual([]);
    await expect(store.remove(['two', 'nope'])).rejects.toMatchObject({ code: 'STORE_IMAGE_NOT_FOUND' });
    expect((await store.list()).map((e) => e.name)).toEqual(['ghcr.io/me/two:1', 'two:latest']);
    await expect(store.tag('nope', ['x'])).rejects.toMatchObject({
      code: 'STORE_IMAGE_NOT_FOUND',
      hint: expect.stringContaining('two:latest'),
    });
    const byDigest = await store.find((await store.find('two')).descriptor.digest.slice(7, 19));
    expect(byDigest.name).toBe('ghcr.io/me/two:1');
  });

  it('rmi takes an image’s unnamed referrers (SBOM, signature) with it, and keeps other unnamed entries', async () => {
    const store = new ImageStore(join(work.path, 'store'));
    const { descriptor: subject } = await store.put(await image('with-sbom'), ['app']);
    await store.put(await image('other'), ['other']);
    const blobs = new BlobStore(store.dir);
    const put = async (bytes: Buffer) => {
      const d = sha256(bytes);
      await blobs.write(d, bytes.length, bytes);
      return { digest: d.toString(), size: bytes.length };
    };
    const emptyCfg = await put(Buffer.from('{}'));
    const sbom = await put(Buffer.from('{"spdxVersion":"SPDX-2.3"}'));
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaTypes.ociManifest,
        artifactType: 'application/spdx+json',
        config: { mediaType: 'application/vnd.oci.empty.v1+json', ...emptyCfg },
        layers: [{ mediaType: 'application/spdx+json', ...sbom }],
        subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.size },
      }),
    );
    const referrer = { mediaType: MediaTypes.ociManifest, ...(await put(manifest)) };
    const plain = (await store.find('other')).descriptor;
    await updateLayoutIndex(store.dir, (idx) => ({
      ...idx!,
      manifests: [
        ...idx!.manifests,
        referrer,
        { mediaType: plain.mediaType, digest: plain.digest, size: plain.size },
      ],
    }));
    const r = await store.remove(['app']);
    const idx = JSON.parse(await readFile(join(store.dir, 'index.json'), 'utf8'));
    expect(idx.manifests.map((m: { digest: string }) => m.digest)).toEqual([plain.digest, plain.digest]);
    for (const d of [referrer.digest, sbom.digest]) expect(await blobs.has(d)).toBe(false);
    expect(r.blobsRemoved).toBe(4 + 3); // the image's index, manifest, config, layer; the referrer, its config and SBOM
    expect((await validateLayout(store.dir, { tag: 'other:latest' })).problems).toEqual([]);
  });
});
