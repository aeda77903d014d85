import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type LayerEntry, layerFiles, layerFromEntries, readLayerFiles, sha256 } from '../src/index.ts';
import { TAR_CHUNK } from '../src/tar-body.ts';

describe('layerFiles', () => {
  it('lists the regular files a layer adds with their sha256 and sha1; directories, links and whiteouts are not files', async () => {
    const layer = layerFromEntries([
      { type: 'dir', path: 'etc', mode: 0o755 },
      { type: 'file', path: 'etc/note', content: 'a note\n', mode: 0o644 },
      { type: 'file', path: 'hello', content: 'binary', mode: 0o755 },
      { type: 'symlink', path: 'link', target: 'hello' },
      { type: 'whiteout', path: 'gone' },
    ]);
    const files = await layerFiles(layer);
    expect(files).toEqual([
      {
        path: 'etc/note',
        size: 7,
        sha256: sha256('a note\n').hex,
        sha1: createHash('sha1').update('a note\n').digest('hex'),
      },
      {
        path: 'hello',
        size: 6,
        sha256: sha256('binary').hex,
        sha1: createHash('sha1').update('binary').digest('hex'),
      },
    ]);
  });
});

describe('layerFiles of a layer packed with fileDigests', () => {
  it('hashes each file as it is packed: the same list as reading the layer back, the digests of the files', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'layer-files-'));
    try {
      // A small file (read whole), one larger than a chunk of the tar (read in pieces), an empty one.
      const small = Buffer.from('small file\n');
      const big = Buffer.alloc(TAR_CHUNK * 2 + 123, 'xyz');
      await writeFile(join(dir, 'small'), small);
      await writeFile(join(dir, 'big'), big);
      await writeFile(join(dir, 'empty'), '');
      const entries: LayerEntry[] = [
        { type: 'file', path: 'app/small', source: join(dir, 'small') },
        { type: 'file', path: 'app/big', source: join(dir, 'big') },
        { type: 'file', path: 'app/empty', source: join(dir, 'empty') },
        { type: 'file', path: 'etc/held', content: 'held in memory' },
        { type: 'hardlink', path: 'app/again', target: 'app/small' },
        { type: 'symlink', path: 'app/link', target: 'small' },
        { type: 'whiteout', path: 'gone' },
        { type: 'opaque', path: 'etc' },
      ];
      const packed = layerFromEntries(entries, { fileDigests: true });
      expect(packed.files).toBeTypeOf('function');
      const files = await layerFiles(packed);
      const want = (path: string, b: Buffer | string) => ({
        path,
        size: Buffer.byteLength(b),
        sha256: sha256(b).hex,
        sha1: createHash('sha1').update(b).digest('hex'),
      });
      // The hardlink is the first name of the pair in tar order and carries the body; tar order throughout.
      expect(files).toEqual([
        want('app/again', small),
        want('app/big', big),
        want('app/empty', ''),
        want('etc/held', 'held in memory'),
      ]);
      expect(await readLayerFiles(packed)).toEqual(files);
      // The same layer bytes as without hashing.
      expect((await packed.digest()).toString()).toBe((await layerFromEntries(entries).digest()).toString());
      expect(layerFromEntries(entries).files).toBeUndefined();
      // onFile: each added file's path and first bytes, as it is packed (the whole body, or its first chunk).
      const told: [string, string][] = [];
      const watched = layerFromEntries(entries, {
        onFile: (path, head) => told.push([path, head.subarray(0, 5).toString()]),
      });
      expect(told).toEqual([]); // nothing is read before the layer is packed
      expect((await watched.digest()).toString()).toBe((await packed.digest()).toString());
      expect(told).toEqual([
        ['app/again', 'small'],
        ['app/big', 'xyzxy'],
        ['app/empty', ''],
        ['etc/held', 'held '],
      ]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
