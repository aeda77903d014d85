/**
 * Cancelling writes through their AbortSignal: a blob, a layout, an archive and a tar import each stall on a
 * source that never ends (a stream nobody finishes, a FIFO nobody writes), the test aborts once the temp file
 * is there, and checks that the call rejected with AbortedError, promptly, leaving no temp file and the
 * previous state untouched.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, constants, openSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import tar from 'tar-stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  AbortedError,
  abortableSleep,
  appendLayers,
  Digest,
  emptyImage,
  ImageStore,
  importTarLayer,
  layerFromBlob,
  layerFromEntries,
  loadArchive,
  readLayout,
  sha256,
  validateLayout,
  writeArchive,
  writeBlob,
  writeLayout,
} from '../src/index.ts';

const PROMPT_MS = 3000;
const platform = { os: 'linux', architecture: 'amd64' };

/** Poll `check` (the operation is stalled, so this is no race) until it holds. */
async function until(check: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const temps = async (dir: string) =>
  (await readdir(dir).catch(() => [] as string[])).filter((n) => n.startsWith('.tmp-'));

/** Abort `controller` and measure how long `outcome` takes to settle after it. */
async function abortAndSettle(controller: AbortController, outcome: Promise<unknown>) {
  const at = Date.now();
  controller.abort();
  const err = await outcome.then(
    () => undefined,
    (e: unknown) => e,
  );
  return { err, ms: Date.now() - at };
}

describe('aborting writes', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'oci-abort-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writeBlob: a stalled source, aborted, leaves neither temp nor blob', async () => {
    const blobs = join(dir, 'blobs', 'sha256');
    const source = new PassThrough();
    source.write(Buffer.alloc(1000, 1));
    const digest = sha256(Buffer.alloc(2000, 1));
    const controller = new AbortController();
    const write = writeBlob(join(blobs, digest.hex), digest, 2000, () => source, {
      signal: controller.signal,
    });
    await until(async () => (await temps(blobs)).length === 1, 'the blob temp');
    const { err, ms } = await abortAndSettle(controller, write);
    expect(err).toBeInstanceOf(AbortedError);
    expect(ms).toBeLessThan(PROMPT_MS);
    expect(await readdir(blobs)).toEqual([]);
    expect(source.destroyed).toBe(true);
  });

  it('writeBlob: an aborted signal writes nothing', async () => {
    const digest = sha256(Buffer.from('x'));
    await expect(
      writeBlob(join(dir, 'b'), digest, 1, Buffer.from('x'), { signal: AbortSignal.abort() }),
    ).rejects.toBeInstanceOf(AbortedError);
    expect(await readdir(dir)).toEqual([]);
  });

  it('writeLayout: aborted mid-layer, index.json and the old tag stay as they were, no temp', async () => {
    const old = await appendLayers(emptyImage({ platform }), {
      layer: layerFromEntries([{ type: 'file', path: 'old', content: 'old\n' }]),
    });
    await writeLayout(dir, old, { tags: ['old'] });
    const before = await readFile(join(dir, 'index.json'));

    const stalled = new PassThrough();
    stalled.write(Buffer.alloc(4096, 2));
    const fake = Digest.parse(sha256(Buffer.from('never finished')).toString());
    const layer = layerFromBlob(
      {
        digest: fake,
        diffId: fake,
        size: 1 << 20,
        uncompressedSize: 1 << 20,
        mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
      },
      () => stalled,
    );
    const next = await appendLayers(emptyImage({ platform }), { layer });
    const controller = new AbortController();
    const write = writeLayout(dir, next, { tags: ['next'], signal: controller.signal });
    const blobs = join(dir, 'blobs', 'sha256');
    await until(async () => (await temps(blobs)).length === 1, 'the layer temp');
    const { err, ms } = await abortAndSettle(controller, write);
    expect(err).toBeInstanceOf(AbortedError);
    expect(ms).toBeLessThan(PROMPT_MS);
    expect(await temps(blobs)).toEqual([]);
    expect(await temps(dir)).toEqual([]);
    expect(await readFile(join(dir, 'index.json'))).toEqual(before);
    expect(await (await readLayout(dir)).tags()).toEqual(['old']);
    expect((await validateLayout(dir, { tag: 'old' })).problems).toEqual([]);
  });

  it('writeArchive: aborted while stuck reading a blob, leaves no temp and no archive', async () => {
    const layoutDir = join(dir, 'layout');
    const image = await appendLayers(emptyImage({ platform }), {
      layer: layerFromEntries([{ type: 'file', path: 'f', content: 'f\n' }]),
    });
    await writeLayout(layoutDir, image, { tags: ['t'] });
    // An entry whose (empty) blob is a FIFO nobody writes: the archive writer blocks opening it.
    const empty = sha256(Buffer.alloc(0));
    const fifo = join(layoutDir, 'blobs', 'sha256', empty.hex);
    execFileSync('mkfifo', [fifo]);
    const index = JSON.parse(await readFile(join(layoutDir, 'index.json'), 'utf8'));
    index.manifests.push({
      mediaType: 'application/octet-stream',
      artifactType: 'application/vnd.scratchpack.test',
      digest: empty.toString(),
      size: 0,
    });
    await writeFile(join(layoutDir, 'index.json'), JSON.stringify(index));

    const out = join(dir, 'out');
    await mkdir(out);
    const controller = new AbortController();
    const write = writeArchive(layoutDir, join(out, 'image.oci.tar'), { signal: controller.signal });
    try {
      await until(async () => (await temps(out)).length === 1, 'the archive temp');
      const { err, ms } = await abortAndSettle(controller, write);
      expect(err).toBeInstanceOf(AbortedError);
      expect(ms).toBeLessThan(PROMPT_MS);
      expect(await readdir(out)).toEqual([]);
    } finally {
      // Let the blocked open of the FIFO go (it has a reader waiting, so a non-blocking open succeeds).
      try {
        closeSync(openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK));
      } catch {
        // nobody was waiting on it
      }
    }
  });

  it('importTarLayer: aborted mid-input, rejects with AbortedError and removes its spool', async () => {
    const saved = process.env.TMPDIR;
    process.env.TMPDIR = dir;
    try {
      const pack = tar.pack();
      pack.entry({ name: 'big', size: 1 << 20, mode: 0o644 }, Buffer.alloc(1 << 20, 3));
      pack.finalize();
      const chunks: Buffer[] = [];
      for await (const c of pack) chunks.push(c as Buffer);
      const whole = Buffer.concat(chunks);
      const input = new PassThrough();
      input.write(whole.subarray(0, 512 * 1024)); // half of it, then nothing more
      const controller = new AbortController();
      let read = 0;
      const importing = importTarLayer(input, {
        signal: controller.signal,
        onRead: (n) => {
          read = n;
        },
      });
      const spools = async () => (await readdir(dir)).filter((n) => n.startsWith('scratchpack-import-'));
      await until(async () => read === 512 * 1024 && (await spools()).length === 1, 'the half input read');
      const { err, ms } = await abortAndSettle(controller, importing);
      expect(err).toBeInstanceOf(AbortedError);
      expect(ms).toBeLessThan(PROMPT_MS);
      expect(await spools()).toEqual([]);
    } finally {
      if (saved === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = saved;
    }
  });

  it('loadArchive: aborted mid-blob, leaves no staging directory and the store as it was', async () => {
    const store = new ImageStore(join(dir, 'store'));
    const body = Buffer.alloc(2000, 4);
    const pack = tar.pack();
    const input = new PassThrough();
    pack.pipe(input);
    pack.entry({ name: 'oci-layout', size: 30 }, '{"imageLayoutVersion":"1.0.0"}');
    const blob = pack.entry({ name: `blobs/sha256/${sha256(body).hex}`, size: body.byteLength });
    blob.write(body.subarray(0, 1000)); // half of the blob, then nothing more
    const controller = new AbortController();
    const loading = loadArchive(store, input, { source: 'stalled.tar', signal: controller.signal });
    const blobTemps = async () => {
      const [stage] = await temps(store.dir);
      return stage ? temps(join(store.dir, stage, 'blobs', 'sha256')) : [];
    };
    await until(async () => (await blobTemps()).length === 1, 'the blob temp in the staging directory');
    const { err, ms } = await abortAndSettle(controller, loading);
    expect(err).toBeInstanceOf(AbortedError);
    expect(ms).toBeLessThan(PROMPT_MS);
    expect(await readdir(store.dir)).toEqual([]);
  });

  it('layerFromEntries: packing stops on abort (the first progress call), with AbortedError', async () => {
    const big = join(dir, 'big');
    await writeFile(big, '');
    await truncate(big, 256 * 1024 * 1024); // sparse: zeros to pack, nothing on disk
    const controller = new AbortController();
    let progressed = 0;
    const layer = layerFromEntries(
      [{ type: 'file', path: 'big', mode: 0o644, uid: 0, gid: 0, source: big }],
      {
        signal: controller.signal,
        onProgress: () => {
          progressed++;
          controller.abort();
        },
      },
    );
    const err = await layer.digest().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(progressed).toBeGreaterThan(0);
    expect(err).toBeInstanceOf(AbortedError);
    expect((err as AbortedError).message).toMatch(/packing a layer/);
    // An aborted signal packs nothing.
    const again = layerFromEntries([{ type: 'file', path: 'x', content: 'x' }], {
      signal: controller.signal,
    });
    await expect(again.digest()).rejects.toBeInstanceOf(AbortedError);
  });

  it.each([1, 2, 4, 7])(
    'layerFromEntries: aborted at progress call %i among small in-memory entries, rejects, nothing unhandled',
    async (at) => {
      // Buffered bodies and directories (~3.6 MB of tar: progress is told per 512 KiB chunk of it): an abort must
      // reject, and leave nothing unhandled (Ctrl-C during import once crashed with an unhandled 'error' event).
      const entries = Array.from({ length: 3000 }, (_, i) =>
        i % 10 === 0
          ? { type: 'dir' as const, path: `d${i}` }
          : { type: 'file' as const, path: `d${i - (i % 10)}/f${i}`, content: randomBytes(700) },
      );
      const unheard: unknown[] = [];
      const onUncaught = (e: unknown) => unheard.push(e);
      process.on('uncaughtException', onUncaught);
      try {
        const controller = new AbortController();
        let calls = 0;
        const layer = layerFromEntries(entries, {
          signal: controller.signal,
          spoolThreshold: 1024,
          onProgress: () => {
            if (++calls === at) controller.abort();
          },
        });
        const err = await layer.digest().then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(calls).toBeGreaterThanOrEqual(at);
        expect(err).toBeInstanceOf(AbortedError);
        await new Promise((r) => setTimeout(r, 50));
        expect(unheard).toEqual([]);
      } finally {
        process.off('uncaughtException', onUncaught);
      }
    },
  );

  it('abortableSleep ends at once on abort, with AbortedError', async () => {
    const controller = new AbortController();
    const sleeping = abortableSleep(60_000, controller.signal);
    const { err, ms } = await abortAndSettle(controller, sleeping);
    expect(err).toBeInstanceOf(AbortedError);
    expect((err as AbortedError).code).toBe('ABORTED');
    expect(ms).toBeLessThan(PROMPT_MS);
  });
});
