import { spawnSync } from 'node:child_process';
import { createReadStream, mkdirSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  importTarLayer,
  type LayerOptions,
  layerFromEntries,
  layerFromTarStream,
  readTarEntries,
} from '../src/index.ts';
import { layerBytes, listTar, makeTar } from './helpers.ts';

const fixtures = join(import.meta.dirname, 'fixtures');
const from = (b: Buffer) => Readable.from([b]);

/** Deterministic bytes that compress a little (so gzip really works on them). */
function pattern(n: number, seed: number): string {
  let s = '';
  let x = seed;
  while (s.length < n) {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    s += `${x.toString(36)} line ${s.length % 977}\n`;
  }
  return s.slice(0, n);
}

/** Every kind of entry, out of order, with a duplicate, a long name, xattrs and bodies above the 1 MiB stream limit. */
let mixed: Promise<Buffer> | undefined;
function mixedTar(): Promise<Buffer> {
  mixed ??= makeMixedTar();
  return mixed;
}

async function makeMixedTar(): Promise<Buffer> {
  const long = `usr/share/${'deep/'.repeat(30)}name-longer-than-a-ustar-field.txt`;
  return makeTar([
    {
      header: { name: 'usr/lib/big.bin', type: 'file', mode: 0o640, uid: 7, gid: 8 },
      body: pattern(2_500_000, 1),
    },
    { header: { name: 'zz/last', type: 'file' }, body: 'first version' },
    { header: { name: 'bin/', type: 'directory', mode: 0o750 } },
    {
      header: { name: 'bin/tool', type: 'file', mode: 0o4755, pax: { 'SCHILY.xattr.user.k': 'v' } },
      body: 'T',
    },
    { header: { name: 'a-link-first', type: 'link', linkname: 'bin/tool' } },
    { header: { name: 'usr/lib/exactly-1MiB', type: 'file' }, body: pattern(1024 * 1024, 2) },
    { header: { name: 'usr/lib/under-1MiB', type: 'file' }, body: pattern(1024 * 1024 - 1, 3) },
    { header: { name: 'usr/lib/empty', type: 'file' }, body: '' },
    { header: { name: long, type: 'file', mode: 0o600 }, body: pattern(3000, 4) },
    { header: { name: 'dev/null', type: 'character-device', mode: 0o666, devmajor: 1, devminor: 3 } },
    { header: { name: 'dev/sda', type: 'block-device', mode: 0o660, devmajor: 8, devminor: 0 } },
    { header: { name: 'run/fifo', type: 'fifo', mode: 0o600 } },
    { header: { name: 'lib', type: 'symlink', linkname: 'usr/lib' } },
    { header: { name: 'zz/last', type: 'file', mode: 0o700 }, body: 'second version wins' },
    { header: { name: './', type: 'directory', mode: 0o755 } },
  ]);
}

describe('importTarLayer (contents spooled to disk, headers sorted)', () => {
  let tmp: string;
  let savedTmp: string | undefined;
  beforeEach(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'import-stream-'));
    savedTmp = process.env.TMPDIR;
    process.env.TMPDIR = tmp;
  });
  afterEach(async () => {
    if (savedTmp === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = savedTmp;
    await rm(tmp, { recursive: true, force: true });
  });
  const spools = async () => (await readdir(tmp)).filter((n) => n.startsWith('scratchpack-import-'));

  it('gives the golden digests for the golden layer tar, plain and gzip', async () => {
    for (const name of ['small-layer.tar', 'small-layer.tar.gz']) {
      // The golden layer is gzip level 9 (fixtures/README.md).
      const { layer, entries } = await importTarLayer(from(await readFile(join(fixtures, name))), {
        sourceDateEpoch: 0,
        compressionLevel: 9,
      });
      expect(entries).toBe(5);
      expect((await layer.digest()).toString()).toBe(
        'sha256:4b66977c28bec7bd0d4dab415c2ab2c59416a6188ac4293921e4b7163047df45',
      );
      expect((await layer.diffId()).toString()).toBe(
        'sha256:b81a5fbb5d721984806ea33df8faf2e7097d38a2e265c6e1246ed327b9492077',
      );
    }
  });

  it.each<[string, LayerOptions]>([
    ['defaults (level 6)', {}],
    ['level 9, another epoch', { compressionLevel: 9, sourceDateEpoch: 1700000000 }],
    ['one gzip thread', { gzipConcurrency: 1 }],
  ])('writes the same bytes as the in-memory path: %s', async (_, opts) => {
    const input = await mixedTar();
    const reference = layerFromEntries(await readTarEntries(from(input)), opts);
    const streamed = await importTarLayer(from(gzipSync(input)), opts);
    const want = await layerBytes(reference);
    const got = await layerBytes(streamed.layer);
    expect(got.tar.equals(want.tar)).toBe(true);
    expect(got.gz.equals(want.gz)).toBe(true);
    expect((await streamed.layer.digest()).equals(await reference.digest())).toBe(true);
    expect((await streamed.layer.diffId()).equals(await reference.diffId())).toBe(true);
    expect(streamed.entries).toBe(13);
    const listed = await listTar(got.tar);
    expect(listed.find((e) => e.name === 'zz/last')?.body).toBe('second version wins');
    expect(listed.find((e) => e.name === 'a-link-first')).toMatchObject({ type: 'file', mode: 0o4755 });
    expect(listed.find((e) => e.name === 'usr/lib/big.bin')?.body).toBe(pattern(2_500_000, 1));
    expect(await spools()).toEqual([]);
  });

  it('reports progress up to the tar size, and the input bytes read', async () => {
    const input = await mixedTar();
    const seen: [number, number][] = [];
    let read = 0;
    const { layer } = await importTarLayer(from(input), {
      onProgress: (n, total) => seen.push([n, total]),
      onRead: (n) => {
        read = n;
      },
    });
    expect(read).toBe(input.byteLength);
    const last = seen.at(-1)!;
    expect(last[0]).toBe(await layer.uncompressedSize());
    expect(seen.every(([n, total], i) => n <= total && (i === 0 || n >= seen[i - 1]![0]))).toBe(true);
  });

  it('refuses a plain tar cut at an entry boundary when asked, and removes its spool', async () => {
    const whole = await mixedTar();
    const cut = whole.subarray(0, whole.byteLength - 1024); // the end marker removed
    await expect(
      importTarLayer(from(cut), { source: 'cut.tar', requireEndMarker: true }),
    ).rejects.toMatchObject({
      code: 'OCI_INVALID_TAR',
      message: expect.stringMatching(/cut\.tar ends without the end-of-archive marker/),
    });
    expect(await spools()).toEqual([]);
    // Without the option (and for gzip, where gunzip notices a cut stream) it is not this check's business.
    await expect(layerFromTarStream(from(cut))).resolves.toBeDefined();
  });

  it('removes its spool when the input is broken or unsafe', async () => {
    const whole = await mixedTar();
    await expect(importTarLayer(from(gzipSync(whole).subarray(0, 3000)))).rejects.toMatchObject({
      code: 'OCI_INVALID_TAR',
    });
    const unsafe = await makeTar([
      { header: { name: 'ok', type: 'file' }, body: pattern(2_000_000, 5) },
      { header: { name: '../escape', type: 'file' }, body: 'x' },
    ]);
    await expect(importTarLayer(from(unsafe), { source: 'u.tar' })).rejects.toMatchObject({
      code: 'OCI_UNSAFE_PATH',
    });
    expect(await spools()).toEqual([]);
  });

  /** Bytes in the import's content spool, looked at once the input is read (the first progress call). */
  const spooledBytes = async (): Promise<number> => {
    const [dir] = await spools();
    return dir === undefined ? -1 : statSync(join(tmp, dir, 'contents')).size;
  };

  it('reads a plain tar file in place: the same layer, nothing copied to the spool', async () => {
    const input = await mixedTar();
    const file = join(tmp, 'mixed.tar');
    await writeFile(file, input);
    const reference = layerFromEntries(await readTarEntries(from(input)), { compressionLevel: 6 });
    const run = async (opts: { file?: string }) => {
      let spooled: Promise<number> | undefined;
      const { layer, entries } = await importTarLayer(createReadStream(file), {
        compressionLevel: 6,
        ...opts,
        onProgress: () => {
          spooled ??= spooledBytes();
        },
      });
      return { layer, entries, spooled: await spooled };
    };
    const inPlace = await run({ file });
    const copied = await run({});
    expect(inPlace.spooled).toBe(0);
    expect(copied.spooled).toBeGreaterThan(4_000_000);
    const want = await layerBytes(reference);
    for (const got of [inPlace, copied]) {
      expect((await layerBytes(got.layer)).gz.equals(want.gz)).toBe(true);
      expect(got.entries).toBe(13);
    }
    expect(await spools()).toEqual([]);
  });

  it('reads GNU tar long names and hardlinks in place as the stream path does', async () => {
    const root = join(tmp, 'root');
    const deep = join(
      root,
      'usr',
      'share',
      'a-directory-name-of-sixty-characters-to-pass-the-ustar-limit',
      'more',
    );
    mkdirSync(deep, { recursive: true });
    const long = join(deep, `${'f'.repeat(120)}.txt`);
    writeFileSync(long, pattern(1_500_000, 6));
    writeFileSync(join(root, 'small'), 'small body');
    const file = join(tmp, 'gnu.tar');
    const made = spawnSync('tar', ['--format=gnu', '--sort=name', '-C', root, '-cf', file, '.']);
    expect(made.status, made.stderr?.toString()).toBe(0);
    spawnSync('ln', [long, join(root, 'hard')]);
    const withLink = join(tmp, 'gnu-link.tar');
    expect(spawnSync('tar', ['--format=gnu', '-C', root, '-cf', withLink, '.']).status).toBe(0);
    for (const f of [file, withLink]) {
      const bytes = await readFile(f);
      expect(bytes.includes(Buffer.from('././@LongLink'))).toBe(true);
      const inPlace = await importTarLayer(createReadStream(f), { file: f });
      const streamed = await importTarLayer(from(gzipSync(bytes)));
      expect((await inPlace.layer.digest()).equals(await streamed.layer.digest())).toBe(true);
      const listed = await listTar((await layerBytes(inPlace.layer)).tar);
      expect(listed.some((e) => e.name.endsWith(`${'f'.repeat(120)}.txt`))).toBe(true);
      expect(listed.filter((e) => e.body === pattern(1_500_000, 6))).toHaveLength(1);
      expect(listed.find((e) => e.name === 'small')?.body).toBe('small body');
    }
  });

  it('refuses a tar file that changes while it is imported, and removes its spool', async () => {
    const file = join(tmp, 'changing.tar');
    await writeFile(file, await mixedTar());
    let touched = false;
    await expect(
      importTarLayer(createReadStream(file), {
        file,
        source: 'changing.tar',
        onRead: () => {
          if (touched) return;
          touched = true;
          utimesSync(file, 1, 1);
        },
      }),
    ).rejects.toMatchObject({
      code: 'OCI_INVALID_TAR',
      message: expect.stringMatching(/changing\.tar changed while it was imported/),
    });
    expect(await spools()).toEqual([]);
  });
});
