import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type LayerEntry, layerFromEntries, MediaTypes, sha256 } from '../src/index.ts';
import { comparePaths, normalizeEntries, sortKey } from '../src/layer-entries.ts';
import { GOLDEN_ENTRIES, GOLDEN_OPTIONS } from './fixtures/golden-layer.ts';
import { collect, layerBytes, listTar } from './helpers.ts';

const fixtures = join(import.meta.dirname, 'fixtures');

describe('layerFromEntries', () => {
  it('reproduces the golden fixtures byte for byte', async () => {
    const layer = layerFromEntries(GOLDEN_ENTRIES, GOLDEN_OPTIONS);
    const { gz, tar } = await layerBytes(layer);
    const goldenGz = readFileSync(join(fixtures, 'small-layer.tar.gz'));
    const goldenTar = readFileSync(join(fixtures, 'small-layer.tar'));
    expect(tar.equals(goldenTar)).toBe(true);
    expect(gz.equals(goldenGz)).toBe(true);
    expect((await layer.digest()).toString()).toBe(
      'sha256:4b66977c28bec7bd0d4dab415c2ab2c59416a6188ac4293921e4b7163047df45',
    );
    expect((await layer.diffId()).toString()).toBe(
      'sha256:b81a5fbb5d721984806ea33df8faf2e7097d38a2e265c6e1246ed327b9492077',
    );
    expect(await layer.size()).toBe(goldenGz.byteLength);
    expect(await layer.uncompressedSize()).toBe(goldenTar.byteLength);
    expect(layer.mediaType()).toBe(MediaTypes.ociLayerGzip);
  });

  it('reports digests that match the bytes, and streams them afresh on every call', async () => {
    const layer = layerFromEntries([{ type: 'file', path: 'a', content: 'x' }]);
    const a = await collect(layer.compressed());
    const b = await collect(layer.compressed());
    expect(a.equals(b)).toBe(true);
    expect(sha256(a).equals(await layer.digest())).toBe(true);
    expect(sha256((await layerBytes(layer)).tar).equals(await layer.diffId())).toBe(true);
  });

  it('follows the determinism rules: sorted, parents first, ids 0, empty names, fixed mtime, two zero blocks', async () => {
    const layer = layerFromEntries(
      [
        { type: 'file', path: 'z/y/x', content: 'deep', mode: 0o600 },
        { type: 'file', path: './a-b', content: '1' },
        { type: 'file', path: '/a/b', content: '2', uid: 1000, gid: 1000 },
      ],
      { sourceDateEpoch: 1700000000 },
    );
    const { tar } = await layerBytes(layer);
    const entries = await listTar(tar);
    expect(entries.map((e) => `${e.type} ${e.name} ${e.mode.toString(8)} ${e.uid}:${e.gid}`)).toEqual([
      'directory a 755 0:0',
      'file a/b 644 1000:1000',
      'file a-b 644 0:0',
      'directory z 755 0:0',
      'directory z/y 755 0:0',
      'file z/y/x 600 0:0',
    ]);
    expect(entries.every((e) => e.mtime === 1700000000 && e.pax === null)).toBe(true);
    expect(tar.subarray(tar.byteLength - 1024).equals(Buffer.alloc(1024))).toBe(true);
    expect(tar.subarray(265, 265 + 64).equals(Buffer.alloc(64))).toBe(true); // uname + gname empty
  });

  it('is deterministic: same inputs → same bytes, whatever the input order', async () => {
    const entries: LayerEntry[] = [
      { type: 'file', path: 'b', content: 'b' },
      { type: 'dir', path: 'd' },
      { type: 'file', path: 'd/a', content: 'a', mode: 0o755 },
    ];
    const one = await layerFromEntries(entries).digest();
    const two = await layerFromEntries([...entries].reverse()).digest();
    expect(one.equals(two)).toBe(true);
  });

  it('changes bytes when SOURCE_DATE_EPOCH or the level changes', async () => {
    const entries: LayerEntry[] = [{ type: 'file', path: 'a', content: 'a'.repeat(1000) }];
    const d0 = await layerFromEntries(entries).diffId();
    const d1 = await layerFromEntries(entries, { sourceDateEpoch: 1 }).diffId();
    expect(d0.equals(d1)).toBe(false);
    const g9 = await layerFromEntries(entries).digest();
    const g1 = await layerFromEntries(entries, { compressionLevel: 1 }).digest();
    expect(g9.equals(g1)).toBe(false);
    expect((await layerFromEntries(entries, { compressionLevel: 1 }).diffId()).equals(d0)).toBe(true);
  });

  it('writes a fixed gzip header: mtime 0, no name, XFL of the level, OS byte 3', async () => {
    const entries = [{ type: 'file' as const, path: 'a', content: 'a' }];
    const { gz } = await layerBytes(layerFromEntries(entries));
    expect([...gz.subarray(0, 10)]).toEqual([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]);
    const { gz: gz9 } = await layerBytes(layerFromEntries(entries, { compressionLevel: 9 }));
    expect([...gz9.subarray(0, 10)]).toEqual([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 2, 3]);
  });

  it('uses PAX only for long names and for xattrs', async () => {
    const long = `${'d'.repeat(120)}/${'f'.repeat(120)}`;
    const { tar } = await layerBytes(
      layerFromEntries([
        { type: 'file', path: long, content: 'x' },
        { type: 'file', path: 'cap', content: 'y', xattrs: { 'user.note': 'hi' } },
      ]),
    );
    const entries = await listTar(tar);
    expect(entries.find((e) => e.name === long)).toBeDefined();
    expect(entries.find((e) => e.name === 'cap')?.pax).toMatchObject({ 'SCHILY.xattr.user.note': 'hi' });
    expect(entries.filter((e) => e.pax).map((e) => e.name)).toEqual(['cap', 'd'.repeat(120), long]);
    expect(tar.toString('latin1')).not.toMatch(/atime|ctime/);
  });

  it('spools large layers to a temp file with identical bytes', async () => {
    const entries: LayerEntry[] = [{ type: 'file', path: 'big', content: Buffer.alloc(300_000, 7) }];
    const mem = layerFromEntries(entries);
    const file = layerFromEntries(entries, { spoolThreshold: 10 });
    expect((await file.digest()).equals(await mem.digest())).toBe(true);
    expect(sha256(await collect(file.compressed())).equals(await mem.digest())).toBe(true);
  });

  it('emits whiteouts only on request', async () => {
    const { tar } = await layerBytes(
      layerFromEntries([
        { type: 'whiteout', path: 'etc/old' },
        { type: 'opaque', path: 'var' },
      ]),
    );
    expect((await listTar(tar)).map((e) => e.name)).toEqual([
      'etc',
      'etc/.wh.old',
      'var',
      'var/.wh..wh..opq',
    ]);
    expect(() => layerFromEntries([{ type: 'file', path: 'x/.wh.y', content: '' }])).toThrow(/are whiteouts/);
  });

  it('keeps hardlinks after their target, swapping roles when the link sorts first', async () => {
    const { tar } = await layerBytes(
      layerFromEntries([
        { type: 'file', path: 'z', content: 'same' },
        { type: 'hardlink', path: 'a', target: 'z' },
      ]),
    );
    const entries = await listTar(tar);
    expect(entries.map((e) => [e.name, e.type, e.linkname, e.body])).toEqual([
      ['a', 'file', null, 'same'],
      ['z', 'link', 'a', ''],
    ]);
  });

  it.each([
    [[{ type: 'file', path: '../x', content: '' }], 'OCI_UNSAFE_PATH', /`\.\.` is not allowed/],
    [[{ type: 'file', path: 'a/../../x', content: '' }], 'OCI_UNSAFE_PATH', /`\.\.`/],
    [
      [
        { type: 'file', path: 'a', content: '' },
        { type: 'file', path: 'a', content: '' },
      ],
      'OCI_INVALID_ENTRY',
      /appears twice/,
    ],
    [
      [
        { type: 'file', path: 'a', content: '' },
        { type: 'file', path: 'a/b', content: '' },
      ],
      'OCI_INVALID_ENTRY',
      /parent a is a file/,
    ],
    [
      [{ type: 'hardlink', path: 'a', target: 'missing' }],
      'OCI_HARDLINK_TARGET_MISSING',
      /hardlink "a" points at "missing"/,
    ],
    [[{ type: 'file', path: 'a', content: '', mode: 0o10000 }], 'OCI_INVALID_ENTRY', /mode/],
    [[{ type: 'symlink', path: 'a', target: '' }], 'OCI_INVALID_ENTRY', /empty target/],
  ] as [LayerEntry[], string, RegExp][])('refuses bad entries (%#)', (entries, code, msg) => {
    expect(() => layerFromEntries(entries)).toThrow(
      expect.objectContaining({ code, message: expect.stringMatching(msg) }),
    );
  });

  it('reads file sources lazily and fails with the entry name when one is missing', async () => {
    const layer = layerFromEntries([{ type: 'file', path: 'x', source: '/nonexistent/file' }]);
    await expect(layer.digest()).rejects.toMatchObject({
      code: 'OCI_INVALID_ENTRY',
      message: expect.stringContaining('"x"'),
    });
  });
});

const PARTS = ['a', 'a-b', 'a.b', 'ab', 'b', 'é', 'z', '日本', '😀', 'A', 'a~', '\u00ff', '\ue000'];

describe('normalizeEntries', () => {
  it('lists the records in comparePaths order, whatever order the entries come in (a walk lists them in it)', () => {
    // With and without names whose UTF-16 units order unlike their UTF-8 bytes (from U+D800 on: surrogates, U+E000).
    for (const parts of [PARTS, PARTS.filter((p) => p.charCodeAt(0) < 0xd800)]) {
      const names = new Set<string>();
      for (const x of parts) {
        names.add(x);
        for (const y of parts) names.add(`${x}/${y}`);
      }
      const sorted = [...names].sort(comparePaths);
      const dirs = (order: string[]): LayerEntry[] => order.map((path) => ({ type: 'dir', path }));
      // JavaScript's own order puts `a-b` before `a/b`: close to the walk's, but not it.
      const units = (p: string) => p.replaceAll('/', '\0');
      const orders = [
        sorted,
        [...sorted].reverse(),
        [...sorted].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)),
        // By UTF-16 units with `/` first: the walk's order but for names from U+D800 on.
        [...sorted].sort((a, b) => (units(a) < units(b) ? -1 : units(a) > units(b) ? 1 : 0)),
      ];
      // Each neighbouring pair swapped in turn: one record out of place anywhere must be seen.
      for (let k = 1; k < sorted.length; k++) {
        const o = [...sorted];
        [o[k - 1], o[k]] = [o[k]!, o[k - 1]!];
        orders.push(o);
      }
      for (const order of orders) expect(normalizeEntries(dirs(order)).map((r) => r.name)).toEqual(sorted);
    }
  });
});

describe('normalizeEntries parents', () => {
  it('makes each missing parent once, at every depth, whichever entry comes first', () => {
    const entries: LayerEntry[] = [
      { type: 'file', path: 'a/b/c/d', content: '' },
      { type: 'dir', path: 'a/b' },
      { type: 'file', path: 'a/b/x/y', content: '' },
      { type: 'file', path: 'a/z', content: '' },
      { type: 'dir', path: 'q/r/s' },
    ];
    for (const order of [entries, [...entries].reverse()]) {
      const names = normalizeEntries(order).map((r) => `${r.type} ${r.name}`);
      expect(names).toEqual([
        'directory a',
        'directory a/b',
        'directory a/b/c',
        'file a/b/c/d',
        'directory a/b/x',
        'file a/b/x/y',
        'file a/z',
        'directory q',
        'directory q/r',
        'directory q/r/s',
      ]);
    }
  });

  it('refuses a file above a directory however deep, the directory listed or only implied', () => {
    const cases: LayerEntry[][] = [
      [
        { type: 'file', path: 'a', content: '' },
        { type: 'dir', path: 'a/b/c' },
      ],
      [
        { type: 'dir', path: 'a/b/c' },
        { type: 'dir', path: 'a/b' },
        { type: 'file', path: 'a', content: '' },
      ],
      [
        { type: 'file', path: 'a/b/c/d', content: '' },
        { type: 'dir', path: 'a/b/c' },
        { type: 'file', path: 'a', content: '' },
      ],
    ];
    for (const entries of cases) expect(() => normalizeEntries(entries)).toThrow(/its parent a is a file/);
  });
});

describe('sortKey', () => {
  it('orders paths exactly as comparePaths does (component-wise, UTF-8 bytewise)', () => {
    const parts = PARTS;
    const paths: string[] = [];
    for (const x of parts) {
      paths.push(x);
      for (const y of parts) {
        paths.push(`${x}/${y}`);
        paths.push(`${x}${y}`);
      }
    }
    const sign = (n: number) => Math.sign(n);
    for (const a of paths) {
      for (const b of paths) {
        const byKey = sortKey(a) < sortKey(b) ? -1 : sortKey(a) > sortKey(b) ? 1 : 0;
        if (sign(comparePaths(a, b)) !== byKey) throw new Error(`${a} vs ${b}`);
      }
    }
  });
});
