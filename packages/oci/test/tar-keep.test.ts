import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { importTarLayer, keepTarLayer, parallelGzip, sha256 } from '../src/index.ts';
import { bytes, collect, layerBytes, listTar, makeTar } from './helpers.ts';

const from = (b: Buffer) => Readable.from([b]);
/** Feeds `b` in small pieces, as a pipe would. */
const trickle = (b: Buffer, n = 700) =>
  Readable.from(
    (function* () {
      for (let i = 0; i < b.byteLength; i += n) yield b.subarray(i, i + n);
    })(),
  );

/** A tar as tar(1) writes one of `.`: `./` names, the root entry, real mtimes, out of order, padded. */
async function asIs(): Promise<Buffer> {
  const t = await makeTar([
    { header: { name: './', type: 'directory', mode: 0o755, mtime: new Date(1_700_000_000_000) } },
    { header: { name: './zz', type: 'file', mtime: new Date(1_600_000_000_000) }, body: 'last' },
    { header: { name: './bin/', type: 'directory', mode: 0o755 } },
    { header: { name: './bin/big', type: 'file', mode: 0o755 }, body: bytes(600_000).toString('latin1') },
    { header: { name: './bin/sh', type: 'symlink', linkname: '/bin/big' } },
    { header: { name: './bin/ash', type: 'link', linkname: './bin/big' } },
  ]);
  // GNU tar pads to its 10 KiB record: the padding is part of the bytes docker hashes.
  return Buffer.concat([t, Buffer.alloc(10240 - (t.byteLength % 10240))]);
}

describe('keepTarLayer (the tar kept as it is)', () => {
  it("the layer's tar is the input's bytes: diff_id is their sha256, the blob our deterministic gzip of them", async () => {
    const input = await asIs();
    const { layer, entries } = await keepTarLayer(trickle(input), { requireEndMarker: true });
    expect(entries).toBe(5); // ./ (the root) is not counted
    const { gz, tar } = await layerBytes(layer);
    expect(tar.equals(input)).toBe(true);
    expect((await layer.diffId()).toString()).toBe(sha256(input).toString());
    expect(await layer.uncompressedSize()).toBe(input.byteLength);
    expect(gz.equals(await collect(parallelGzip(from(input))))).toBe(true);
    expect((await layer.digest()).toString()).toBe(sha256(gz).toString());
    expect(await layer.size()).toBe(gz.byteLength);
    expect((await listTar(tar)).map((e) => [e.name, e.mtime])).toContainEqual(['./zz', 1_600_000_000]);
  });

  it('a gzip input keeps its decompressed bytes: the same layer as the plain tar', async () => {
    const input = await asIs();
    const plain = await keepTarLayer(from(input));
    const gz = await keepTarLayer(from(gzipSync(input, { level: 1 })));
    expect((await gz.layer.digest()).toString()).toBe((await plain.layer.digest()).toString());
    expect((await gz.layer.diffId()).toString()).toBe(sha256(input).toString());
  });

  it('a small spool threshold (blob in a temp file) and other chunkings give the same blob', async () => {
    const input = await asIs();
    const a = await keepTarLayer(from(input), { spoolThreshold: 1024, gzipConcurrency: 1 });
    const b = await keepTarLayer(trickle(input, 4096));
    expect((await layerBytes(a.layer)).gz.equals((await layerBytes(b.layer)).gz)).toBe(true);
  });

  it('reports the input sha256 and holds the keepFiles, as the archive leaves them (both importers)', async () => {
    const input = await makeTar([
      { header: { name: './etc/', type: 'directory' } },
      { header: { name: './etc/os-release', type: 'file' }, body: 'ID=old' },
      { header: { name: './var/lib/dpkg/status', type: 'file' }, body: 'Package: a\n' },
      { header: { name: './etc/os-release', type: 'file' }, body: 'ID=debian' },
      { header: { name: './etc/gone', type: 'file' }, body: 'x' },
      { header: { name: './etc/gone', type: 'symlink', linkname: 'os-release' } },
      { header: { name: './etc/other', type: 'file' }, body: 'not wanted' },
    ]);
    const want = (p: string) => p.startsWith('etc/') || p === 'var/lib/dpkg/status';
    const gz = gzipSync(input, { level: 1 });
    for (const f of [keepTarLayer, importTarLayer])
      for (const [given, name] of [
        [input, 'plain'],
        [gz, 'gzip'],
      ] as const) {
        const got = await f(trickle(given), { keepFiles: want });
        expect(got.input.toString(), `${f.name} ${name}`).toBe(sha256(given).toString());
        expect(Object.fromEntries([...got.files].map(([k, v]) => [k, v.toString()]))).toEqual({
          'etc/os-release': 'ID=debian',
          'var/lib/dpkg/status': 'Package: a\n',
          'etc/other': 'not wanted',
        });
        expect((await f(from(given))).files.size).toBe(0);
      }
  });

  it('refuses what importTarLayer refuses, naming the entry', async () => {
    const traversal = await makeTar([
      { header: { name: 'ok', type: 'file' }, body: 'x'.repeat(5000) },
      { header: { name: '../x', type: 'file' }, body: 'x' },
    ]);
    for (const f of [keepTarLayer, importTarLayer])
      await expect(f(trickle(traversal), { source: 'u.tar' })).rejects.toMatchObject({
        code: 'OCI_UNSAFE_PATH',
        message: expect.stringMatching(/u\.tar: unsafe path "\.\.\/x"/),
      });
    const link = await makeTar([{ header: { name: 'evil', type: 'link', linkname: 'etc/shadow' } }]);
    // A hardlink to nothing earlier in the archive (it could only reach outside it): refused as importTarLayer does.
    for (const f of [keepTarLayer, importTarLayer])
      await expect(f(from(link), { source: 'l.tar' })).rejects.toMatchObject({
        code: 'OCI_HARDLINK_TARGET_MISSING',
      });
    const wh = await makeTar([{ header: { name: 'a/.wh.b', type: 'file' }, body: '' }]);
    await expect(keepTarLayer(from(wh), { whiteouts: 'refuse' })).rejects.toMatchObject({
      code: 'OCI_UNSAFE_PATH',
    });
  });

  it('refuses truncated, cut and non-tar input', async () => {
    const input = await asIs();
    await expect(keepTarLayer(from(input.subarray(0, 3000)), { source: 'cut.tar' })).rejects.toMatchObject({
      code: 'OCI_INVALID_TAR',
      message: expect.stringMatching(/cut\.tar is not a valid tar/),
    });
    const noEnd = (await makeTar([{ header: { name: 'a', type: 'file' }, body: 'a' }])).subarray(0, 1024);
    await expect(
      keepTarLayer(from(noEnd), { source: 'n.tar', requireEndMarker: true }),
    ).rejects.toMatchObject({
      message: expect.stringMatching(/n\.tar ends without the end-of-archive marker/),
    });
    await expect(keepTarLayer(from(Buffer.from('junk'.repeat(300))))).rejects.toMatchObject({
      code: 'OCI_INVALID_TAR',
    });
    await expect(keepTarLayer(from(Buffer.alloc(0)), { source: 'e.tar' })).rejects.toMatchObject({
      message: expect.stringMatching(/e\.tar is empty/),
    });
  });
});

describe('importTarLayer keepTimes (import --normalize)', () => {
  it('keeps mtimes clamped to sourceDateEpoch, never after it', async () => {
    const input = await asIs();
    const times = async (sourceDateEpoch: number) => {
      const { layer } = await importTarLayer(from(input), { keepTimes: true, sourceDateEpoch });
      return Object.fromEntries((await listTar((await layerBytes(layer)).tar)).map((e) => [e.name, e.mtime]));
    };
    expect(await times(1_650_000_000)).toMatchObject({ zz: 1_600_000_000, 'bin/big': 1_234_567_890 });
    expect(await times(1_650_000_000)).toMatchObject({ bin: 1_234_567_890 });
    expect(Object.values(await times(0))).toEqual([0, 0, 0, 0, 0]);
    const { layer } = await importTarLayer(from(input), { sourceDateEpoch: 1_650_000_000 });
    const dropped = (await listTar((await layerBytes(layer)).tar)).map((e) => e.mtime);
    expect(new Set(dropped)).toEqual(new Set([1_650_000_000]));
  });
});
