import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import tar from 'tar-stream';
import { describe, expect, it } from 'vitest';
import type { TarRecord } from '../src/layer-entries.ts';
import { Bodies, TAR_CHUNK, tarChunks } from '../src/tar-body.ts';
import { type TarHeaderFields, writeTarHeader } from '../src/tar-header.ts';
import { tarHeaderOf } from '../src/tar-layer.ts';

// The layer's time: after every record's own time (2100), so the real mapping below keeps those as they are.
const EPOCH = new Date(4_102_444_800 * 1000);
/** A record's header fields exactly as the layer writer makes them. */
const fields = (r: TarRecord, size: number): TarHeaderFields => tarHeaderOf(r, EPOCH, size);

/** The same records written by tar-stream's pack (the reference every existing layer digest was made with). */
async function viaTarStream(records: TarRecord[], bodies: Buffer[]): Promise<Buffer> {
  const pack = tar.pack();
  const out: Buffer[] = [];
  const done = (async () => {
    for await (const c of pack as AsyncIterable<Buffer>) out.push(c);
  })();
  let i = 0;
  for (const r of records) {
    const f = fields(r, 0);
    const { pax, ...rest } = f;
    const h: tar.Header = {
      ...rest,
      mtime: new Date(f.mtime * 1000),
      uname: '',
      gname: '',
      ...(pax ? { pax } : {}),
    };
    if (r.type === 'file') {
      const body = bodies[i++]!;
      await new Promise<void>((res, rej) => pack.entry(h, body, (e) => (e ? rej(e) : res())));
    } else await new Promise<void>((res, rej) => pack.entry(h, (e) => (e ? rej(e) : res())));
  }
  pack.finalize();
  await done;
  return Buffer.concat(out);
}

function ours(records: TarRecord[]): Buffer {
  const out: Buffer[] = [];
  for (const c of tarChunks(records, new Bodies(), fields)) out.push(Buffer.from(c));
  return Buffer.concat(out);
}

const base = { mode: 0o644, uid: 0, gid: 0 };
const long = (n: number, seg = 'segment') => Array.from({ length: n }, (_, i) => `${seg}${i}`).join('/');

describe('the layer tar writer', () => {
  it('writes the bytes tar-stream writes: ustar, split long names, PAX names, links, devices, defaults', async () => {
    const sizes = [0, 1, 511, 512, 513, 4096, TAR_CHUNK - 700, TAR_CHUNK + 1, 2 * TAR_CHUNK + 777];
    const bodies = sizes.map((n, i) => Buffer.alloc(n, `body ${i} `));
    const records: TarRecord[] = [
      { ...base, name: 'dir', type: 'directory', mode: 0o755 },
      { ...base, name: 'zero-mode-dir', type: 'directory', mode: 0 },
      ...sizes.map((_, i) => ({ ...base, name: `dir/file${i}`, type: 'file' as const, content: bodies[i]! })),
      { ...base, name: 'zero-mode-file', type: 'file', mode: 0, content: Buffer.alloc(3, 1) },
      { ...base, name: `${long(12)}/split-name`, type: 'file', content: Buffer.from('long but splittable') },
      { ...base, name: `${'x'.repeat(120)}`, type: 'file', content: Buffer.from('one long component') },
      { ...base, name: long(30), type: 'directory', mode: 0o700 },
      { ...base, name: 'café/naïve', type: 'file', content: Buffer.from('not ascii') },
      { ...base, name: 'link', type: 'symlink', linkname: 'dir/file1', uid: 1000, gid: 1000 },
      { ...base, name: 'long-link', type: 'symlink', linkname: 'y'.repeat(150) },
      { ...base, name: 'hard', type: 'link', linkname: 'dir/file2' },
      { ...base, name: 'dev/null', type: 'character-device', mode: 0o666, devmajor: 1, devminor: 3 },
      { ...base, name: 'dev/sda', type: 'block-device', mode: 0o660, devmajor: 8, devminor: 0 },
      { ...base, name: 'fifo', type: 'fifo', uid: 0o7777777, gid: 65534 },
      { ...base, name: 'old', type: 'file', mtime: 12345, content: Buffer.from('old') },
      { ...base, name: 'after-2038', type: 'file', mtime: 2 ** 31 + 5, content: Buffer.from('new') },
      {
        ...base,
        name: 'with-xattrs',
        type: 'file',
        xattrs: { 'user.a': 'b', 'security.capability': 'c' },
        content: Buffer.from('x'),
      },
      { ...base, name: 'empty-xattrs', type: 'directory', xattrs: {} },
      { ...base, name: `${long(40)}-x`, type: 'symlink', linkname: 'ü'.repeat(60) },
    ];
    const theirs = await viaTarStream(
      records,
      records.flatMap((r) => (r.type === 'file' ? [r.content as Buffer] : [])),
    );
    expect(ours(records).equals(theirs)).toBe(true);
  });

  it('writes each ustar header as tar-stream encodes it, with ids, times, sizes and links changing from entry to entry', () => {
    // tar-stream's own header encoder (not in its package exports: loaded by path).
    const require = createRequire(import.meta.url);
    const headers = require(join(dirname(require.resolve('tar-stream')), 'headers.js')) as {
      encode(h: Record<string, unknown>): Buffer | null;
    };
    const types = ['file', 'symlink', 'link', 'character-device', 'block-device', 'fifo'] as const;
    const ids = [0, 1000, 65534, 0o7777777 + 1];
    // As tarHeaderOf gives them: whole seconds through `| 0`, so a time past 2038 is negative (tar-stream's way).
    const times = [0, 12345, 4_102_444_800 | 0, (2 ** 31 + 5) | 0];
    const sizes = [0, 1, 511, 8 ** 11 - 1, 8 ** 11, 8 ** 11 + 12345, 2 ** 40 + 3];
    const out = Buffer.alloc(512 * 4);
    let compared = 0;
    for (let i = 0; i < 400; i++) {
      const type = types[i % types.length]!;
      const f: TarHeaderFields = {
        name: i % 7 === 0 ? `${long(10 + (i % 5))}/n${i}` : `dir${i % 3}/entry-${i}`,
        type,
        mode: [0o644, 0o755, 0o4755, 0o777][i % 4]!,
        uid: ids[i % 4]!,
        gid: ids[(i >> 2) % 4]!,
        size: type === 'file' ? sizes[i % sizes.length]! : 0,
        mtime: times[(i >> 1) % 4]!,
        linkname: type === 'symlink' || type === 'link' ? (i % 3 === 0 ? 'ü-target' : `t/${i}`) : '',
        devmajor: type.endsWith('device') ? i % 300 : 0,
        devminor: type.endsWith('device') ? (i * 7) % 300 : 0,
      };
      const at = 512 * (i % 4);
      expect(writeTarHeader(out, at, f)).toBe(512);
      const theirs = headers.encode({ ...f, mtime: new Date(f.mtime * 1000) });
      expect(theirs).not.toBeNull();
      expect(out.subarray(at, at + 512).equals(theirs!), `entry ${i}: ${JSON.stringify(f)}`).toBe(true);
      compared++;
    }
    expect(compared).toBe(400);
  });

  it('reads whole files by their listed size, and fails naming a file that grew or shrank after it was listed', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tar-header-'));
    try {
      const path = join(dir, 'f');
      await writeFile(path, 'twelve bytes');
      const record = (listedSize: number): TarRecord => ({
        ...base,
        name: 'f',
        type: 'file',
        source: path,
        listedSize,
      });
      const theirs = await viaTarStream([record(12)], [Buffer.from('twelve bytes')]);
      expect(ours([record(12)]).equals(theirs)).toBe(true);
      expect(() => ours([record(5)])).toThrow(/"f": cannot read .*: it grew after it was listed/);
      expect(() => ours([record(20)])).toThrow(/"f": cannot read .*: it became shorter while it was read/);
      // A file filling a chunk to its last byte: the check reads past it on its own.
      await writeFile(path, Buffer.alloc(TAR_CHUNK - 512 + 1, 1));
      expect(() => ours([record(TAR_CHUNK - 512)])).toThrow(/it grew after it was listed/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
